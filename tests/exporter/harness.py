"""Shared helpers of the exporter's HTTP tests: start the test server (or the real
tcpip_exporter) on a free loopback port, speak raw HTTP, check and report.

Every process started here is stopped by its own handle (PID), never by name."""
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time

SKIP = 77
SERVER = os.environ.get("EXPORTER_TEST_SERVER", "")
FAILURES = []


def free_port(host="127.0.0.1", family=socket.AF_INET):
    """A port nothing listens on right now (the kernel's choice, so parallel runs differ)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check(condition, what):
    if condition:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILURES.append(what)
    return condition


def finish():
    if FAILURES:
        print("%d check(s) failed:" % len(FAILURES))
        for f in FAILURES:
            print("  " + f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


class TestServer:
    """exporter_test_server: serves until its standard input closes."""

    def __init__(self, *args, port=None, expect_failure=False):
        self.port = port or free_port()
        self.args = [SERVER] + list(args)
        if "--listen" not in args:
            self.args += ["--listen", "127.0.0.1:%d" % self.port]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        if expect_failure:
            return
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            err = self.proc.stderr.read()
            raise RuntimeError("test server did not start: %r %r" % (line, err))

    def stop(self, timeout=20):
        """Closes stdin; returns (exit code, stdout rest, stderr)."""
        try:  # communicate() closes stdin, which tells the server to stop
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            return None, out, err
        return self.proc.returncode, out, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()


def request(port, path, method="GET", headers=None, host="127.0.0.1", timeout=10):
    """(status, headers dict lower-cased, body bytes) over a fresh connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def raw_exchange(port, data, host="127.0.0.1", timeout=5):
    """Sends bytes, returns whatever comes back until the server closes or goes quiet."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def wait_for(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        time.sleep(interval)
    return None


def samples(text):
    """{(name, frozenset(labels)): value} of a text exposition (simple parser for checks)."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out
