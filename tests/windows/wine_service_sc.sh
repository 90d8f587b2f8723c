#!/bin/bash
# End to end under Wine, the way an administrator does it with sc.exe: create the service
# with --etl on a real trace and a loopback port, start it, RUNNING, scrape /metrics and
# /api/v1/processes and compare with the native replay of the same trace, stop it (STOPPED,
# exit code 0), delete it.
. "$(dirname "$0")/wine_lib.sh"
require_wine
require_etl
require_native
wine_setup

NAME=tcpip_exporter_test
PORT=$(free_port)
ETL_WIN=$(winpath "$ETL")
sc create $NAME binPath= "$EXE_WIN --etl \"$ETL_WIN\" --web.listen-address 127.0.0.1:$PORT" \
    start= demand >/dev/null || fail "sc create"
sc start $NAME >/dev/null
wait_state $NAME 4 30 || fail "the service did not reach RUNNING"
note "sc query: RUNNING"
wait_http "http://127.0.0.1:$PORT/health" 20 || fail "/health does not answer on port $PORT"

start_native
compare_with_native "$PORT"

sc stop $NAME >/dev/null
wait_state $NAME 1 30 || fail "the service did not reach STOPPED"
query=$(sc query $NAME)
grep -Eq 'WIN32_EXIT_CODE +: 0 ' <<<"$query" || fail "exit code not 0: $query"
grep -Eq 'SERVICE_EXIT_CODE +: 0 ' <<<"$query" || fail "service exit code not 0: $query"
note "sc query: STOPPED, exit code 0"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" || fail "port $PORT still answers after stop"

sc delete $NAME >/dev/null || fail "sc delete"
sc query $NAME | grep -q "SERVICE_NAME" && fail "the service still exists after sc delete"
note "deleted"
