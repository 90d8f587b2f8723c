"""Independent parsers read every family: prometheus_client's text parser and its
OpenMetrics parser (Debian's python3-prometheus-client), and promtool's linter."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, TestServer, check, finish, request  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families as parse_text
    from prometheus_client.openmetrics.parser import \
        text_string_to_metric_families as parse_openmetrics
except ImportError:
    print("python3-prometheus-client is not installed")
    sys.exit(SKIP)

OM_ACCEPT = "application/openmetrics-text;version=1.0.0"
PROCESS_COUNTERS = [
    "tcpip_tcp_sent_bytes", "tcpip_tcp_send_events", "tcpip_tcp_received_bytes",
    "tcpip_tcp_receive_events", "tcpip_tcp_connects", "tcpip_tcp_accepts",
    "tcpip_tcp_disconnects", "tcpip_tcp_retransmits", "tcpip_tcp_retransmitted_bytes",
    "tcpip_tcp_reconnects", "tcpip_tcp_copies", "tcpip_tcp_copied_bytes",
    "tcpip_udp_sent_bytes", "tcpip_udp_sent_datagrams", "tcpip_udp_received_bytes",
    "tcpip_udp_received_datagrams",
]
OTHER = {  # OpenMetrics family name: type
    "tcpip_tcp_connect_failures": "counter",
    "tcpip_exporter_source_up": "gauge",
    "tcpip_exporter_source_status": "info",
    "tcpip_exporter_session_events_lost": "counter",
    "tcpip_exporter_session_buffers_lost": "counter",
    "tcpip_exporter_session_restarts": "counter",
    "tcpip_exporter_events": "counter",
    "tcpip_exporter_records_dropped": "counter",
    "tcpip_exporter_records_short": "counter",
    "tcpip_exporter_processes_tracked": "gauge",
    "tcpip_exporter_table_capacity": "gauge",
    "tcpip_exporter_processes_untracked": "counter",
    "tcpip_exporter_process_instances_retired": "counter",
    "tcpip_exporter_services_hosted": "gauge",
    "tcpip_exporter_services_known": "gauge",
    "tcpip_exporter_service_capacity": "gauge",
    "tcpip_exporter_services_dropped": "counter",
    "tcpip_exporter_service_scans": "counter",
    "tcpip_exporter_build": "info",
    "tcpip_exporter_last_render_duration_seconds": "gauge",
    "tcpip_exporter_scrapes": "counter",
    "tcpip_exporter_http_rejections": "counter",
    "tcpip_exporter_http_connections": "gauge",
    "tcpip_exporter_http_response_memory_bytes": "gauge",
    "tcpip_exporter_http_response_memory_limit_bytes": "gauge",
    "tcpip_exporter_metrics_renders": "counter",
    "tcpip_exporter_metrics_compressions": "counter",
    "tcpip_exporter_metrics_stale_responses": "counter",
}
WEIRD = {'say "hi".exe': 10, "back\\slash.exe": 11, "new\nline.exe": 12, "caf\u00e9.exe": 13,
         "\u65e5\u672c.exe": 14, "PROC0.EXE": 15}


def expected_om(aggregated=False):
    out = {name: "counter" for name in PROCESS_COUNTERS}
    out.update(OTHER)
    if not aggregated:  # one info series per instance; aggregates have no instance
        out["tcpip_process"] = "info"
    return out


def check_text(body, label, aggregated):
    families = {f.name: f for f in parse_text(body.decode())}
    # the text parser strips _total from counter family names, as OpenMetrics names them
    for name, kind in expected_om(aggregated).items():
        text_kind = "gauge" if kind == "info" else kind
        key = name + "_info" if kind == "info" else name
        check(key in families and families[key].type == text_kind,
              "%s: text parser reads %s as %s" % (label, key, text_kind))
        check(key in families and families[key].documentation != "",
              "%s: %s has HELP" % (label, key))
    sent = families["tcpip_tcp_sent_bytes"]
    for s in sent.samples:
        check(("pid" in s.labels) != aggregated and s.labels["family"] in ("ipv4", "ipv6")
              and s.labels.get("service") == "",
              "%s: labels of %s" % (label, dict(s.labels)))
        break
    values = {s.labels["process"]: s.value for s in sent.samples
              if s.labels["family"] == "ipv4"}
    for name, value in WEIRD.items():
        check(values.get(name) == value, "%s: process name %r escaped and read back" %
              (label, name))
    check(len(families) == len(expected_om(aggregated)), "%s: no unexpected families (%d)" %
          (label, len(families)))


def check_openmetrics(body, label, aggregated):
    text = body.decode()
    check(text.endswith("# EOF\n"), label + ": ends with # EOF")
    families = {f.name: f for f in parse_openmetrics(text)}
    for name, kind in expected_om(aggregated).items():
        check(name in families and families[name].type == kind,
              "%s: OpenMetrics parser reads %s as %s" % (label, name, kind))
    check(families["tcpip_tcp_sent_bytes"].unit == "bytes", label + ": UNIT bytes")
    check(families["tcpip_exporter_last_render_duration_seconds"].unit == "seconds",
          label + ": UNIT seconds")
    sample_names = {s.name for s in families["tcpip_tcp_sent_bytes"].samples}
    check(sample_names == {"tcpip_tcp_sent_bytes_total"}, label + ": counter samples _total")
    values = {s.labels["process"]: s.value for s in families["tcpip_tcp_sent_bytes"].samples
              if s.labels["family"] == "ipv4"}
    for name, value in WEIRD.items():
        check(values.get(name) == value, "%s: process name %r read back" % (label, name))


def promtool(body, label):
    tool = shutil.which("promtool")
    if not check(tool is not None, "promtool installed"):
        return
    r = subprocess.run([tool, "check", "metrics"], input=body, capture_output=True)
    check(r.returncode == 0 and r.stdout.strip() == b"" and r.stderr.strip() == b"",
          "%s: promtool check metrics is clean %r" % (label, (r.stdout + r.stderr)[:400]))


def main():
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    for label, extra in (("per-pid", []), ("aggregated", ["--aggregate"])):
        with TestServer("--processes", "50", "--weird-names", *extra) as s:
            status, headers, body = request(s.port, "/metrics")
            check_text(body, label, bool(extra))
            promtool(body, label)
            status, headers, body = request(s.port, "/metrics", headers={"Accept": OM_ACCEPT})
            check(headers["content-type"].startswith("application/openmetrics-text"),
                  label + ": OpenMetrics negotiated")
            check_openmetrics(body, label, bool(extra))
    finish()


if __name__ == "__main__":
    main()
