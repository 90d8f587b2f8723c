"""--web.config.file against the real tcpip_exporter, with a CA, server and client
certificates this test makes (openssl): curl with the CA succeeds and without it fails;
TLS 1.1 is refused by default; basic auth answers 401 with WWW-Authenticate: Basic to a
missing, wrong or unknown password and never shows a password or hash; /health follows the
same rules unless --web.health-without-auth; the configured header is sent; each
client_auth_type accepts and refuses the certificates it should, at the handshake; a
rotated certificate is served without a restart, and a broken file keeps the running one;
a bad file stops the start with exit 2 and one line naming the key; 16 clients guessing
passwords (bcrypt cost 12) do not slow a scrape whose credentials are cached; and a real
Prometheus scrapes it over TLS with basic auth."""
import http.client
import json
import os
import threading
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import SKIP, check, finish, free_port, wait_for

ETL = os.path.join("tests", "etl", "corpus", "mixed64.etl")


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)


def make_pki(d):
    """ca, other CA, server (CN one), server2 (CN two), client, foreign client."""
    def key_and_csr(name, cn):
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-subj", "/CN=" + cn, "-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".csr")

    def sign(name, ca, ext):
        with open(d + "/" + name + ".ext", "w") as f:
            f.write(ext)
        r = sh("openssl", "x509", "-req", "-in", d + "/" + name + ".csr", "-CA", d + "/" + ca + ".pem",
               "-CAkey", d + "/" + ca + ".key", "-CAcreateserial", "-days", "2",
               "-extfile", d + "/" + name + ".ext", "-out", d + "/" + name + ".pem")
        assert r.returncode == 0, r.stderr

    for ca in ("ca", "otherca"):
        r = sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-days", "2", "-subj", "/CN=" + ca, "-keyout", d + "/" + ca + ".key",
               "-out", d + "/" + ca + ".pem")
        assert r.returncode == 0, r.stderr
    server_ext = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    for name, cn in (("server", "one"), ("server2", "two")):
        key_and_csr(name, cn)
        sign(name, "ca", server_ext)
    key_and_csr("client", "prometheus")
    sign("client", "ca", "extendedKeyUsage=clientAuth\nsubjectAltName=DNS:prometheus.example\n")
    key_and_csr("foreign", "intruder")
    sign("foreign", "otherca", "extendedKeyUsage=clientAuth\n")


class Exporter:
    def __init__(self, exporter, root, web_config, *flags):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [exporter, "--etl", os.path.join(root, ETL), "--web.config.file", web_config,
             "--web.listen-address", "127.0.0.1:%d" % self.port] + list(flags),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = "https://127.0.0.1:%d" % self.port
        up = wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 1), 10)
        if not up:
            raise RuntimeError("no listener: %s" % self.stop())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.communicate(timeout=15)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[1]


def curl(url, *args):
    """(curl exit code, HTTP status, headers and body text)."""
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10"] + list(args) + [url],
                       capture_output=True, text=True, timeout=30)
    status = 0
    if r.stdout.startswith("HTTP/"):
        status = int(r.stdout.split()[1])
    return r.returncode, status, r.stdout


