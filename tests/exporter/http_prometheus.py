"""A real Prometheus server (Debian's `prometheus`) scrapes the exporter every second and
its query API must return the numbers the exporter holds:
  1. the test server with a made-up table (values known in advance);
  2. the real tcpip_exporter replaying ../shared/data/etl/perfview/net.4.5.2.x64.etl,
     compared with the replay's own --summary table and the trace's TraceEvent baseline
     (SendIPV6 x240, RecvIPV6 x250). Skipped, saying so, without ../shared.
  3. the same replay with --collector.peers (every peer a series): promtool check metrics
     is clean, a topk by remote answers with the exporter's own numbers, the sums over
     remote equal the process series, and every peer `--summary --peers` lists has its
     series with the same bytes.
  4. the same replay with --collector.aggregate-by-name: svchost.exe's traffic is split by
     the services each hosts from the start (the SSDP bytes under the SSDPSRV host),
     nothing under service="".
Prometheus runs on a free loopback port with a temporary config and data directory and is
stopped by its PID."""
import json
import os
import re
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


def metrics_samples(port, name):
    """[(labels dict, value)] of one metric in the exporter's own /metrics."""
    status, _, body = request(port, "/metrics")
    out = []
    for line in body.decode().splitlines():
        m = re.match(r"^%s\{(.*)\} (\d+)$" % re.escape(name), line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)))
            out.append((labels, int(m.group(2))))
    return out


SSDP_HOST = "FDResPub,SSDPSRV,TimeBroker,upnphost"  # the svchost.exe that sends SSDP


def check_by_name_services(pport):
    """--collector.aggregate-by-name on a replay: the trace's services (at its end) are
    read first, so each svchost.exe's traffic is split by what it hosts from the start;
    none is left under service=""."""
    wait_for(lambda: scalar(pport, 'count(tcpip_udp_sent_bytes_total{job="byname"})'), 20)
    check(scalar(pport, 'tcpip_udp_sent_bytes_total{job="byname",process="svchost.exe",'
                 'service="%s",family="ipv6"}' % SSDP_HOST) == 1318,
          "Prometheus, by name: the SSDP bytes (1318) are svchost.exe's hosting SSDPSRV")
    check(not scalar(pport, 'sum(tcpip_udp_sent_bytes_total{job="byname",process="svchost.exe",'
                     'service=""}) + sum(tcpip_tcp_sent_bytes_total{job="byname",'
                     'process="svchost.exe",service=""})'),
          "Prometheus, by name: nothing of svchost.exe under service=\"\"")


def summary_peers(exporter, etl):
    """[(pid, protocol, direction, remote, port, sent, received)] of --summary --peers."""
    out = subprocess.run([exporter, "--etl", etl, "--summary", "--peers"],
                         capture_output=True, text=True, timeout=60)
    peers, pid = [], None
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].isdigit():
            pid = int(parts[0])
        elif (len(parts) == 8 and parts[4] == "sent" and parts[6] == "received"
              and parts[0] in ("tcp", "udp") and pid is not None):
            peers.append((pid, parts[0], parts[1], parts[2], parts[3], int(parts[5]),
                          int(parts[7])))
    return peers


def check_peers_promtool(xport):
    tool = shutil.which("promtool")
    if not check(tool is not None, "promtool installed"):
        return
    status, _, body = request(xport, "/metrics")
    check(b"\ntcpip_peer_sent_bytes_total{" in body, "peers on: tcpip_peer_* series on /metrics")
    r = subprocess.run([tool, "check", "metrics"], input=body, capture_output=True)
    check(r.returncode == 0 and r.stdout.strip() == b"" and r.stderr.strip() == b"",
          "peers on: promtool check metrics is clean %r" % ((r.stdout + r.stderr)[:400],))
    check_peers_openmetrics(xport)


def check_peers_openmetrics(xport):
    """The OpenMetrics form through prometheus_client's strict parser, when installed."""
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError:
        print("SKIP the OpenMetrics parse: python3-prometheus-client is not installed")
        return
    status, _, body = request(xport, "/metrics",
                              headers={"Accept": "application/openmetrics-text;version=1.0.0"})
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    sent = families.get("tcpip_peer_sent_bytes")
    check(sent is not None and sent.type == "counter" and sent.unit == "bytes" and
          {s.name for s in sent.samples} == {"tcpip_peer_sent_bytes_total"},
          "peers on: OpenMetrics parser reads tcpip_peer_sent_bytes as a counter in bytes")
    check(all(name in families for name in (
        "tcpip_peer_connects", "tcpip_exporter_peers_tracked", "tcpip_exporter_peer_capacity",
        "tcpip_exporter_peers_evicted", "tcpip_exporter_peers_refused",
        "tcpip_exporter_peer_swaps")), "peers on: OpenMetrics has the peer and store families")


