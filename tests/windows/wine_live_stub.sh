#!/bin/bash
# The live path under Wine's stubbed trace API (StartTrace "succeeds", OpenTrace fails with
# 5, ProcessTrace would return 120): the service starts and reaches RUNNING, /metrics says
# the event source is down and why, the session keeps retrying with back-off while the
# server keeps answering, and the service stops cleanly with exit code 0.
# Also: a second instance on the same session (a --console run on another port) refuses in
# one line without touching the running one; a second service on the same port fails
# start-up with a service-specific code.
. "$(dirname "$0")/wine_lib.sh"
require_wine
wine_setup

NAME=tcpip_exporter_live
PORT=$(free_port)
sc create $NAME binPath= "$EXE_WIN --web.listen-address 127.0.0.1:$PORT --log.level debug --collector.peers --collector.peers.capacity 4096" \
    start= demand >/dev/null || fail "sc create"
sc start $NAME >/dev/null
wait_state $NAME 4 30 || fail "the service did not reach RUNNING"
wait_http "http://127.0.0.1:$PORT/health" 20 || fail "/health does not answer on port $PORT"

# Give the session time for a few attempts (1 s, 2 s back-off), then look.
sleep 4
metrics=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics") || fail "/metrics"
printf '%s\n' "$metrics" >"$WORK/logs/metrics.txt"
grep -Eq '^tcpip_exporter_source_up\{kind="etw"\} 0$' <<<"$metrics" \
    || fail "source_up is not 0 for kind etw: $(grep source_up <<<"$metrics")"
status_line=$(grep '^tcpip_exporter_source_status' <<<"$metrics") || fail "no source_status"
note "$status_line"
grep -Eq 'reason="[^"]*(failed|denied|not implemented)[^"]*"' <<<"$status_line" \
    || fail "the reason does not say what failed: $status_line"
grep -q 'retrying' <<<"$status_line" || fail "the reason does not say it retries: $status_line"
grep -Eq '^tcpip_exporter_session_restarts(_total)? 0$' <<<"$metrics" \
    || fail "failed attempts counted as restarts: $(grep session_restarts <<<"$metrics")"
status_json=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/api/v1/status") || fail "/api/v1/status"
note "status: $(head -c 400 <<<"$status_json")"

# The services of the real SCM reach the table through the scanner, whatever the trace API
# does: the self-metric counts them and /api/v1/services lists this service with its pid.
grep -Eq '^tcpip_exporter_services_hosted [1-9][0-9]*$' <<<"$metrics" \
    || fail "no services counted: $(grep services_hosted <<<"$metrics")"
grep -Eq '^tcpip_exporter_service_scans(_total)? [1-9][0-9]*$' <<<"$metrics" \
    || fail "no SCM scan applied: $(grep service_scans <<<"$metrics")"
services_json=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/api/v1/services") || fail "/api/v1/services"
printf '%s\n' "$services_json" >"$WORK/logs/services.json"
printf '%s\n' "$status_json" >"$WORK/logs/status.json"
found=$(python3 - "$NAME" "$WORK/logs/status.json" "$WORK/logs/services.json" <<'EOF'
import json, sys
status = json.load(open(sys.argv[2]))
services = json.load(open(sys.argv[3]))
mine = [s for s in services if s["name"] == sys.argv[1]]
ok = len(mine) == 1 and mine[0]["pid"] == status["pid"] and mine[0]["display_name"] != ""
print("%s pid %s (exporter pid %s), %d services" % (sys.argv[1], mine[0]["pid"] if mine else "-",
      status["pid"], len(services)) if ok else "")
EOF
)
[ -n "$found" ] || fail "$NAME with the exporter's own pid is not in /api/v1/services: $services_json"
note "services from the SCM: $found"

# The real IP Helper tables: Wine answers GetExtendedTcpTable with owner pid 0 on every row,
# so our own listener is there, in the untracked bucket, and the walk did not fail.
grep -Eq '^tcpip_tcp_connections\{process="<untracked>",pid="",service="",family="ipv4",state="LISTENING"\} [1-9][0-9]*$' <<<"$metrics" \
    || fail "our listener is not among the connections: $(grep '^tcpip_tcp_connections' <<<"$metrics")"
grep -Eq "^tcpip_listening_ports\{process=\"<untracked>\",pid=\"\",service=\"\",protocol=\"tcp\",family=\"ipv4\",port=\"$PORT\"\} 1$" <<<"$metrics" \
    || fail "port $PORT is not among the listeners: $(grep '^tcpip_listening_ports' <<<"$metrics")"
grep -Eq '^tcpip_exporter_connection_scan_failures(_total)? 0$' <<<"$metrics" \
    || fail "the IP Helper walk failed: $(grep connection_scan <<<"$metrics")"
# Remote peers on (no events reach the stubbed session, so the store is empty): its figures
# on /metrics and /api/v1/peers, as the flags set them.
grep -Eq '^tcpip_exporter_peer_capacity 4096$' <<<"$metrics" \
    || fail "peer capacity not 4096: $(grep peer_capacity <<<"$metrics")"
peers_json=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/api/v1/peers?sort=retransmits&limit=10") \
    || fail "/api/v1/peers"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["store"]["capacity"]==4096 and d["peers"]==[], d' \
    "$peers_json" || fail "/api/v1/peers: $peers_json"