def metric_values(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("tcpip_exporter_") and "{" not in line:
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def served_subject(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), 5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return dict(x[0] for x in s.getpeercert()["subject"])["commonName"]


def tls11_refused(port, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with socket.create_connection(("127.0.0.1", port), 5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                return False
    except (ssl.SSLError, OSError):
        return True


def check_auth_and_tls(exporter, root, d, hashed):
    write(d + "/web.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
          "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=63072000\n"
          "    Content-Security-Policy: default-src 'self'\n"
          "basic_auth_users:\n  alice: '%s'\n" % hashed)
    x = Exporter(exporter, root, d + "/web.yml")
    ca = d + "/ca.pem"
    try:
        rc, status, out = curl(x.url + "/metrics", "--cacert", ca, "-u", "alice:s3cret pass")
        check(rc == 0 and status == 200 and "tcpip_tcp_sent_bytes_total" in out,
              "curl with the CA and the password: 200 and the metrics")
        check("strict-transport-security: max-age=63072000" in out.lower(), "the configured header is sent")
        rc, status, out = curl(x.url + "/", "--cacert", ca, "-u", "alice:s3cret pass")
        head = out.split("\n\n", 1)[0].lower().splitlines()  # text mode: "\r\n" reads "\n"
        csp = [line for line in head if line.startswith("content-security-policy:")]
        check(status == 200 and csp == ["content-security-policy: default-src 'self'"],
              "the page's own Content-Security-Policy gives way to the configured one, sent "
              "once: %s" % csp)
        rc, status, out = curl(x.url + "/metrics", "-u", "alice:s3cret pass")
        check(rc == 60, "curl without the CA fails to verify the server (exit %d)" % rc)
        check(tls11_refused(x.port, ca), "TLS 1.1 is refused by default")
        rc, status, _ = curl(x.url + "/health", "--cacert", ca, "--tlsv1.2", "--tls-max", "1.2",
                             "-u", "alice:s3cret pass")
        check(status == 200, "TLS 1.2 is accepted")
        for what, args in (("no", []), ("a wrong", ["-u", "alice:wrong"]),
                           ("an unknown user's", ["-u", "mallory:s3cret pass"])):
            rc, status, out = curl(x.url + "/metrics", "--cacert", ca, *args)
            check(status == 401 and "www-authenticate: basic" in out.lower(),
                  "%s password: 401 with WWW-Authenticate: Basic" % what)
        rc, status, _ = curl(x.url + "/health", "--cacert", ca)
        check(status == 401, "/health needs credentials by default")
        rc, status, out = curl(x.url + "/api/v1/status", "--cacert", ca, "-u", "alice:s3cret pass")
        check(status == 200 and hashed not in out and "s3cret" not in out
              and hashed[7:20] not in out, "/api/v1/status shows no password or hash")
        t0 = time.monotonic()
        for _ in range(20):
            curl(x.url + "/health", "--cacert", ca, "-u", "alice:s3cret pass")
        per_scrape = (time.monotonic() - t0) / 20
        time.sleep(1.2)  # past the shared render's second, so the counts are this moment's
        rc, status, out = curl(x.url + "/metrics", "--cacert", ca, "-u", "alice:s3cret pass")
        check('tcpip_exporter_http_rejections_total{reason="unauthorized"} 4' in out,
              "the four 401s are counted by reason")
        figures = metric_values(out)
        check(figures.get("tcpip_exporter_basic_auth_cache_hits_total", 0) >= 20
              and 3 <= figures.get("tcpip_exporter_basic_auth_bcrypt_runs_total", 0) <= 4
              and figures.get("tcpip_exporter_web_config_last_reload_successful") == 1,
              "self-metrics: one bcrypt for the right password and one per refusal, the rest "
              "from the cache: %s" % {k: v for k, v in figures.items() if "auth" in k or "web_config" in k})
        print("# 20 authenticated requests: %.1f ms each (one bcrypt, then the cache)"
              % (per_scrape * 1000))
    finally:
        log = x.stop()
    check("s3cret" not in log and hashed not in log, "the log holds no password or hash")
    x = Exporter(exporter, root, d + "/web.yml", "--web.health-without-auth")
    try:
        rc, status, _ = curl(x.url + "/health", "--cacert", ca)
        check(status == 200, "--web.health-without-auth: /health answers without credentials")
        rc, status, _ = curl(x.url + "/metrics", "--cacert", ca)
        check(status == 401, "--web.health-without-auth: /metrics still needs them")
    finally:
        x.stop()


def timed_get(port, path, auth, source="127.0.0.1"):
    """(status, seconds) of one plain GET with basic auth."""
    import base64
    start = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        c.request("GET", path, headers={"Authorization": "Basic " +
                                        base64.b64encode(auth.encode()).decode()})
        r = c.getresponse()
        r.read()
        return r.status, time.monotonic() - start
    finally:
        c.close()


def check_guessing_flood(exporter, root, d, bcrypt):
    """Each wrong password costs a full bcrypt (0.2 s at cost 12), one at a time: run on the
    connection threads, 16 guessers would keep all of them waiting, and a scrape behind
    them. Off those threads, a scrape with cached credentials is answered at once."""
    slow = sh(bcrypt, "right pass", "12").stdout.strip()
    write(d + "/auth.yml", "basic_auth_users:\n  alice: '%s'\n" % slow)
    x = Exporter(exporter, root, d + "/auth.yml")
    stop, answers, lock = threading.Event(), {}, threading.Lock()

    def guesser(source):
        while not stop.is_set():
            try:
                status, _ = timed_get(x.port, "/metrics", "alice:guess", source)
            except OSError as e:
                status = type(e).__name__
            with lock:
                answers[status] = answers.get(status, 0) + 1

    try:
        status, first = timed_get(x.port, "/health", "alice:right pass")
        check(status == 200, "the right password: 200 (%.2f s: one bcrypt)" % first)
        threads = [threading.Thread(target=guesser, args=("127.0.0.%d" % (2 + i % 8),),
                                    daemon=True) for i in range(16)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        worst, statuses = 0.0, set()
        for _ in range(12):
            status, took = timed_get(x.port, "/health", "alice:right pass")
            statuses.add(status)
            worst = max(worst, took)
            time.sleep(0.25)
        stop.set()
        for t in threads:
            t.join(30)
        check(statuses == {200} and worst < 0.5,
              "16 guessing clients: every cached scrape answered 200 within 0.5 s (worst "
              "%.3f s)" % worst)
        odd = {k: v for k, v in answers.items() if k not in (401, 503)}
        check(answers.get(401, 0) > 0 and answers.get(503, 0) > 0 and not odd,
              "guesses get 401 after their bcrypt, or 503 at once when the queue is full: %s"
              % answers)
    finally:
        stop.set()
        x.stop()


def check_client_certs(exporter, root, d):
    ca = d + "/ca.pem"
    good = ["--cert", d + "/client.pem", "--key", d + "/client.key"]
    foreign = ["--cert", d + "/foreign.pem", "--key", d + "/foreign.key"]
    cases = {
        "RequireAndVerifyClientCert": {"none": False, "good": True, "foreign": False},
        "RequireAnyClientCert": {"none": False, "good": True, "foreign": True},
        "VerifyClientCertIfGiven": {"none": True, "good": True, "foreign": False},
        "RequestClientCert": {"none": True, "good": True, "foreign": True},
    }
    for auth, expected in cases.items():
        write(d + "/mtls.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
              "  client_auth_type: %s\n%s" % (auth, "  client_ca_file: ca.pem\n"
                                               if "Verify" in auth else ""))
        x = Exporter(exporter, root, d + "/mtls.yml")
        try:
            for name, args in (("none", []), ("good", good), ("foreign", foreign)):
                for version in (["--tls-max", "1.2"], []):
                    rc, status, _ = curl(x.url + "/health", "--cacert", ca, *(args + version))
                    ok = rc == 0 and status == 200
                    check(ok == expected[name], "%s, %s client certificate, TLS %s: %s" % (
                        auth, name, "1.2" if version else "1.3",
                        "served" if ok else "handshake refused (curl exit %d)" % rc))
        finally:
            x.stop()
    write(d + "/sans.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
          "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
          "  client_allowed_sans: [someone.else]\n")
    x = Exporter(exporter, root, d + "/sans.yml")
    try:
        rc, status, _ = curl(x.url + "/health", "--cacert", ca, *good)
        check(status != 200, "client_allowed_sans without the client's SAN: refused")
    finally:
        x.stop()
    # As exporter-toolkit: SANs apply under any policy that asks for a certificate (checked
    # on the certificate as given where the policy does not verify), a client without one
    # is none of them; a verifying policy without a CA verifies against the system's CAs,
    # which trust neither of this test's.
    for auth, sans, expected in (
            ("RequireAnyClientCert", "prometheus.example", {"none": False, "good": True, "foreign": False}),
            ("RequestClientCert", "intruder.example", {"none": False, "good": False, "foreign": False}),
            ("VerifyClientCertIfGiven", "prometheus.example", {"none": False, "good": True, "foreign": False}),
            ("VerifyClientCertIfGiven", None, {"none": True, "good": False, "foreign": False})):
        write(d + "/compat.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
              "  client_auth_type: %s\n%s%s" % (
                  auth, "  client_ca_file: ca.pem\n" if sans and "Verify" in auth else "",
                  "  client_allowed_sans: [%s]\n" % sans if sans else ""))
        x = Exporter(exporter, root, d + "/compat.yml")
        try:
            for name, args in (("none", []), ("good", good), ("foreign", foreign)):
                rc, status, _ = curl(x.url + "/health", "--cacert", ca, *args)
                ok = rc == 0 and status == 200
                check(ok == expected[name], "%s%s%s, %s client certificate: %s" % (
                    auth, " with SANs [%s]" % sans if sans else "",
                    "" if sans or "Verify" not in auth else " without a CA", name,
                    "served" if ok else "refused (curl exit %d, status %s)" % (rc, status)))
        finally:
            x.stop()


def check_rotation(exporter, root, d):
    live = d + "/rotate"
    os.makedirs(live, exist_ok=True)
    for ext in ("pem", "key"):
        shutil.copy(d + "/server." + ext, live + "/tls." + ext)
    write(live + "/web.yml", "tls_server_config:\n  cert_file: tls.pem\n  key_file: tls.key\n")
    x = Exporter(exporter, root, live + "/web.yml")
    ca = d + "/ca.pem"
    try:
        check(served_subject(x.port, ca) == "one", "the first certificate is served")
        # the key first, then the certificate: between the two the pair does not match,
        # which must keep the running pair, not break the server
        shutil.copy(d + "/server2.key", live + "/tls.key.new")
        os.replace(live + "/tls.key.new", live + "/tls.key")
        time.sleep(1.5)
        check(served_subject(x.port, ca) == "one", "a key without its certificate keeps the old pair")
        shutil.copy(d + "/server2.pem", live + "/tls.pem.new")
        os.replace(live + "/tls.pem.new", live + "/tls.pem")
        rotated = wait_for(lambda: served_subject(x.port, ca) == "two", 10)
        check(rotated, "the rotated certificate is served without a restart")
        write(live + "/web.yml", "tls_server_config:\n  cert_file: tls.pem\n  key_fle: tls.key\n")
        time.sleep(2)
        check(served_subject(x.port, ca) == "two", "a broken file keeps the running settings")
        time.sleep(1.2)
        _, _, out = curl(x.url + "/metrics", "--cacert", ca)
        figures = metric_values(out)
        check(figures.get("tcpip_exporter_web_config_reloads_total") == 1
              and figures.get("tcpip_exporter_web_config_reload_failures_total") == 2
              and figures.get("tcpip_exporter_web_config_last_reload_successful") == 0,
              "self-metrics: one reload, two refusals, the files on disk not in force: %s"
              % {k: v for k, v in figures.items() if "web_config" in k})
    finally:
        log = x.stop()
    check("reloaded" in log and "key_fle: unknown key; keeping the previous settings" in log
          and log.count("key_fle") == 1,
          "reloads and the refusal are logged, the refusal once: %s" % log[-600:])


def check_bad_file(exporter, root, d):
    write(d + "/bad.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
          "  min_version: TLS9\n")
    r = subprocess.run([exporter, "--etl", os.path.join(root, ETL), "--web.config.file",
                        d + "/bad.yml", "--web.listen-address", "127.0.0.1:%d" % free_port()],
                       capture_output=True, text=True, timeout=20)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "bad.yml: line 4: tls_server_config."
          "min_version: unknown TLS version \"TLS9\"" in lines[0],
          "a bad file: exit 2 and one line naming the file, line and key: %r" % r.stderr)
    write(d + "/mismatch.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n")
    r = subprocess.run([exporter, "--web.config.file", d + "/mismatch.yml", "--etl",
                        os.path.join(root, ETL), "--summary"], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 2 and "key_file: the key is not the certificate's" in r.stderr,
          "a key of another certificate is refused: %r" % r.stderr.strip())


def check_prometheus(exporter, root, d, hashed):
    if shutil.which("prometheus") is None:
        print("SKIP Prometheus: not installed")
        return
    write(d + "/web.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
          "basic_auth_users:\n  prometheus: '%s'\n" % hashed)
    x = Exporter(exporter, root, d + "/web.yml")
    write(d + "/password", "s3cret pass")
    pport = free_port()
    write(d + "/prometheus.yml", """global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tls
    scheme: https
    tls_config:
      ca_file: %s/ca.pem
    basic_auth:
      username: prometheus
      password_file: %s/password
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (d, d, x.port))
    log = open(d + "/prometheus.log", "w")
    prom = subprocess.Popen([shutil.which("prometheus"), "--config.file=" + d + "/prometheus.yml",
                             "--storage.tsdb.path=" + d + "/data",
                             "--web.listen-address=127.0.0.1:%d" % pport],
                            stdout=log, stderr=subprocess.STDOUT)

    def value():
        q = urllib.request.quote('sum(tcpip_tcp_sent_bytes_total{job="tls"})')
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query?query=%s" % (pport, q),
                                    timeout=5) as r:
            result = json.load(r)["data"]["result"]
        return float(result[0]["value"][1]) if result else None
    try:
        got = wait_for(value, 60)
        check(got is not None and got > 0, "Prometheus scrapes over TLS with basic auth: "
              "sum(tcpip_tcp_sent_bytes_total) = %s" % got)
    finally:
        prom.terminate()
        prom.wait(timeout=20)
        log.close()
        x.stop()


def main():
    exporter = os.environ.get("TCPIP_EXPORTER", "")
    root = os.environ.get("SOURCE_ROOT", "")
    bcrypt = os.environ.get("BCRYPT_HASH", "")
    for tool in ("openssl", "curl"):
        if shutil.which(tool) is None:
            print("%s is not installed" % tool)
            sys.exit(SKIP)
    if not (os.path.exists(exporter) and os.path.exists(bcrypt)):
        print("TCPIP_EXPORTER or BCRYPT_HASH not set")
        sys.exit(SKIP)
    hashed = sh(bcrypt, "s3cret pass", "10").stdout.strip()
    with tempfile.TemporaryDirectory(prefix="exporter-tls-") as d:
        make_pki(d)
        check_auth_and_tls(exporter, root, d, hashed)
        check_guessing_flood(exporter, root, d, bcrypt)
        check_client_certs(exporter, root, d)
        check_rotation(exporter, root, d)
        check_bad_file(exporter, root, d)
        check_prometheus(exporter, root, d, hashed)
    finish()


if __name__ == "__main__":
    main()
