"""Benchmark of /metrics: render time (exporter_bench_render, median of 50) and requests/s
with wrk, for 100, 1,000 and 10,000 processes, beside Debian's prometheus-node-exporter
scraped by the same wrk in the same run. Compared per exposed series: series/s =
requests/s x series per scrape. Targets: >= 10x node_exporter's series/s, and a
10,000-process render under 20 ms.

Then the server's CPU time per scrape that renders (rounds 1.1 s apart, so that each one
makes a new render rather than sharing the previous), 10,000 processes: plain, gzip, and
16 gzip clients at once. Targets: a gzip scrape costs at most 2x a plain one; 16 clients
at once cost at most 1.5x one client (one render and one compression, sent 16 times).
Beside it, in the same run, Prometheus' client_golang serving the very same series
(peer_client_golang/main.go, built here with Debian's golang-go and
golang-github-prometheus-client-golang-dev; skipped without them): its CPU per gzip
scrape, one client and 16 at once, against ours.
Exits 1 when a target is missed.

Environment: WRK_SECONDS (default 5), WRK_CONNECTIONS (default 4)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, TestServer, free_port, request, wait_for  # noqa: E402

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
SECONDS = int(os.environ.get("WRK_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("WRK_CONNECTIONS", "4"))


def wrk(port, path="/metrics", gzip=False):
    args = ["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % SECONDS, "--latency"]
    if gzip:
        args += ["-H", "Accept-Encoding: gzip"]
    out = subprocess.run(args + ["http://127.0.0.1:%d%s" % (port, path)], capture_output=True,
                         text=True, timeout=SECONDS + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, (p99.group(1) if p99 else "?"), int(errors.group(1)) if errors else 0


def series_of(text):
    return sum(1 for line in text.split("\n") if line and not line.startswith("#"))


def render_ms(n):
    out = subprocess.run([os.environ["EXPORTER_BENCH_RENDER"], str(n), "50"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"render_ms=([\d.]+)", out).group(1)), out.strip()


def cpu_seconds(pid):
    """utime + stime of a process, from /proc (clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_round(server, clients, gzip, rounds=6):
    headers = {"Accept-Encoding": "gzip"} if gzip else {}

    def scrape():
        request(server.port, "/metrics", headers=headers, timeout=30)

    time.sleep(1.1)
    start = cpu_seconds(server.proc.pid)
    for _ in range(rounds):
        threads = [threading.Thread(target=scrape) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(1.1)   # the next round renders anew
    return (cpu_seconds(server.proc.pid) - start) / rounds * 1000


class Peer:
    """client_golang serving a saved exposition; stopped by its PID."""

    def __init__(self, exposition, workdir):
        self.port = free_port()
        exe = os.path.join(workdir, "peer")
        env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
                   GOCACHE=os.path.join(workdir, "gocache"), GOFLAGS="")
        subprocess.run(["go", "build", "-o", exe, "main.go"], check=True, env=env,
                       cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "peer_client_golang"))
        self.proc = subprocess.Popen([exe, exposition, "127.0.0.1:%d" % self.port],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("peer_client_golang did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def golang_available():
    return shutil.which("go") is not None and os.path.isdir(
        "/usr/share/gocode/src/github.com/prometheus/client_golang")


def scrape_cpu(missed):
    with TestServer("--processes", "10000", "--max-in-flight", "64") as s:
        exposition = request(s.port, "/metrics")[2]
        plain = cpu_per_round(s, 1, False)
        gzip = cpu_per_round(s, 1, True)
        many = cpu_per_round(s, 16, True)
    print("CPU per rendering scrape, 10,000 processes: plain %.1f ms, gzip %.1f ms (%.2fx), "
          "16 gzip clients at once %.1f ms (%.2fx one client)"
          % (plain, gzip, gzip / plain, many, many / gzip))
    if gzip > 2 * plain:
        missed.append("a gzip scrape cost %.2fx a plain one" % (gzip / plain))
    if many > 1.5 * gzip:
        missed.append("16 concurrent clients cost %.2fx one" % (many / gzip))
    if not golang_available():
        print("client_golang peer skipped: needs golang-go and "
              "golang-github-prometheus-client-golang-dev")
        return
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "exposition.txt")
        with open(path, "wb") as f:
            f.write(exposition)
        peer = Peer(path, work)
        try:
            peer_gzip = cpu_per_round(peer, 1, True)
            peer_many = cpu_per_round(peer, 16, True)
        finally:
            peer.stop()
    print("client_golang, the same %d series: gzip %.1f ms per scrape (ours %.1fx less), "
          "16 at once %.1f ms (ours %.1fx less)"
          % (series_of(exposition.decode()), peer_gzip, peer_gzip / gzip, peer_many,
             peer_many / many))


def main():
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            print("%s is not installed" % tool)
            sys.exit(SKIP)
    if not os.path.exists(NODE_EXPORTER):
        print("prometheus-node-exporter is not installed")
        sys.exit(SKIP)

    port = free_port()
    node = subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: request(port, "/metrics")[0] == 200, 20)
        node_series = series_of(request(port, "/metrics")[2].decode())
        node_rps, node_p99, _ = wrk(port)
        node_rps_gz, _, _ = wrk(port, gzip=True)
    finally:
        node.terminate()   # by its PID
        node.wait(timeout=20)
    node_sps = node_rps * node_series
    node_sps_gz = node_rps_gz * node_series
    print("node_exporter: %d series, %.1f req/s (p99 %s), %.0f series/s; gzip %.1f req/s, "
          "%.0f series/s" % (node_series, node_rps, node_p99, node_sps, node_rps_gz,
                              node_sps_gz))

    missed = []
    print("%8s %9s %10s %10s %12s %8s %10s %12s %8s" % (
        "procs", "series", "render_ms", "req/s", "series/s", "x node", "gz req/s",
        "gz series/s", "x node"))
    for n in (100, 1000, 10000):
        ms, line = render_ms(n)
        with TestServer("--processes", str(n), "--max-in-flight", "64") as s:
            series = series_of(request(s.port, "/metrics")[2].decode())
            rps, p99, errors = wrk(s.port)
            rps_gz, _, errors_gz = wrk(s.port, gzip=True)
        sps, sps_gz = rps * series, rps_gz * series
        print("%8d %9d %10.3f %10.1f %12.0f %8.1f %10.1f %12.0f %8.1f%s" % (
            n, series, ms, rps, sps, sps / node_sps, rps_gz, sps_gz, sps_gz / node_sps_gz,
            "  (non-2xx: %d/%d)" % (errors, errors_gz) if errors or errors_gz else ""))
        if sps < 10 * node_sps:
            missed.append("%d processes: %.1fx node_exporter's series/s" % (n, sps / node_sps))
        if n == 10000 and ms >= 20:
            missed.append("10,000-process render took %.3f ms" % ms)
    scrape_cpu(missed)
    if missed:
        print("targets missed: " + "; ".join(missed))
        sys.exit(1)
    print("targets met: >= 10x node_exporter series/s at every size; 10,000-process render "
          "< 20 ms; gzip <= 2x plain; 16 clients <= 1.5x one")


if __name__ == "__main__":
    main()
