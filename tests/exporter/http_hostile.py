"""Hostile clients on loopback against the exporter's defaults (issue 14's judgement): while
2,000 connections trickle header bytes, 1,300 do from 100 addresses (each under its cap,
together past the connection limit), 16 and then 64 clients trickle GET bodies, 64
clients read a 10,000-process /metrics slowly, and 16 clients ask for the whole JSON table
(/api/v1/processes) again and again, from several 127.0.0.x addresses, a normal scrape from
127.0.0.1 is answered within one second every time and the server's memory stays under its
documented bound. Bounded: each attack lasts a few seconds.

Target: the test server (10,000 made-up processes) by default, or a server already running
(--port P --pid PID, e.g. tcpip_exporter.exe under Wine: tests/windows/wine_hostile.sh),
then with --table-rows and --response-memory-mib telling the bound."""
import argparse
import gzip
import http.client
import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, TestServer, check, finish, request  # noqa: E402

ATTACK_ADDRESSES = ["127.0.0.%d" % i for i in range(2, 10)]   # eight attacking clients
MANY_ADDRESSES = ["127.0.1.%d" % i for i in range(1, 101)]     # a hundred, for the limit
ROW_BYTES = 2048            # bound per table row: the row, its index and its render scratch
JSON_ROW_BYTES = 4096       # and the one whole-table JSON answer being made: its text as it
                            # grows and the rows copied out (exporter/README.md, Memory)
CONNECTION_BYTES = 64 << 10  # libmicrohttpd's 32 KB pool and our bookkeeping, rounded up


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Target:
    def __init__(self, port, pid, rows, response_mib, max_connections, fixed_mib=48,
                 many_bound=1.0):
        self.port, self.pid, self.many_bound = port, pid, many_bound
        self.bound = ((fixed_mib << 20) + rows * (ROW_BYTES + JSON_ROW_BYTES) +
                      (response_mib << 20) + max_connections * CONNECTION_BYTES)
        self.peak = 0

    def sample_memory(self):
        self.peak = max(self.peak, rss_bytes(self.pid))


def normal_scrapes(target, seconds, what, bound=1.0):
    """Scrapes as Prometheus does (gzip) every 0.25 s; each must take under `bound`."""
    worst, count, failed = 0.0, 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            status, _, body = request(target.port, "/metrics", timeout=5,
                                      headers={"Accept-Encoding": "gzip"})
            ok = status == 200 and len(body) > 0
        except OSError:
            ok = False
        took = time.monotonic() - start
        worst = max(worst, took)
        count += 1
        failed += 0 if ok else 1
        target.sample_memory()
        time.sleep(0.25)
    check(failed == 0, "%s: %d scrapes, all answered (%d failed)" % (what, count, failed))
    check(worst < bound, "%s: every scrape within %g s (worst %.3f s)" % (what, bound, worst))