if command -v promtool >/dev/null; then
    lint=$(promtool check metrics <"$WORK/logs/metrics.txt" 2>&1) \
        || fail "promtool check metrics on the live output: $lint"
    [ -z "$lint" ] || fail "promtool check metrics on the live output: $lint"
fi
note "IP Helper under Wine: $(grep -c '^tcpip_tcp_connections{' <<<"$metrics") connection series, $(grep '^tcpip_exporter_connections_untracked' <<<"$metrics")"
[ "$(sc_state $NAME)" = 4 ] || fail "the service is no longer RUNNING"

# The session is ours: a console run beside the service with the same session name refuses
# within 10 s, says why in one line, and leaves the service and its session alone.
PORT2=$(free_port)
t0=$SECONDS
timeout 10 wine "$WIN_EXE" --console --web.listen-address "127.0.0.1:$PORT2" \
    >"$WORK/logs/second-console.out" 2>"$WORK/logs/second-console.err"
rc=$?
grep -v '^[0-9a-f]*:\(fixme\|err\|warn\):' "$WORK/logs/second-console.err" \
    >"$WORK/logs/second-console.lines" || true
[ "$rc" -ne 124 ] || fail "the second instance was still running after 10 s"
[ "$rc" -eq 3 ] || fail "the second instance exited $rc, expected 3 (start-up failed)"
[ "$(wc -l <"$WORK/logs/second-console.lines")" -eq 1 ] \
    || fail "the second instance did not say why in one line: $(cat "$WORK/logs/second-console.lines")"
# (Wine reports Windows 7, so auto resolves to the NT Kernel Logger.)
grep -q 'another tcpip_exporter is running with the session "' \
    "$WORK/logs/second-console.lines" || fail "unexpected refusal: $(cat "$WORK/logs/second-console.lines")"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT2/health" \
    || fail "the refused instance serves on $PORT2"
[ "$(sc_state $NAME)" = 4 ] || fail "the service is no longer RUNNING after the second instance"
after=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics") || fail "/metrics after the second instance"
grep -Eq '^tcpip_exporter_session_restarts(_total)? 0$' <<<"$after" \
    || fail "the service's session restarted: $(grep session_restarts <<<"$after")"
note "second instance on the same session: exit 3 in $((SECONDS - t0)) s: $(cat "$WORK/logs/second-console.lines")"

# The port is ours: a second service (with its own session name) must fail start-up, visibly.
sc create ${NAME}_2 binPath= "$EXE_WIN --web.listen-address 127.0.0.1:$PORT --session.kind system-logger --session.name second" \
    start= demand >/dev/null || fail "sc create (second)"
sc start ${NAME}_2 >/dev/null
wait_state ${NAME}_2 1 30 || fail "the second service did not stop after failing"
query=$(sc query ${NAME}_2)
grep -Eq 'WIN32_EXIT_CODE +: 1066 ' <<<"$query" \
    || fail "start-up failure not reported as ERROR_SERVICE_SPECIFIC_ERROR: $query"
grep -Eq 'SERVICE_EXIT_CODE +: 3 ' <<<"$query" || fail "service-specific code not 3: $query"
note "second service on the same port: STOPPED, 1066, service-specific code 3"
sc delete ${NAME}_2 >/dev/null || fail "sc delete (second)"
curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/health" || fail "the first service stopped serving"

# A bad flag in binPath: STOPPED with service-specific code 2 and the reason logged.
sc create ${NAME}_bad binPath= "$EXE_WIN --web.listen-address nonsense" start= demand >/dev/null \
    || fail "sc create (bad)"
sc start ${NAME}_bad >/dev/null
wait_state ${NAME}_bad 1 30 || fail "the misconfigured service did not stop"
query=$(sc query ${NAME}_bad)
grep -Eq 'WIN32_EXIT_CODE +: 1066 ' <<<"$query" && grep -Eq 'SERVICE_EXIT_CODE +: 2 ' <<<"$query" \
    || fail "bad configuration not reported as service-specific code 2: $query"
sc delete ${NAME}_bad >/dev/null || fail "sc delete (bad)"
note "misconfigured service: STOPPED, 1066, service-specific code 2"

t0=$SECONDS
sc stop $NAME >/dev/null
wait_state $NAME 1 30 || fail "the service did not reach STOPPED"
query=$(sc query $NAME)
grep -Eq 'WIN32_EXIT_CODE +: 0 ' <<<"$query" || fail "exit code not 0: $query"
note "stopped in $((SECONDS - t0)) s with exit code 0"

# It logged to the Event Log as a service (ReportEventW), errors with their code and text.
events=$WORK/logs/wine-system.log
grep -aq 'ReportEventW L"service: running"' "$events" || fail "no 'service: running' event"
grep -aq 'err:eventlog:ReportEventW L"live session: opening the real-time consumer failed: 5 (' "$events" \
    || fail "the session failure was not reported as an error event"
grep -aq 'ReportEventW L"service: stopped (exit code 0)"' "$events" || fail "no 'stopped' event"
grep -aq 'ReportEventW L"service: start-up failed: ' "$events" \
    || fail "the second service's start-up failure was not reported"
grep -aq 'err:eventlog:ReportEventW L"service: bad configuration: --web.listen-address' "$events" \
    || fail "the bad configuration was not reported"
note "Event Log: $(grep -ac ReportEventW "$events") events reported, e.g. $(grep -a -m1 'start-up failed' "$events" | sed 's/.*ReportEventW //')"
sc delete $NAME >/dev/null || fail "sc delete"
