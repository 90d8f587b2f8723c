# Sourced by the Wine end-to-end tests (tests/windows/wine_*.sh): finds the cross-built
# tcpip_exporter.exe, makes a throwaway WINEPREFIX with a persistent wineserver, and cleans
# up (wineserver -k, the prefix, any process started here, by PID) on every exit.
#
# Environment: TCPIP_EXPORTER_WIN_EXE (the .exe) or TCPIP_EXPORTER_WIN_BUILD (a cross build
# directory with service/tcpip_exporter.exe); TCPIP_EXPORTER_NATIVE (the native executable,
# set by meson); TCPIP_EXPORTER_SOURCE_ROOT (for ../shared). Missing pieces: exit 77 (skip).
# KEEP_WORK=1 keeps the scratch folder (prefix and logs) for a look after the run.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_ROOT=${TCPIP_EXPORTER_SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
NATIVE=${TCPIP_EXPORTER_NATIVE:-}
WIN_EXE=${TCPIP_EXPORTER_WIN_EXE:-}
if [ -z "$WIN_EXE" ] && [ -n "${TCPIP_EXPORTER_WIN_BUILD:-}" ]; then
    WIN_EXE=$TCPIP_EXPORTER_WIN_BUILD/service/tcpip_exporter.exe
fi
ETL=$SOURCE_ROOT/../shared/data/etl/perfview/net.4.5.2.x64.etl
PY=/usr/bin/python3
WORK=""
NATIVE_PID=""
MAIN_PID=$BASHPID

require_wine() {
    [ -n "$WIN_EXE" ] || skip "no Windows build: set TCPIP_EXPORTER_WIN_BUILD to a mingw-w64 cross build directory (tests/run-all.sh does)"
    [ -f "$WIN_EXE" ] || skip "$WIN_EXE is not built"
    command -v wine >/dev/null || skip "wine is not installed"
    command -v wineserver >/dev/null || skip "wineserver is not installed"
    command -v curl >/dev/null || skip "curl is not installed"
}

require_etl() {
    [ -f "$ETL" ] || skip "$ETL is absent (../shared/data/etl comes with this workplace only)"
}

require_native() {
    [ -n "$NATIVE" ] && [ -x "$NATIVE" ] || skip "TCPIP_EXPORTER_NATIVE does not name the native executable"
}

wine_cleanup() {
    local rc=$?
    # Subshells ($(...)) may run an inherited EXIT trap: only the script itself cleans up.
    [ "$BASHPID" = "$MAIN_PID" ] || return $rc
    if [ -n "$NATIVE_PID" ]; then
        kill "$NATIVE_PID" 2>/dev/null
        wait "$NATIVE_PID" 2>/dev/null
    fi
    if [ -n "$WORK" ]; then
        # Only this prefix's wineserver: WINEPREFIX names it.
        wineserver -k 2>/dev/null
        wineserver -w 2>/dev/null
        if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -d "$WORK/logs" ]; then
            for f in "$WORK"/logs/*; do
                [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }
            done
        fi
        [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
    fi
    exit $rc
}

# Creates the prefix, starts a persistent wineserver (without it a service dies with the
# last wine client) and copies the exe to C:\tcpip_exporter\.
wine_setup() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tcpip-wine.XXXXXX")
    mkdir -p "$WORK/logs"
    export WINEPREFIX=$WORK/prefix WINEDEBUG=-all WINEARCH=win64
    # No Mono/Gecko install dialogs: nothing here needs them.
    export WINEDLLOVERRIDES="mscoree=;mshtml="
    trap wine_cleanup EXIT
    local t0=$SECONDS
    wine wineboot --init >"$WORK/logs/wineboot.log" 2>&1 || fail "wineboot --init failed"
    wineserver -w
    wineserver -p || fail "wineserver -p failed"
    # Start Wine's system processes (services.exe, winedevice...) now, with nothing of ours
    # as their stdout (see sc below). Services inherit services.exe's environment and
    # stderr: with the eventlog debug channel on, every ReportEventW of our service lands in
    # logs/wine-system.log (Wine keeps no Event Log of its own), so tests can read it.
    WINEDEBUG=-all,+eventlog wine cmd /c exit </dev/null >/dev/null 2>"$WORK/logs/wine-system.log"
    note "wine prefix ready in $((SECONDS - t0)) s"
    mkdir -p "$WINEPREFIX/drive_c/tcpip_exporter"
    cp "$WIN_EXE" "$WINEPREFIX/drive_c/tcpip_exporter/tcpip_exporter.exe"
    EXE_WIN='C:\tcpip_exporter\tcpip_exporter.exe'
}

# A Windows path (Z:\...) for a Linux file.
winpath() {
    wine winepath -w "$1" >"$WORK/winepath.out" 2>/dev/null </dev/null
    tr -d '\r' <"$WORK/winepath.out"
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sc without the carriage returns; output also kept in the logs.
# Through a file, not $(...): a Wine system process that a command starts (services.exe on
# the first sc) inherits its stdout, and a pipe would then never reach end-of-file.
sc() {
    local out rc
    wine sc "$@" >"$WORK/sc.out" 2>&1 </dev/null
    rc=$?
    out=$(tr -d '\r' <"$WORK/sc.out")
    printf '$ sc %s\n%s\n(rc %d)\n' "$*" "$out" $rc >>"$WORK/logs/sc.log"
    [ -z "$out" ] || printf '%s\n' "$out"
    return $rc
}

# The STATE number of `sc query` (1 stopped, 2 start pending, 3 stop pending, 4 running).
sc_state() {
    sc query "$1" | awk '/STATE/ { print $3; exit }'
}

# wait_state NAME STATE SECONDS
wait_state() {
    local deadline=$((SECONDS + $3)) state
    while [ $SECONDS -lt $deadline ]; do
        state=$(sc_state "$1")
        [ "$state" = "$2" ] && return 0
        sleep 0.5
    done
    echo "service $1: state ${state:-?} after $3 s, wanted $2" >&2
    sc query "$1" >&2
    return 1
}

# wait_http URL SECONDS: until the URL answers 200.
wait_http() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        curl -sf -o /dev/null --max-time 2 "$1" && return 0
        sleep 0.3
    done
    return 1
}

# Starts the native exporter replaying the same trace on another loopback port.
start_native() {
    NATIVE_PORT=$(free_port)
    "$NATIVE" --etl "$ETL" --web.listen-address "127.0.0.1:$NATIVE_PORT" \
        >"$WORK/logs/native.log" 2>&1 &
    NATIVE_PID=$!
    wait_http "http://127.0.0.1:$NATIVE_PORT/health" 30 || fail "the native exporter did not answer"
}

# compare_with_native PORT: the Windows service's /metrics (per-process series) and
# /api/v1/processes must equal the native replay's, once both replays are done.
compare_with_native() {
    $PY "$HERE/compare_scrapes.py" "http://127.0.0.1:$1" "http://127.0.0.1:$NATIVE_PORT" 60 \
        || fail "the Windows service's numbers differ from the native replay's"
}
