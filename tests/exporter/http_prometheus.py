"""A real Prometheus server (Debian's `prometheus`) scrapes the exporter every second and
its query API must return the numbers the exporter holds:
  1. the test server with a made-up table (values known in advance);
  2. the real tcpip_exporter replaying ../shared/data/etl/perfview/net.4.5.2.x64.etl,
     compared with the replay's own --summary table and the trace's TraceEvent baseline
     (SendIPV6 x240, RecvIPV6 x250). Skipped, saying so, without ../shared.
Prometheus runs on a free loopback port with a temporary config and data directory and is
stopped by its PID."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, TestServer, check, finish, free_port, request, wait_for  # noqa: E402

ETL = "data/etl/perfview/net.4.5.2.x64.etl"


def query(port, promql):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode(
        {"query": promql}))
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.load(r)
    return doc["data"]["result"]


def scalar(port, promql):
    result = query(port, promql)
    return float(result[0]["value"][1]) if result else None


def start_prometheus(tmp, jobs):
    port = free_port()
    config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
    for job, target in jobs.items():
        config += ("  - job_name: %s\n    static_configs:\n      - targets: ['%s']\n"
                   % (job, target))
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        f.write(config)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen([shutil.which("prometheus"), "--config.file=" + path,
                             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                             "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, port, log


def stop(proc):
    proc.terminate()   # this process only, by its PID
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def targets_healthy(port, jobs):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % port, timeout=5) as r:
        active = json.load(r)["data"]["activeTargets"]
    healthy = {t["labels"]["job"] for t in active if t["health"] == "up"}
    return healthy >= set(jobs), active


def summary_rows(exporter, etl):
    """{pid: {column: value}} of tcpip_exporter --etl FILE --summary (sums of both
    families)."""
    out = subprocess.run([exporter, "--etl", etl, "--summary"], capture_output=True,
                         text=True, timeout=60)
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    header = lines[0].split()
    assert header[-1] == "SERVICES", header
    columns = header[2:-1]
    rows = {}
    for line in lines[1:]:
        parts = line.split()
        if not parts[0].isdigit() or len(parts) < len(columns) + 3:
            continue
        values = [int(v) for v in parts[-len(columns) - 1:-1]]
        row = rows.setdefault(int(parts[0]), dict.fromkeys(columns, 0))
        for c, v in zip(columns, values):
            row[c] += v
    return rows


SUMMARY_METRIC = {
    "SENT_BYTES": "tcpip_tcp_sent_bytes_total", "SENDS": "tcpip_tcp_send_events_total",
    "RECV_BYTES": "tcpip_tcp_received_bytes_total", "RECVS": "tcpip_tcp_receive_events_total",
    "CONNECTS": "tcpip_tcp_connects_total", "ACCEPTS": "tcpip_tcp_accepts_total",
    "DISCONNECTS": "tcpip_tcp_disconnects_total", "RETRANSMITS": "tcpip_tcp_retransmits_total",
    "RECONNECTS": "tcpip_tcp_reconnects_total", "COPIES": "tcpip_tcp_copies_total",
    "UDP_SENT_BYTES": "tcpip_udp_sent_bytes_total",
    "UDP_RECV_BYTES": "tcpip_udp_received_bytes_total",
}


def check_test_server(pport):
    check(scalar(pport, 'tcpip_tcp_sent_bytes_total{job="test",process="proc3.exe",'
                 'family="ipv4"}') == 103, "Prometheus: proc3.exe IPv4 sent bytes = 103")
    check(scalar(pport, 'tcpip_tcp_received_bytes_total{job="test",process="proc4.exe",'
                 'family="ipv6"}') == 204, "Prometheus: proc4.exe IPv6 received bytes = 204")
    check(scalar(pport, 'count(tcpip_udp_sent_datagrams_total{job="test"})') == 30,
          "Prometheus: 30 UDP datagram series (20 IPv4, 10 IPv6)")
    check(scalar(pport, 'sum(tcpip_tcp_connects_total{job="test"})') == 30,
          "Prometheus: 30 connects")
    check(scalar(pport, 'tcpip_exporter_build_info{job="test"}') == 1,
          "Prometheus: build info")
    check(scalar(pport, 'tcpip_exporter_source_up{job="test",kind="etl"}') == 1,
          "Prometheus: source up")
    check(scalar(pport, 'tcpip_exporter_scrapes_total{job="test"}') >= 1,
          "Prometheus: scrape counter")
    check(scalar(pport, 'count(tcpip_tcp_connect_failures_total{job="test"})') == 14,
          "Prometheus: 14 connect failure series")


def check_replay(pport, exporter, etl, xport):
    check(scalar(pport, 'sum(tcpip_tcp_send_events_total{job="replay",family="ipv6"})') == 240,
          "Prometheus: replay IPv6 sends = 240 (TraceEvent baseline)")
    check(scalar(pport, 'sum(tcpip_tcp_receive_events_total{job="replay",family="ipv6"})')
          == 250, "Prometheus: replay IPv6 receives = 250 (TraceEvent baseline)")
    check(scalar(pport, 'tcpip_exporter_events_total{job="replay",type="tcp_send_ipv6"}')
          == 240, "Prometheus: events_total{type=tcp_send_ipv6} = 240")
    rows = summary_rows(exporter, etl)
    check(len(rows) > 10, "the replay's --summary lists the processes (%d)" % len(rows))
    compared = 0
    for pid, row in rows.items():
        for column, metric in SUMMARY_METRIC.items():
            if column not in row:
                continue
            got = scalar(pport, 'sum(%s{job="replay",pid="%d"})' % (metric, pid)) or 0
            if got != row[column]:
                check(False, "pid %d %s: Prometheus %s, --summary %s" % (pid, column, got,
                                                                        row[column]))
            compared += 1
    check(compared >= 100, "Prometheus agrees with --summary on %d values" % compared)
    status, _, body = request(xport, "/api/v1/processes?pid=4")
    system = json.loads(body)[0]
    check(scalar(pport, 'tcpip_tcp_sent_bytes_total{job="replay",process="System",'
                 'family="ipv6"}') == system["counters"]["ipv6"]["tcp_sent_bytes"],
          "Prometheus agrees with /api/v1/processes on System's IPv6 bytes")
    check_replay_services(pport, xport)


HOST_1188 = "CryptSvc,Dnscache,LanmanWorkstation,NlaSvc"  # the trace's SystemConfig records


def check_replay_services(pport, xport):
    check(scalar(pport, 'count(tcpip_udp_received_bytes_total{job="replay",pid="1188",'
                 'process="svchost.exe",service="%s"})' % HOST_1188) == 2,
          "Prometheus: svchost.exe 1188 carries its four services (both families)")
    check(scalar(pport, 'count(tcpip_process_info{job="replay",pid="1188",service="%s",'
                 'service_display=~"Cryptographic Services; DNS Client; .*"})' % HOST_1188)
          == 1, "Prometheus: tcpip_process_info of 1188 names the display names")
    # the dashboard's join: bytes by service without a pid label
    check(scalar(pport, 'sum(sum by (pid, service) (tcpip_udp_received_bytes_total'
                 '{job="replay",service=~".*Dnscache.*"}))')
          == scalar(pport, 'sum(tcpip_udp_received_bytes_total{job="replay",pid="1188"})'),
          "Prometheus: a sum over service=~Dnscache is 1188's traffic")
    status, _, body = request(xport, "/api/v1/processes?service=dnscache")
    rows = json.loads(body)
    check(status == 200 and [r["pid"] for r in rows] == [1188] and
          rows[0]["service"] == HOST_1188 and
          {"name": "Dnscache", "display_name": "DNS Client"} in rows[0]["services"],
          "/api/v1/processes?service=dnscache is 1188 with its services")
    status, _, body = request(xport, "/api/v1/services")
    hosted = json.loads(body)
    dns = [s for s in hosted if s["name"] == "Dnscache"]
    check(status == 200 and len(dns) == 1 and dns[0]["pid"] == 1188 and
          dns[0]["process"] == "svchost.exe",
          "/api/v1/services lists Dnscache in svchost.exe 1188 (%d services)" % len(hosted))
    check(scalar(pport, 'tcpip_exporter_services_hosted{job="replay"}') == len(hosted),
          "Prometheus: tcpip_exporter_services_hosted = the list's length")


def main():
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    if shutil.which("prometheus") is None:
        print("prometheus is not installed (Debian package prometheus)")
        sys.exit(SKIP)
    source_root = os.environ.get("SOURCE_ROOT", "")
    etl = os.path.join(source_root, "..", "shared", ETL)
    exporter = os.environ.get("TCPIP_EXPORTER", "")
    replay = None
    jobs = {}
    with tempfile.TemporaryDirectory(prefix="exporter-prom-") as tmp, \
            TestServer("--processes", "20") as server:
        jobs["test"] = "127.0.0.1:%d" % server.port
        if os.path.exists(etl) and os.path.exists(exporter):
            xport = free_port()
            replay = subprocess.Popen([exporter, "--etl", etl, "--web.listen-address",
                                       "127.0.0.1:%d" % xport], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
            jobs["replay"] = "127.0.0.1:%d" % xport
        else:
            print("SKIP part 2: %s or %s is absent" % (etl, exporter))
        proc, pport, log = start_prometheus(tmp, jobs)
        try:
            ready = wait_for(lambda: targets_healthy(pport, jobs)[0], 60)
            if not check(ready, "Prometheus scrapes every target: %s" % list(jobs)):
                with open(os.path.join(tmp, "prometheus.log")) as f:
                    print(f.read()[-3000:])
                print(targets_healthy(pport, jobs)[1] if wait_for(lambda: pport, 1) else "")
            else:
                # wait until a sample of this scrape round is queryable
                wait_for(lambda: scalar(pport, 'tcpip_exporter_build_info{job="test"}'), 20)
                check_test_server(pport)
                if replay is not None:
                    wait_for(lambda: scalar(pport, 'sum(tcpip_tcp_send_events_total'
                                            '{job="replay",family="ipv6"})') == 240, 20)
                    check_replay(pport, exporter, etl, int(jobs["replay"].split(":")[1]))
        finally:
            stop(proc)
            log.close()
            if replay is not None:
                stop(replay)
    finish()


if __name__ == "__main__":
    main()
