"""Every expression we ship must parse and return data from a real exporter, so that no
metric-name typo can hide in a dashboard or an alert that only fires on a bad day.

A real Prometheus (Debian's) scrapes, every second, the real tcpip_exporter replaying
../shared/data/etl/perfview/net.4.5.2.x64.etl (job "replay"; skipped, saying so, without
../shared) and the test server with a made-up table where every counter moves (job "test"),
and loads packaging/prometheus/recording_rules.yml and alert_rules.yml. Then:
  1. every tcpip_* metric name in the rules and the dashboard is one the exporter serves;
  2. every recording rule and alert rule is loaded and evaluates without error;
  3. every recorded series exists; every alert's expression, less its final comparison
     with a number, returns data;
  4. every panel query and template-variable query of packaging/grafana/tcpip_exporter.json
     returns data, with $job, $instance and $process set to All and $__rate_interval 1m.
Prometheus and the exporter run on free loopback ports and are stopped by their PIDs."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "exporter"))
from harness import (SKIP, TestServer, check, finish, free_port, request,  # noqa: E402
                     wait_for)

SOURCE_ROOT = os.environ.get("SOURCE_ROOT", os.path.join(HERE, "..", ".."))
RULE_FILES = [os.path.join(SOURCE_ROOT, "packaging", "prometheus", name)
              for name in ("recording_rules.yml", "alert_rules.yml")]
DASHBOARD = os.path.join(SOURCE_ROOT, "packaging", "grafana", "tcpip_exporter.json")
ETL = os.path.join(SOURCE_ROOT, "..", "shared", "data", "etl", "perfview",
                   "net.4.5.2.x64.etl")
# What a comparison with a number at the end of an alert expression looks like.
FINAL_COMPARISON = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*[0-9.eE+-]+\s*$")
METRIC_NAME = re.compile(r"\btcpip_[a-z0-9_]+\b")


def api(port, path, params=None):
    url = "http://127.0.0.1:%d%s" % (port, path)
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:   # a bad query: 400 with the parser's message
        return json.load(e)


def query(port, promql):
    """(result list, error message or None)."""
    doc = api(port, "/api/v1/query", {"query": promql})
    if doc.get("status") != "success":
        return [], doc.get("error", "no answer")
    return doc["data"]["result"], None


def load_rules():
    recording, alerts = [], []
    for path in RULE_FILES:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for group in doc["groups"]:
            for rule in group["rules"]:
                (recording if "record" in rule else alerts).append(rule)
    return recording, alerts


def dashboard_queries():
    """(where, PromQL) for every panel target and template variable."""
    with open(DASHBOARD) as f:
        doc = json.load(f)
    found = []
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            found.append(("panel %r %s" % (panel["title"], target["refId"]), target["expr"]))
    for var in doc["templating"]["list"]:
        if var["type"] != "query":
            continue
        inner = re.fullmatch(r"label_values\((.*),\s*([a-z_]+)\)", var["query"]["query"])
        if check(inner is not None, "variable %s is label_values(selector, label)"
                 % var["name"]):
            found.append(("variable %s" % var["name"], inner.group(1)))
    return found


def with_all(promql):
    promql = promql.replace("$__rate_interval", "1m")
    return re.sub(r"\$(job|instance|process)\b", ".*", promql)


def served_names(ports):
    names = set()
    for port in ports:
        _, _, body = request(port, "/metrics")
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def start_prometheus(tmp, jobs):
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                   "evaluation_interval": "1s"},
        "rule_files": RULE_FILES,
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                           for job, target in jobs.items()],
    }
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
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


def check_names(recording, alerts, dashboard, served):
    used = set()
    for rule in recording + alerts:
        used |= set(METRIC_NAME.findall(rule["expr"]))
    for _, promql in dashboard:
        used |= set(METRIC_NAME.findall(promql))
    unknown = sorted(used - served)
    check(not unknown, "every metric name used (%d) is served%s"
          % (len(used), ": not %s" % unknown if unknown else ""))


def rules_healthy(pport, count):
    groups = api(pport, "/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    return len(rules) == count and all(r["health"] == "ok" for r in rules), rules


def check_rules(pport, recording, alerts):
    count = len(recording) + len(alerts)
    ok = wait_for(lambda: rules_healthy(pport, count)[0], 30)
    _, rules = rules_healthy(pport, count)
    bad = ["%s: %s %s" % (r["name"], r["health"], r.get("lastError", ""))
           for r in rules if r["health"] != "ok"]
    check(ok, "Prometheus loaded and evaluated all %d rules (%d found)%s"
          % (count, len(rules), "; " + "; ".join(bad) if bad else ""))
    for rule in recording:
        result, error = query(pport, rule["record"])
        check(result, "recorded %s has data%s" % (rule["record"],
                                                   " (%s)" % error if error else ""))
    for rule in alerts:
        expr = FINAL_COMPARISON.sub("", rule["expr"].strip())
        if not check(expr != rule["expr"].strip(),
                     "alert %s ends in a comparison with a number" % rule["alert"]):
            continue
        result, error = query(pport, expr)
        check(result, "alert %s: %s returns data%s"
              % (rule["alert"], " ".join(expr.split()), " (%s)" % error if error else ""))


def check_dashboard(pport, dashboard):
    for where, promql in dashboard:
        result, error = query(pport, with_all(promql))
        check(result, "dashboard %s returns data%s" % (where, " (%s)" % error if error else ""))


def main():
    if shutil.which("prometheus") is None or not os.path.exists(
            os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("needs Debian's prometheus and EXPORTER_TEST_SERVER")
        sys.exit(SKIP)
    exporter = os.environ.get("TCPIP_EXPORTER", "")
    recording, alerts = load_rules()
    dashboard = dashboard_queries()
    replay = None
    jobs = {}
    with tempfile.TemporaryDirectory(prefix="rules-live-") as tmp, \
            TestServer("--processes", "20") as server:
        jobs["test"] = "127.0.0.1:%d" % server.port
        if os.path.exists(ETL) and os.path.exists(exporter):
            xport = free_port()
            replay = subprocess.Popen([exporter, "--etl", ETL, "--web.listen-address",
                                       "127.0.0.1:%d" % xport], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            jobs["replay"] = "127.0.0.1:%d" % xport
            wait_for(lambda: replay.poll() is not None or request(xport, "/health")[0] == 200,
                     20)
        else:
            print("note: the replay job is left out: %s or %s is absent" % (ETL, exporter))
        proc, pport, log = start_prometheus(tmp, jobs)
        try:
            check_names(recording, alerts, dashboard,
                        served_names([int(t.rsplit(":", 1)[1]) for t in jobs.values()]))
            # rate() and increase() need two samples of each series: wait for the third scrape
            up = wait_for(lambda: len(query(pport, 'count_over_time(up[1m]) >= 3')[0])
                          == len(jobs), 60)
            if check(up, "Prometheus scraped every job three times: %s" % sorted(jobs)):
                time.sleep(1.5)   # and a rule evaluation after it
                check_rules(pport, recording, alerts)
                check_dashboard(pport, dashboard)
            else:
                with open(os.path.join(tmp, "prometheus.log")) as f:
                    print(f.read()[-3000:])
        finally:
            stop(proc)
            log.close()
            if replay is not None:
                stop(replay)
    finish()


if __name__ == "__main__":
    main()
