"""Every endpoint and every error status of the exporter's HTTP server, over loopback; and
/api/v1/peers of the real tcpip_exporter replaying a recorded trace with --collector.peers."""
import gzip
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SKIP, TestServer, check, finish, free_port, request, samples,  # noqa: E402
                     wait_for)

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROM2_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def error_json(status, headers, body, expected_status, words):
    ok = status == expected_status and headers.get("content-type", "").startswith(
        "application/json")
    try:
        doc = json.loads(body)
        ok = ok and doc.get("status") == expected_status and words in doc.get("error", "")
    except ValueError:
        ok = False
    return ok


def metrics_endpoint(port):
    status, headers, body = request(port, "/metrics")
    check(status == 200 and headers["content-type"] == TEXT, "/metrics text content type")
    text = body.decode()
    check("# EOF" not in text, "text format has no # EOF")
    s = samples(text)
    check(s[("tcpip_tcp_sent_bytes_total", frozenset(
        {"process": "proc3.exe", "pid": "1012", "service": "", "family": "ipv4"}.items()))]
        == 103,
        "proc3.exe sent bytes 103")
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
        check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
              "promtool check metrics is clean: %r %r" % (r.stdout[:300], r.stderr[:300]))
    else:
        check(False, "promtool is installed")

    status, headers, body = request(port, "/metrics", headers={"Accept": PROM2_ACCEPT})
    check(status == 200 and headers["content-type"] == OPENMETRICS,
          "Prometheus 2 Accept header gets OpenMetrics")
    check(body.endswith(b"# EOF\n"), "OpenMetrics ends with # EOF")

    status, headers, body = request(port, "/metrics", headers={"Accept-Encoding": "gzip"})
    check(headers.get("content-encoding") == "gzip", "gzip when accepted")
    plain = gzip.decompress(body).decode()
    check(plain.startswith("# HELP tcpip_tcp_sent_bytes_total"), "gzip body decompresses")
    status, headers, body = request(port, "/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    check("content-encoding" not in headers and body.startswith(b"# HELP"),
          "no gzip when q=0")

    status, headers, body = request(port, "/metrics", method="HEAD")
    check(status == 200 and body == b"" and int(headers["content-length"]) > 1000,
          "HEAD /metrics: headers with length, no body")

    # curl, as a person would use it
    r = subprocess.run(["curl", "-sS", "--compressed", "-o", "-", "-w", "%{http_code}",
                        "http://127.0.0.1:%d/metrics" % port], capture_output=True)
    check(r.returncode == 0 and r.stdout.endswith(b"200") and b"tcpip_exporter_scrapes_total"
          in r.stdout, "curl --compressed /metrics")