def connect_from(source, port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((source, 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


class Attack(threading.Thread):
    """Opens connections, sends `opening`, then one byte of `drip` per connection every
    `interval` seconds (or reads a byte, with read=True) until stopped."""

    def __init__(self, port, count, opening, drip=b"", interval=0.5, read=False,
                 rcvbuf=None, addresses=ATTACK_ADDRESSES):
        super().__init__(daemon=True)
        self.port, self.count, self.opening, self.drip = port, count, opening, drip
        self.addresses = addresses
        self.interval, self.read, self.rcvbuf = interval, read, rcvbuf
        self.conns, self.stopping = [], threading.Event()
        self.opened = self.not_opened = self.cut = 0

    def open_all(self):
        for i in range(self.count):
            try:
                s = connect_from(self.addresses[i % len(self.addresses)], self.port,
                                 self.rcvbuf)
                s.send(self.opening)
            except OSError:
                self.not_opened += 1
                continue
            self.conns.append(s)
            self.opened += 1

    def step(self, s):
        try:
            if self.read:
                return s.recv(1) != b""
            s.send(self.drip[:1] or b"x")
            return True
        except BlockingIOError:
            return True
        except OSError:
            return False

    def run(self):
        self.open_all()
        while not self.stopping.wait(self.interval):
            alive = []
            for s in self.conns:
                if self.step(s):
                    alive.append(s)
                else:
                    self.cut += 1
                    s.close()
            self.conns = alive

    def stop(self):
        self.stopping.set()
        self.join(10)
        for s in self.conns:
            s.close()


def under_attack(target, attack, seconds, what, bound=1.0):
    attack.start()
    time.sleep(1.0)   # let the attack take hold
    normal_scrapes(target, seconds, what, bound)
    attack.stop()
    return attack


def trickling_heads(target, seconds):
    attack = under_attack(target, Attack(target.port, 2000,
                                         b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "),
                          seconds, "2,000 connections trickling header bytes")
    check(attack.opened + attack.not_opened == 2000 and attack.opened > 1000,
          "2,000 trickling connections tried, %d opened" % attack.opened)
    check(attack.cut >= attack.opened - 16 * len(ATTACK_ADDRESSES),
          "all but 16 per address cut (%d of %d)" % (attack.cut, attack.opened))


def trickling_heads_many_addresses(target, seconds):
    """13 connections from each of 100 addresses: under the per-address cap of 16, and
    together past the 1,024 places. Near the limit each newcomer (a scrape too) cuts the
    head that has waited longest, so the scrapes get in."""
    before = rejections(target, "evicted")
    attack = under_attack(target, Attack(target.port, 1300,
                                         b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                                         addresses=MANY_ADDRESSES),
                          seconds, "1,300 connections from 100 addresses trickling headers",
                          target.many_bound)
    evicted = rejections(target, "evicted") - before
    check(attack.opened > 1024 and evicted > 0,
          "1,300 tried from 100 addresses: %d opened, %d cut to make room (reason=\"evicted\")"
          % (attack.opened, evicted))


def rejections(target, reason):
    _, headers, body = request(target.port, "/metrics", timeout=5,
                               headers={"Accept-Encoding": "gzip"})
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    key = 'tcpip_exporter_http_rejections_total{reason="%s"} ' % reason
    for line in body.decode().splitlines():
        if line.startswith(key):
            return int(float(line[len(key):]))
    return 0


def trickling_bodies(target, count, seconds):
    opening = (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
    under_attack(target, Attack(target.port, count, opening, b"b", interval=2.0), seconds,
                 "%d GETs trickling a body" % count)


def slow_readers(target, seconds):
    opening = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    under_attack(target, Attack(target.port, 64, opening, read=True, interval=0.2,
                                rcvbuf=4096), seconds, "64 slow readers of /metrics")


class JsonReaders(threading.Thread):
    """`count` clients, each asking for /api/v1/processes as soon as its last answer came:
    every answer is built for its request (no shared render as /metrics has), so what they
    cost at once must stay bounded too. Answers are 200 or 503 (Retry-After), nothing else."""

    def __init__(self, port, count):
        super().__init__(daemon=True)
        self.port, self.count = port, count
        self.stopping = threading.Event()
        self.answers = {}
        self.lock = threading.Lock()

    def one_client(self, source):
        while not self.stopping.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                               source_address=(source, 0))
                c.request("GET", "/api/v1/processes")
                r = c.getresponse()
                r.read()
                retry = r.getheader("Retry-After")
                c.close()
                key = r.status if r.status != 503 or retry == "1" else "503?"
            except (OSError, http.client.HTTPException) as e:
                key = type(e).__name__
            with self.lock:
                self.answers[key] = self.answers.get(key, 0) + 1

    def run(self):
        clients = [threading.Thread(target=self.one_client, args=(a,), daemon=True)
                   for a in ATTACK_ADDRESSES * (self.count // len(ATTACK_ADDRESSES))]
        for c in clients:
            c.start()
        self.stopping.wait()
        for c in clients:
            c.join(15)

    def stop(self):
        self.stopping.set()
        self.join(20)


def json_readers(target, seconds):
    attack = under_attack(target, JsonReaders(target.port, 16), seconds,
                          "16 clients asking for /api/v1/processes without pause")
    odd = {k: v for k, v in attack.answers.items() if k not in (200, 503)}
    check(attack.answers.get(200, 0) > 0 and not odd,
          "JSON answers: %s (200, or 503 with Retry-After: 1)" % attack.answers)


def memory_bound(target):
    sanitizer = os.environ.get("EXPORTER_SANITIZE", "none")
    if sanitizer not in ("", "none"):
        print("note: peak %.1f MiB under -Db_sanitize=%s; the bound is checked without it"
              % (target.peak / 2**20, sanitizer))
        return
    check(target.peak < target.bound, "memory stayed under the bound: peak %.1f MiB < %.1f MiB"
          % (target.peak / 2**20, target.bound / 2**20))


def run_all(target, seconds):
    trickling_heads(target, seconds)
    trickling_bodies(target, 16, seconds)
    trickling_bodies(target, 64, seconds)
    slow_readers(target, seconds)
    json_readers(target, seconds)
    # Last before the bound: its thousand connections' pools, freed, stay in the heap (and
    # resident under meson's MALLOC_PERTURB_), which the JSON attack would add up with.
    trickling_heads_many_addresses(target, seconds)
    memory_bound(target)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 8192)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--table-rows", type=int, default=10000)
    parser.add_argument("--response-memory-mib", type=int, default=64)
    parser.add_argument("--max-connections", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--many-bound", type=float, default=1.0,
                        help="bound on a scrape under the many-address attack (Wine: more)")
    parser.add_argument("--fixed-mib", type=int, default=48,
                        help="code, libraries, threads (Wine: plus Wine's own)")
    args = parser.parse_args()
    if raise_fd_limit() < 2200:
        print("cannot open 2,200 descriptors (RLIMIT_NOFILE)")
        sys.exit(SKIP)
    if args.port:
        run_all(Target(args.port, args.pid, args.table_rows, args.response_memory_mib,
                       args.max_connections, args.fixed_mib, args.many_bound), args.seconds)
        finish()
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    # The exporter's defaults, as service/config.c sets them, but for the idle timeout.
    with TestServer("--processes", "10000", "--writer") as s:
        run_all(Target(s.port, s.proc.pid, 10000 + 1000, 64, 1024), args.seconds)
    finish()


if __name__ == "__main__":
    main()