def check_peers_topk(pport, xport):
    top = query(pport, 'topk(3, sum by (remote) (tcpip_peer_sent_bytes_total{job="peers"}))')
    check(len(top) == 3, "Prometheus: topk(3) by remote answers 3 remotes (%d)" % len(top))
    own = {}
    for labels, value in metrics_samples(xport, "tcpip_peer_sent_bytes_total"):
        own[labels["remote"]] = own.get(labels["remote"], 0) + value
    busiest = sorted(own.values(), reverse=True)[:3]
    got = sorted((float(r["value"][1]) for r in top), reverse=True)
    check(got == busiest and all(own.get(r["metric"]["remote"]) == float(r["value"][1])
                                 for r in top),
          "Prometheus's top 3 remotes by sent bytes are the exporter's own: %s" %
          [(r["metric"].get("remote"), r["value"][1]) for r in top])
    check(top and top[0]["metric"].get("remote") != "other",
          "the busiest remote is an address, not other")
    retransmitting = query(pport, 'topk(10, sum by (process, remote) '
                                  '(tcpip_peer_retransmits_total{job="peers"}))')
    check(len(retransmitting) > 0, "Prometheus: 'which hosts is it retransmitting to' "
          "answers (%d series)" % len(retransmitting))


# Each peer counter and the process counter its TCP sum equals (UDP: the udp_ ones).
PEER_SUMS = [
    ("tcpip_peer_sent_bytes_total", "tcp", "tcpip_tcp_sent_bytes_total"),
    ("tcpip_peer_received_bytes_total", "tcp", "tcpip_tcp_received_bytes_total"),
    ("tcpip_peer_send_events_total", "tcp", "tcpip_tcp_send_events_total"),
    ("tcpip_peer_sent_bytes_total", "udp", "tcpip_udp_sent_bytes_total"),
    ("tcpip_peer_received_bytes_total", "udp", "tcpip_udp_received_bytes_total"),
    ("tcpip_peer_receive_events_total", "udp", "tcpip_udp_received_datagrams_total"),
]


def check_peer_sums(pport):
    for peer, protocol, process in PEER_SUMS:
        left = 'sum by (pid, family) (%s{job="peers",protocol="%s"})' % (peer, protocol)
        right = 'sum by (pid, family) (%s{job="peers"})' % process
        unequal = query(pport, "%s != %s" % (left, right))
        equal = scalar(pport, "count(%s == %s)" % (left, right)) or 0
        check(not unequal and equal > 0,
              "Prometheus: sum over remote of %s{protocol=%s} = %s for every pid and family "
              "(%d equal, unequal: %s)" % (peer, protocol, process, equal, unequal[:3]))


def check_summary_peers(pport, exporter, etl):
    peers = summary_peers(exporter, etl)
    check(len(peers) >= 10, "--summary --peers lists peers (%d)" % len(peers))
    for pid, protocol, direction, remote, port, sent, received in peers:
        selector = ('{job="peers",pid="%d",protocol="%s",direction="%s",remote="%s",'
                    'port="%s"}' % (pid, protocol, direction, remote, port))
        got = (scalar(pport, "sum(tcpip_peer_sent_bytes_total%s)" % selector),
               scalar(pport, "sum(tcpip_peer_received_bytes_total%s)" % selector))
        check(got == (sent, received), "pid %d %s %s %s:%s: Prometheus %s, --summary %s" %
              (pid, protocol, direction, remote, port, got, (sent, received)))


def check_peers(pport, exporter, etl, xport):
    check_peers_promtool(xport)
    check_peers_topk(pport, xport)
    check_peer_sums(pport)
    check_summary_peers(pport, exporter, etl)


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
    replay = peers = byname = None
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
            pxport = free_port()
            peers = subprocess.Popen([exporter, "--etl", etl, "--collector.peers",
                                      "--collector.peers.top", "0", "--web.listen-address",
                                      "127.0.0.1:%d" % pxport], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
            jobs["peers"] = "127.0.0.1:%d" % pxport
            nport = free_port()
            byname = subprocess.Popen([exporter, "--etl", etl, "--collector.aggregate-by-name",
                                       "--web.listen-address", "127.0.0.1:%d" % nport],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
            jobs["byname"] = "127.0.0.1:%d" % nport
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
                    wait_for(lambda: scalar(pport, 'count(tcpip_peer_sent_bytes_total'
                                            '{job="peers"})'), 20)
                    check_peers(pport, exporter, etl, int(jobs["peers"].split(":")[1]))
                    check_by_name_services(pport)
        finally:
            stop(proc)
            log.close()
            if replay is not None:
                stop(replay)
            if peers is not None:
                stop(peers)
            if byname is not None:
                stop(byname)
    finish()


if __name__ == "__main__":
    main()