def other_endpoints(port):
    status, headers, body = request(port, "/")
    check(status == 200 and headers["content-type"].startswith("text/html"), "/ is HTML")
    for link in (b'href="/metrics"', b'href="/api/v1/processes"', b'href="/api/v1/status"',
                 b'href="/health"'):
        check(link in body, "/ links %s" % link.decode())
    policy = headers.get("content-security-policy", "")
    check("script-src 'self'" in policy and "default-src 'none'" in policy
          and "frame-ancestors 'none'" in policy, "/ has a strict Content-Security-Policy")
    check(headers.get("x-content-type-options") == "nosniff", "/ says nosniff")
    for path, kind in (("/ui/live.js", "text/javascript"), ("/ui/live.css", "text/css")):
        status, headers, body = request(port, path)
        check(status == 200 and headers["content-type"].startswith(kind) and len(body) > 100
              and headers.get("content-security-policy") == policy
              and headers.get("cache-control") == "no-cache",
              "%s: %s, the same policy, revalidated" % (path, kind))
        status, headers, body = request(port, path, method="HEAD")
        check(status == 200 and body == b"" and int(headers["content-length"]) > 100,
              "HEAD %s" % path)
    for path in ("/ui/", "/ui/live.html", "/ui/live.js/", "/ui/../metrics"):
        status, headers, body = request(port, path)
        check(status == 404, "%s is 404" % path)
    status, _, body = request(port, "/api/v1/status")
    fails = json.loads(body)["table"].get("tcp_connect_failures", {})
    check(sorted(fails) == ["ipv4", "ipv6"] and len(fails["ipv4"]) == 7,
          "status has the connect failures by family and reason")

    status, headers, body = request(port, "/health")
    check(status == 200 and json.loads(body) == {"status": "ok"}, "/health")

    status, headers, body = request(port, "/api/v1/processes")
    doc = json.loads(body)
    check(status == 200 and len(doc) == 10 and headers["content-type"].startswith(
        "application/json"), "/api/v1/processes lists 10 instances")
    p = doc[0]
    for key in ("name", "pid", "parent_pid", "state", "start_time", "exit_time", "counters",
                "instance_id", "unique_key", "total_bytes"):
        check(key in p, "process object has %s" % key)
    check(len(p["counters"]["ipv4"]) == 16 and len(p["counters"]["ipv6"]) == 16,
          "16 counters per family")

    status, _, body = request(port, "/api/v1/processes?sort=tcp_sent_bytes&limit=2")
    doc = json.loads(body)
    check(status == 200 and [x["pid"] for x in doc] == [1032, 1024],
          "sort=tcp_sent_bytes&limit=2: top talkers first")
    status, _, body = request(port, "/api/v1/processes?name=PROC1*")
    check(status == 200 and [x["name"] for x in json.loads(body)] == ["proc1.exe"],
          "name glob, case-insensitive")
    status, _, body = request(port, "/api/v1/processes?pid=1008")
    check(status == 200 and [x["name"] for x in json.loads(body)] == ["proc2.exe"], "pid=")
    status, _, body = request(port, "/api/v1/processes?pid=7")
    check(status == 200 and json.loads(body) == [], "pid with no process: empty array")

    for query, words in (("pid=abc", "pid"), ("pid=99999999999", "pid"), ("limit=0", "limit"),
                         ("limit=-3", "limit"), ("sort=bogus", "sort"), ("colour=red", "colour"),
                         ("limit=1&limit=2", "twice"), ("name=", "name")):
        status, headers, body = request(port, "/api/v1/processes?" + query)
        check(error_json(status, headers, body, 400, words), "400 with JSON error for " + query)

    status, _, body = request(port, "/api/v1/status")
    doc = json.loads(body)
    check(status == 200 and doc["source"]["kind"] == "etl" and doc["source"]["up"] is True,
          "/api/v1/status source")
    for key in ("version", "uptime_seconds", "events_lost", "table", "config", "scrapes"):
        check(key in doc, "status has %s" % key)
    check(doc["config"] == {"answer": 42}, "status shows the config in effect")
    check(doc["source"]["state"] == "replay_done", "status session state")

    status, headers, body = request(port, "/nope")
    check(error_json(status, headers, body, 404, "/nope"), "404 with JSON body")
    status, headers, body = request(port, "/metrics/")
    check(status == 404, "/metrics/ is not /metrics")
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        status, headers, body = request(port, "/metrics", method=method)
        check(error_json(status, headers, body, 405, method) and
              headers.get("allow") == "GET, HEAD", "405 with Allow for " + method)


def curl_every_endpoint(port):
    """The same through curl, as a person would type it: status and a body for each."""
    cases = [("GET", "/", 200), ("GET", "/metrics", 200), ("GET", "/api/v1/processes", 200),
             ("GET", "/api/v1/status", 200), ("GET", "/health", 200), ("HEAD", "/health", 200),
             ("GET", "/ui/live.js", 200), ("GET", "/missing", 404), ("POST", "/metrics", 405), ("DELETE", "/", 405),
             ("GET", "/api/v1/processes?limit=x", 400)]
    for method, path, expected in cases:
        args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method,
                "http://127.0.0.1:%d%s" % (port, path)]
        if method == "HEAD":
            args[args.index("-X"):args.index("-X") + 2] = ["-I"]
        r = subprocess.run(args, capture_output=True, timeout=20)
        body, _, code = r.stdout.rpartition(b"\n")
        check(r.returncode == 0 and code == str(expected).encode() and len(body) > 0,
              "curl -X %s %s: %s (expected %d)" % (method, path, code.decode(), expected))


def in_flight_cap():
    with TestServer("--processes", "5", "--max-in-flight", "1", "--source-delay-ms", "800") as s:
        results = []

        def scrape():
            results.append(request(s.port, "/metrics"))
        threads = [threading.Thread(target=scrape) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r[0] for r in results)
        check(codes.count(200) >= 1 and codes.count(503) >= 1,
              "max-in-flight 1: some 200, the rest 503 (%s)" % codes)
        refused = [r for r in results if r[0] == 503]
        check(all(error_json(*r, 503, "in flight") and r[1].get("retry-after") == "1"
                  for r in refused), "503 has a JSON body and Retry-After")


