"""Benchmark: what TLS and basic auth cost a scrape, measured beside plain HTTP in the same
run (the machines are shared and noisy: read the ratios). The real tcpip_exporter replays the
generated trace three ways (plain HTTP; TLS; TLS with a bcrypt cost-10 user); one client,
/health (so the figures are the transport's and the check's, not a render's):
  - requests per second on one keep-alive connection: TLS / plain;
  - a full handshake (a new connection per request): its time / a keep-alive request's;
  - basic auth: a correct password (verified once, then cached) against a wrong one (a
    bcrypt every time, as an uncached check would cost)."""
import base64
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from harness import SKIP, free_port, wait_for

ETL = os.path.join("tests", "etl", "corpus", "mixed64.etl")
DURATION = 3.0


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return r.stdout


def pki(d):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-days", "2", "-subj", "/CN=bench", "-addext", "subjectAltName=IP:127.0.0.1",
       "-keyout", d + "/key.pem", "-out", d + "/cert.pem")


def start(exporter, root, *flags):
    port = free_port()
    proc = subprocess.Popen([exporter, "--etl", os.path.join(root, ETL), "--web.listen-address",
                             "127.0.0.1:%d" % port, "--web.max-connections-per-ip", "0"] + list(flags),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: socket.create_connection(("127.0.0.1", port), 1), 10)
    return proc, port


def connection(port, ctx):
    if ctx is None:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)


def rate(port, ctx, headers=None, keep_alive=True):
    """Requests per second for DURATION, and the statuses seen."""
    statuses = set()
    n = 0
    conn = connection(port, ctx)
    end = time.monotonic() + DURATION
    t0 = time.monotonic()
    while time.monotonic() < end:
        if not keep_alive:
            conn.close()
            conn = connection(port, ctx)
        conn.request("GET", "/health", headers=headers or {})
        r = conn.getresponse()
        r.read()
        statuses.add(r.status)
        n += 1
    conn.close()
    return n / (time.monotonic() - t0), statuses


def main():
    exporter = os.environ.get("TCPIP_EXPORTER", "")
    root = os.environ.get("SOURCE_ROOT", "")
    bcrypt = os.environ.get("BCRYPT_HASH", "")
    if not (os.path.exists(exporter) and os.path.exists(bcrypt)):
        print("TCPIP_EXPORTER or BCRYPT_HASH not set")
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as d:
        pki(d)
        ctx = ssl.create_default_context(cafile=d + "/cert.pem")
        with open(d + "/tls.yml", "w") as f:
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n")
        hashed = sh(bcrypt, "bench-password", "10").strip()
        with open(d + "/auth.yml", "w") as f:
            f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                    "basic_auth_users:\n  bench: '%s'\n" % hashed)
        good = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-password").decode()}
        wrong = {"Authorization": "Basic " + base64.b64encode(b"bench:wrong").decode()}
        procs = []
        try:
            plain, pport = start(exporter, root)
            procs.append(plain)
            tls, tport = start(exporter, root, "--web.config.file", d + "/tls.yml")
            procs.append(tls)
            auth, aport = start(exporter, root, "--web.config.file", d + "/auth.yml")
            procs.append(auth)
            plain_rate, _ = rate(pport, None)
            tls_rate, _ = rate(tport, ctx)
            handshake_rate, _ = rate(tport, ctx, keep_alive=False)
            cached_rate, s1 = rate(aport, ctx, good)
            bcrypt_rate, s2 = rate(aport, ctx, wrong)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=15)
    assert s1 == {200} and s2 == {401}, (s1, s2)
    print("keep-alive requests/s: plain %.0f, TLS %.0f (TLS/plain %.2f)"
          % (plain_rate, tls_rate, tls_rate / plain_rate))
    print("full TLS handshake per request: %.2f ms, %.1fx a keep-alive TLS request"
          % (1000 / handshake_rate, tls_rate / handshake_rate))
    print("basic auth: cached correct password %.0f requests/s, wrong password (a bcrypt each) "
          "%.1f requests/s: the cache is %.0fx" % (cached_rate, bcrypt_rate, cached_rate / bcrypt_rate))


if __name__ == "__main__":
    main()
