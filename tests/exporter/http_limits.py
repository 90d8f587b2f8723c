"""The HTTP server's fair limits and input hygiene, one behaviour per check (issue 14): a GET
with a body refused at once; slow readers hold no in-flight slot; concurrent scrapes share
one render; the per-address cap on by default; a deadline for the whole head and a minimum
rate for reading; the response memory cap (stale render, 503); Host, NUL and a 404 path cut
mid-character; rejections visible by reason in the self-metrics."""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SKIP, TestServer, check, finish, raw_exchange, request,  # noqa: E402
                     samples)


def status_of(response):
    try:
        return int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def metric(port, name, labels=None):
    text = request(port, "/metrics")[2].decode()
    return samples(text).get((name, frozenset((labels or {}).items())))


def rejected(port, reason):
    return metric(port, "tcpip_exporter_http_rejections_total", {"reason": reason})


def connect(port, source="127.0.0.1", rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def closed_within(s, seconds):
    """Reads (and drops) what comes until the server closes: the time it took, or None."""
    start = time.monotonic()
    s.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if s.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def is_closed(s):
    """Whether the server has closed s, without waiting."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.settimeout(5)


def body_on_get():
    with TestServer("--processes", "10") as s:
        c = connect(s.port)
        start = time.monotonic()
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nb")
        c.settimeout(3)
        answer = c.recv(4096)
        took = time.monotonic() - start
        check(status_of(answer) == 400 and b"must not carry a body" in answer and took < 1,
              "GET with a body: 400 at once (%.3f s): %r" % (took, answer[:60]))
        check(closed_within(c, 3) is not None, "GET with a body: the connection is closed")
        c.close()
        r = raw_exchange(s.port, b"HEAD /health HTTP/1.1\r\nHost: x\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n1\r\n")
        check(status_of(r) == 400, "HEAD with a chunked body: 400")
        r = raw_exchange(s.port, b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
        check(status_of(r) == 200, "Content-Length: 0 is no body: 200")
        check(rejected(s.port, "request_body") == 2, "rejections{reason=request_body} == 2")


def slow_readers_hold_no_slot():
    """Two in-flight slots, four clients not reading a large /metrics: a scrape still works."""
    with TestServer("--processes", "10000", "--max-in-flight", "2") as s:
        readers = []
        for _ in range(4):
            c = connect(s.port, rcvbuf=4096)
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            readers.append(c)
        time.sleep(1.5)
        status, _, body = request(s.port, "/api/v1/status", timeout=5)
        check(status == 200, "4 slow readers, 2 in-flight slots: /api/v1/status %d" % status)
        status, _, body = request(s.port, "/metrics", timeout=5)
        check(status == 200, "4 slow readers, 2 in-flight slots: /metrics %d" % status)
        for c in readers:
            c.close()


def shared_render():
    with TestServer("--processes", "5000", "--writer") as s:
        before = metric(s.port, "tcpip_exporter_metrics_renders_total")
        time.sleep(1.1)
        results = []

        def scrape():
            results.append(request(s.port, "/metrics", headers={"Accept-Encoding": "gzip"}))

        threads = [threading.Thread(target=scrape) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        check(len(results) == 16 and all(r[0] == 200 for r in results),
              "16 concurrent scrapes answered")
        bodies = {r[2] for r in results}
        check(len(bodies) <= 2, "16 concurrent scrapes got %d distinct bodies" % len(bodies))
        time.sleep(1.1)
        after = metric(s.port, "tcpip_exporter_metrics_renders_total")
        # 16 scrapes and the metric() reads around them: at most a few renders, not 16
        check(after - before <= 4, "16 concurrent scrapes cost %d renders" % (after - before - 1))
        compressions = metric(s.port, "tcpip_exporter_metrics_compressions_total")
        check(compressions is not None and compressions <= 3,
              "gzip compressed once per render (%s)" % compressions)


def per_address_cap():
    with TestServer("--processes", "10") as s:   # the default cap: 16
        conns = [connect(s.port, "127.0.0.5") for _ in range(20)]
        time.sleep(0.5)
        cut = sum(1 for c in conns if is_closed(c))
        check(cut == 4, "20 connections from one address, cap 16: %d cut" % cut)
        status, _, _ = request(s.port, "/health", host="127.0.0.1")
        check(status == 200, "another address is still served")
        check(rejected(s.port, "per_address") == 4, "rejections{reason=per_address} == 4")
        for c in conns:
            c.close()


def head_deadline():
    with TestServer("--processes", "10", "--head-timeout", "1", "--timeout", "30") as s:
        c = connect(s.port)
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        cut = None
        while time.monotonic() - start < 4:
            try:
                c.sendall(b"X-Slow: 1\r\n")   # a byte every 0.2 s resets an idle timer
            except OSError:
                cut = time.monotonic() - start
                break
            if closed_within(c, 0.2) is not None:
                cut = time.monotonic() - start
                break
        check(cut is not None and cut < 2.5,
              "trickled head cut by the 1 s deadline (%s s)" % (cut and round(cut, 2)))
        c.close()
        check(rejected(s.port, "head_timeout") == 1, "rejections{reason=head_timeout} == 1")
        # a kept-alive connection may wait: idle timeout + head timeout
        k = connect(s.port)
        k.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        k.recv(4096)
        time.sleep(1.5)
        k.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        check(status_of(k.recv(4096)) == 200, "kept-alive connection used again after 1.5 s")
        k.close()


def slow_read_cut():
    with TestServer("--processes", "10000", "--head-timeout", "1",
                    "--min-send-rate", "4000000") as s:
        c = connect(s.port, rcvbuf=4096)
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        # ~19 MB at 4 MB/s after a 1 s grace: cut within ~6 s; we never read
        start = time.monotonic()
        deadline = start + 20
        while time.monotonic() < deadline and not rejected(s.port, "slow_read"):
            time.sleep(0.5)
        took = time.monotonic() - start
        check(rejected(s.port, "slow_read") == 1, "a client not reading is cut (%.1f s)" % took)
        c.close()


def response_memory():
    """20 MiB for responses, a ~19 MB render held by a slow reader: later scrapes get that
    render (stale) rather than a 503, and a JSON answer that does not fit gets 503."""
    with TestServer("--processes", "10000", "--writer", "--response-memory-mib", "20") as s:
        c = connect(s.port, rcvbuf=4096)
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(1.5)
        status, _, first = request(s.port, "/metrics", timeout=5)
        check(status == 200, "memory held by a slow reader: /metrics still 200")
        time.sleep(1.1)
        status, _, second = request(s.port, "/metrics", timeout=5)
        check(status == 200 and second == first, "the same (stale) render again, 1 s later")
        status, headers, body = request(s.port, "/api/v1/processes", timeout=5)
        check(status == 503 and headers.get("retry-after") == "1",
              "a JSON answer that does not fit: %d, Retry-After %s" %
              (status, headers.get("retry-after")))
        c.close()   # gives its render back: the next scrape renders anew and says so
        time.sleep(0.5)
        stale = metric(s.port, "tcpip_exporter_metrics_stale_responses_total")
        check(stale is not None and stale >= 2, "stale responses counted (%s)" % stale)
        check(rejected(s.port, "response_memory") == 1, "rejections{reason=response_memory} == 1")
        cap = metric(s.port, "tcpip_exporter_http_response_memory_limit_bytes")
        check(cap == 20 << 20, "response memory limit %s" % cap)


def hygiene():
    with TestServer("--processes", "10") as s:
        r = raw_exchange(s.port, b"GET /health HTTP/1.1\r\n\r\n")
        check(status_of(r) == 400 and b"Host" in r, "HTTP/1.1 without Host: 400")
        r = raw_exchange(s.port, b"GET /health HTTP/1.0\r\n\r\n")
        check(status_of(r) == 200, "HTTP/1.0 without Host: 200")
        r = raw_exchange(s.port, b"GET /metrics%00.html HTTP/1.1\r\nHost: x\r\n\r\n")
        check(status_of(r) == 400 and b"NUL" in r, "/metrics%00.html: 400")
        r = raw_exchange(s.port, b"GET /api/v1/processes?sort=tcp_sent_bytes%00junk HTTP/1.1\r\n"
                         b"Host: x\r\n\r\n")
        check(status_of(r) == 400, "sort=tcp_sent_bytes%00junk: 400")
        path = "/" + "a" * 78 + "\u00e9\u00e9\u00e9"
        r = raw_exchange(s.port, b"GET " + path.encode().replace(b"\xc3", b"%C3")
                         .replace(b"\xa9", b"%A9") + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        body = r.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in r else b""
        try:
            message = json.loads(body.decode("utf-8"))["error"]
            whole = "/" + "a" * 78 + "'" in message and "\ufffd" not in message
        except (ValueError, KeyError):
            whole = False
        check(status_of(r) == 404 and whole, "404 quotes the path cut at a whole character")
        r = raw_exchange(s.port, b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n")
        body = r.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in r else b""
        try:
            body.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        check(status_of(r) == 404 and valid, "404 of a path that is not UTF-8: valid UTF-8")
        check(rejected(s.port, "bad_request") == 3, "rejections{reason=bad_request} == 3")


def main():
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    body_on_get()
    slow_readers_hold_no_slot()
    shared_render()
    per_address_cap()
    head_deadline()
    slow_read_cut()
    response_memory()
    hygiene()
    finish()


if __name__ == "__main__":
    main()