def clean_shutdown():
    s = TestServer("--processes", "100", "--source-delay-ms", "1000")
    result = []
    t = threading.Thread(target=lambda: result.append(request(s.port, "/metrics")))
    t.start()
    time.sleep(0.3)
    started = time.monotonic()
    code, out, err = s.stop()
    t.join()
    check(code == 0 and "stopped" in out, "server stops cleanly")
    check(result and result[0][0] == 200 and b"tcpip_exporter_scrapes_total" in result[0][2],
          "a scrape in flight at shutdown gets its whole answer")
    check(time.monotonic() - started >= 0.5, "shutdown waited for the scrape")
    try:
        request(s.port, "/health", timeout=2)
        check(False, "nothing listens after stop")
    except OSError:
        check(True, "nothing listens after stop")


def start_errors():
    with TestServer("--processes", "1") as first:
        second = TestServer("--processes", "1", port=first.port, expect_failure=True)
        code, _, err = second.stop()
        check(code == 1 and "already in use" in err and str(first.port) in err,
              "port in use: clear error (%s)" % err.strip())
    for address, words in (("256.1.1.1:80", "cannot resolve"), ("[::g]:80", "cannot resolve"), ("127.0.0.1:0", "port"),
                           ("localhost", "HOST:PORT"), ("192.0.2.1:%d" % free_port(),
                                                        "does not belong")):
        bad = TestServer("--listen", address, expect_failure=True)
        code, _, err = bad.stop()
        check(code == 1 and words in err and address in err,
              "bad address %s: %s" % (address, err.strip()))


def options_and_ipv6():
    v6 = free_port("::1", __import__("socket").AF_INET6)
    v4 = free_port()
    with TestServer("--processes", "4", "--aggregate", "--telemetry-path", "/m",
                    "--exclude", "proc1.*", "--listen", "127.0.0.1:%d" % v4,
                    "--listen", "[::1]:%d" % v6) as s:
        status, _, body = request(v6, "/m", host="::1")
        check(status == 200, "IPv6 listen address [::1] serves")
        status, _, body4 = request(v4, "/m")
        check(status == 200, "second listen address serves too")
        text = body.decode()
        check('pid="' not in text and 'tcpip_tcp_sent_bytes_total{process="proc0.exe",'
              'service="",family="ipv4"} 100' in text, "aggregated: no pid label")
        check("proc1.exe" not in text and "proc2.exe" in text, "exclude filter")
        status, _, body = request(v4, "/metrics")
        check(status == 404, "custom telemetry path: /metrics is 404")
        status, _, body = request(v4, "/")
        check(b'href="/m"' in body, "landing page links the custom path")


REAL_ETL = os.path.join("..", "shared", "data", "etl", "perfview", "net.4.5.2.x64.etl")
PEER_KEYS = ("process", "pid", "instance_id", "service", "services", "peer_id", "protocol",
             "family", "direction", "remote", "port", "local_port", "remote_port", "shown",
             "first_seen", "last_seen", "total_bytes", "counters")
TCP_PEER_COUNTERS = ("sent_bytes", "send_events", "received_bytes", "receive_events",
                     "connects", "accepts", "disconnects", "retransmits",
                     "retransmitted_bytes", "reconnects")
# peer counter -> the process counter it adds to (collector/process_table.h,
# peer_process_counter); UDP peers have only the first four
COVERED = {
    "tcp": {k: "tcp_" + k for k in TCP_PEER_COUNTERS},
    "udp": {"sent_bytes": "udp_sent_bytes", "send_events": "udp_sent_datagrams",
            "received_bytes": "udp_received_bytes", "receive_events": "udp_received_datagrams"},
}


def get_json(port, path):
    status, headers, body = request(port, path)
    check(status == 200 and headers.get("content-type", "").startswith("application/json"),
          "GET %s: 200 JSON (%d)" % (path, status))
    return json.loads(body) if status == 200 else None


