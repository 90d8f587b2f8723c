"""Malformed and hostile clients: garbage bytes, a 100 KB header, a request line without a
version, slowloris-style idle connections, the connection timeout. After each, the server
must still answer, and /metrics must answer within a second while 500 idle connections
are open."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, TestServer, check, finish, raw_exchange, request  # noqa: E402


def alive(port, what):
    status, _, body = request(port, "/health", timeout=5)
    check(status == 200 and body == b'{"status":"ok"}', "still serving after " + what)


def status_of(response):
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def has_body(response):
    head, _, body = response.partition(b"\r\n\r\n")
    return len(body) > 0


def malformed(port):
    r = raw_exchange(port, b"\x00\xff\x13garbage\r\n\x7f\x80\r\n\r\n")
    check(r == b"" or status_of(r) == 400, "garbage bytes: 400 or closed (%r)" % r[:40])
    alive(port, "garbage bytes")

    r = raw_exchange(port, os.urandom(4096))
    alive(port, "4 KB of random bytes")

    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n"
    r = raw_exchange(port, big)
    check(status_of(r) in (400, 413, 431) and has_body(r),
          "100 KB header: %s with a body" % status_of(r))
    alive(port, "a 100 KB header")

    many = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n"
    r = raw_exchange(port, many)
    check(status_of(r) in (400, 413, 431), "20,000 headers refused (%s)" % status_of(r))
    alive(port, "20,000 headers")

    r = raw_exchange(port, b"GET /metrics\r\n\r\n")
    check(r == b"" or status_of(r) in (400, 505), "request line without version: %r" % r[:30])
    alive(port, "a request line without version")

    r = raw_exchange(port, b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n")
    check(r == b"" or status_of(r) in (400, 505), "HTTP/9.9: %s" % status_of(r))
    r = raw_exchange(port, b"GET /health HTTP/1.0\r\n\r\n")
    check(status_of(r) == 200, "HTTP/1.0 still works")
    r = raw_exchange(port, b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status_of(r) == 405 and b"Allow: GET, HEAD" in r, "unknown method BREW: 405")
    r = raw_exchange(port, b"GET /api/v1/processes?limit=%ff%00 HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status_of(r) == 400 and has_body(r), "percent-encoded junk in a query: 400")
    r = raw_exchange(port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(status_of(r) in (404, 414, 431, 400), "20 KB URL: %s" % status_of(r))
    alive(port, "a 20 KB URL")


def open_idle(count, port, source):
    """Connections that send half a request and then nothing (slowloris)."""
    conns = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.bind((source, 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        except OSError:
            s.close()
            break
        conns.append(s)
    return conns


def timed_scrape(port):
    start = time.monotonic()
    status, _, body = request(port, "/metrics", timeout=5)
    return status, time.monotonic() - start, body


def slowloris():
    # Unlimited per client: every idle connection is held; scrapes must not notice.
    with TestServer("--processes", "1000", "--max-connections", "1024", "--timeout", "30") as s:
        conns = open_idle(500, s.port, "127.0.0.2")
        time.sleep(0.5)
        check(len(conns) == 500, "500 idle connections opened")
        worst = 0
        for _ in range(5):
            status, took, body = timed_scrape(s.port)
            worst = max(worst, took)
            check(status == 200 and body.endswith(b"\n"), "scrape with 500 idle connections")
        check(worst < 1.0, "/metrics within 1 s with 500 idle connections (worst %.3f s)" % worst)
        for c in conns:
            c.close()

    # With a per-client cap the idle client is refused past it, others are served.
    with TestServer("--processes", "100", "--per-ip", "20", "--timeout", "30") as s:
        conns = open_idle(200, s.port, "127.0.0.3")
        time.sleep(0.5)
        held = 0
        for c in conns:   # refused connections read as closed
            try:
                c.settimeout(0.01)
                held += 1 if c.recv(1) == b"" and False else 1
            except socket.timeout:
                held += 1
            except OSError:
                pass
        status, took, _ = timed_scrape(s.port)
        check(status == 200 and took < 1.0, "per-IP cap: another client still served (%.3f s)"
              % took)
        alive(s.port, "200 connections from one client")
        for c in conns:
            c.close()

    # The connection timeout closes idle connections.
    with TestServer("--processes", "1", "--timeout", "1") as s:
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        c.settimeout(5)
        start = time.monotonic()
        try:
            data = c.recv(100)
        except OSError:
            data = b""
        took = time.monotonic() - start
        check(data == b"" and took < 4, "idle connection closed by the timeout (%.1f s)" % took)
        c.close()


def total_cap():
    """Past max-connections new connections wait in the kernel's backlog unserved; once the
    idle ones go, service resumes."""
    with TestServer("--processes", "1", "--max-connections", "10", "--timeout", "30") as s:
        conns = open_idle(40, s.port, "127.0.0.4")
        time.sleep(0.5)
        try:
            request(s.port, "/health", timeout=1)
            capped = False
        except OSError:
            capped = True
        check(capped, "max-connections 10: an 11th client is not served while 10 are held")
        for c in conns:
            c.close()
        time.sleep(0.5)
        alive(s.port, "the connection cap was reached")


def tiny_limits():
    with TestServer("--processes", "1", "--max-connections", "1") as s:
        alive(s.port, "starting with max-connections 1")


def main():
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    with TestServer("--processes", "10") as s:
        malformed(s.port)
    slowloris()
    total_cap()
    tiny_limits()
    finish()


if __name__ == "__main__":
    main()