def peers_off(port):
    """The test server keeps no peers: a clear error, not an empty answer."""
    status, headers, body = request(port, "/api/v1/peers")
    check(error_json(status, headers, body, 404, "--collector.peers"),
          "/api/v1/peers without peers: 404 naming --collector.peers")
    status, headers, body = request(port, "/api/v1/peers?sort=bogus")
    check(error_json(status, headers, body, 404, "--collector.peers"),
          "peers off: 404 whatever the parameters")
    status, headers, body = request(port, "/api/v1/processes?peers=3")
    check(error_json(status, headers, body, 400, "--collector.peers"),
          "/api/v1/processes?peers=3 without peers: 400 naming --collector.peers")
    status, _, body = request(port, "/api/v1/processes?peers=0")
    check(status == 200 and all("peers" not in p for p in json.loads(body)),
          "/api/v1/processes?peers=0: rows without peers")


def peer_problems(p):
    """What is wrong with one peer object ([] when nothing)."""
    missing = [k for k in PEER_KEYS if k not in p]
    if missing:
        return ["missing %s" % missing]
    expected = TCP_PEER_COUNTERS if p["protocol"] == "tcp" else tuple(COVERED["udp"])
    problems = []
    if tuple(p["counters"]) != expected:
        problems.append("%s counters %s" % (p["protocol"], list(p["counters"])))
    if p["total_bytes"] != p["counters"]["sent_bytes"] + p["counters"]["received_bytes"]:
        problems.append("total_bytes is not sent + received")
    if p["port"] not in (p["local_port"], p["remote_port"]):
        problems.append("port %d is neither side's" % p["port"])
    return problems


def check_peer_shape(doc):
    check(set(doc) == {"peers", "matched", "processes", "store"}, "peers document keys")
    peers = doc["peers"]
    check(len(peers) > 0 and doc["matched"] == len(peers), "every peer listed without limit")
    problems = {p.get("peer_id"): peer_problems(p) for p in peers}
    check(not any(problems.values()), "every peer object has its keys, the counters of its "
          "protocol in order, total_bytes and a port of one side: %s"
          % {k: v for k, v in problems.items() if v})
    check({p["protocol"] for p in peers} == {"tcp", "udp"} and
          {p["family"] for p in peers} == {"ipv4", "ipv6"}, "TCP and UDP, IPv4 and IPv6 peers")
    store = doc["store"]
    check(store["capacity"] > 0 and store["in_use"] == len(peers) and
          set(store) == {"in_use", "capacity", "evicted", "refused", "swaps", "ipv4_prefix",
                         "ipv6_prefix"}, "store statistics: %s" % store)


def sum_mismatches(entry, mine, row):
    """[(family, peer counter, peers + other, process counter)] that differ."""
    out = []
    for family in ("ipv4", "ipv6"):
        for protocol, covered in COVERED.items():
            for key, process_key in covered.items():
                total = entry["other"][family][protocol][key] + sum(
                    p["counters"][key] for p in mine
                    if p["family"] == family and p["protocol"] == protocol)
                if total != row["counters"][family][process_key]:
                    out.append((family, key, total, row["counters"][family][process_key]))
    return out


def check_peer_sums(doc, processes):
    """Per process: the sums over its peers plus other equal its own counters, both in the
    peers document and in /api/v1/processes (the replay is done: nothing moves)."""
    rows = {p["instance_id"]: p for p in processes}
    for entry in doc["processes"]:
        mine = [p for p in doc["peers"] if p["instance_id"] == entry["instance_id"]]
        row = rows.get(entry["instance_id"])
        if not check(row is not None and entry["peers"] == len(mine),
                     "pid %d: in /api/v1/processes, %d peers" % (entry["pid"], len(mine))):
            continue
        check(entry["counters"] == row["counters"], "pid %d: same counters in both documents"
              % entry["pid"])
        bad = sum_mismatches(entry, mine, row)
        check(not bad, "pid %d: peers + other = its counters, every covered counter: %s"
              % (entry["pid"], bad))
    listed = {p["instance_id"] for p in doc["processes"]}
    unlisted = [row["pid"] for row in processes if row["instance_id"] not in listed and
                any(row["counters"][f][k] for f in ("ipv4", "ipv6")
                    for c in COVERED.values() for k in c.values())]
    check(len(listed) >= 2 and not unlisted,
          "every process with covered counts is listed with its other (%d; unlisted %s)"
          % (len(listed), unlisted))


def check_peer_queries(port, doc):
    peers = doc["peers"]
    udp = get_json(port, "/api/v1/peers?protocol=udp")
    check(udp["peers"] and all(p["protocol"] == "udp" for p in udp["peers"]) and
          len(udp["peers"]) == sum(p["protocol"] == "udp" for p in peers), "protocol=udp")
    top = max(peers, key=lambda p: p["total_bytes"])
    prefix = str(ipaddress.ip_network("%s/%d" % (top["remote"], 64 if top["family"] == "ipv6"
                                                 else 24), strict=False))
    query = urllib.parse.urlencode({"remote": prefix, "port": top["port"]})
    near = get_json(port, "/api/v1/peers?" + query)
    check(top["peer_id"] in [p["peer_id"] for p in near["peers"]] and
          all(p["port"] == top["port"] for p in near["peers"]),
          "remote=%s&port=%d finds the top peer" % (prefix, top["port"]))
    bracketed = get_json(port, "/api/v1/peers?remote=" + urllib.parse.quote(
        "[%s]" % top["remote"] if ":" in top["remote"] else top["remote"]))
    check([p["peer_id"] for p in bracketed["peers"]] ==
          [p["peer_id"] for p in peers if p["remote"] == top["remote"]], "remote= one host")
    ranked = get_json(port, "/api/v1/peers?sort=sent_bytes&limit=2")
    want = sorted(peers, key=lambda p: -p["counters"]["sent_bytes"])[:2]
    check([p["counters"]["sent_bytes"] for p in ranked["peers"]] ==
          [p["counters"]["sent_bytes"] for p in want] and ranked["matched"] == len(peers),
          "sort=sent_bytes&limit=2: the two biggest senders, matched counts all")
    status, _, body = request(port, "/api/v1/processes?peers=2&sort=total_bytes")
    rows = json.loads(body)
    check(status == 200 and all(len(r["peers"]) <= 2 for r in rows) and
          rows[0]["peers"][0]["peer_id"] == top["peer_id"],
          "/api/v1/processes?peers=2: each row its top 2, the top talker's first")
    for query, words in (("remote=010.0.0.1", "remote"), ("remote=fe80::1%25eth0", "remote"),
                         ("remote=10.0.0.0/33", "remote"), ("port=65536", "port"),
                         ("protocol=icmp", "protocol"), ("family=inet", "family"),
                         ("direction=up", "direction"), ("sort=tcp_sent_bytes", "sort"),
                         ("limit=0", "limit"), ("name=x", "name"), ("pid=1&pid=2", "twice")):
        status, headers, body = request(port, "/api/v1/peers?" + query)
        check(error_json(status, headers, body, 400, words), "peers 400 for " + query)


def replay_with_peers():
    """The real exporter replaying a recorded trace with --collector.peers."""
    exporter = os.environ.get("TCPIP_EXPORTER", "")
    etl = os.path.join(os.environ.get("SOURCE_ROOT", "."), REAL_ETL)
    if not (os.path.exists(exporter) and os.path.exists(etl)):
        print("SKIP peers of a replay: %s or %s is absent" % (exporter, etl))
        return
    port = free_port()
    proc = subprocess.Popen([exporter, "--etl", etl, "--collector.peers",
                             "--web.listen-address", "127.0.0.1:%d" % port],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        done = wait_for(lambda: json.loads(request(port, "/api/v1/status")[2])["source"]
                        ["state"] == "replay_done", 30)
        if not check(done, "replay with --collector.peers is done"):
            return
        doc = get_json(port, "/api/v1/peers")
        check_peer_shape(doc)
        check_peer_sums(doc, get_json(port, "/api/v1/processes"))
        check_peer_queries(port, doc)
        r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}",
                            "http://127.0.0.1:%d/api/v1/peers?sort=retransmits&limit=10" % port],
                           capture_output=True, timeout=20)
        body, _, code = r.stdout.rpartition(b"\n")
        check(r.returncode == 0 and code == b"200" and len(json.loads(body)["peers"]) <= 10,
              "curl 'top 10 remote hosts by retransmits'")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    with TestServer("--processes", "10", "--config-json", '{"answer": 42}') as s:
        metrics_endpoint(s.port)
        other_endpoints(s.port)
        curl_every_endpoint(s.port)
        peers_off(s.port)
    replay_with_peers()
    in_flight_cap()
    clean_shutdown()
    start_errors()
    options_and_ipv6()
    finish()


if __name__ == "__main__":
    main()
