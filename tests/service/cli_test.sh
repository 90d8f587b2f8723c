#!/bin/bash
# End-to-end tests of the tcpip_exporter command line (meson suite 'cli').
#   cli_test.sh EXE CASE ETL_DATA_DIR SCRATCH_DIR
# Every exporter this script starts listens on 127.0.0.1 only, is stopped by its own PID
# and is killed (by PID) on exit if a check failed first. Exit 77 = skipped.
set -u

EXE=$1
CASE=$2
ETL_DIR=$3
SCRATCH=$4/cli-$CASE
mkdir -p "$SCRATCH"
OUT=$SCRATCH/stdout
ERR=$SCRATCH/stderr
PID=
HOLDER_PID=

cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    [ -n "$HOLDER_PID" ] && kill -KILL "$HOLDER_PID" 2>/dev/null
    return 0
}
trap cleanup EXIT

fail() {
    echo "FAIL ($CASE): $*" >&2
    for f in "$OUT" "$ERR"; do
        [ -s "$f" ] && { echo "--- $f:" >&2; head -c 4000 "$f" >&2; }
    done
    exit 1
}

need_etl() {
    X64=$ETL_DIR/perfview/net.4.5.2.x64.etl
    if [ ! -f "$X64" ]; then
        echo "SKIP: $X64 is absent (the shared trace folder ../shared is not next to the project)"
        exit 77
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

line_count() { wc -l < "$1" | tr -d ' '; }

# Runs the exporter to completion (within RUN_TIMEOUT seconds, 20 by default); sets RC.
run() {
    # bounded: a run that should end at once but serves instead must fail, not hang
    timeout "${RUN_TIMEOUT:-20}" "$EXE" "$@" > "$OUT" 2> "$ERR" < /dev/null
    RC=$?
    [ "$RC" -ne 124 ] || fail "still running after ${RUN_TIMEOUT:-20} s: $*"
}

# Starts the exporter in the background on a free loopback port (PORT) and waits until
# /health answers. A port taken between picking and binding is retried with another.
start() {
    for attempt in 1 2 3; do
        PORT=$(free_port)
        "$EXE" --web.listen-address "127.0.0.1:$PORT" "$@" > "$OUT" 2> "$ERR" < /dev/null &
        PID=$!
        for _ in $(seq 1 100); do
            if curl -sf --max-time 1 "http://127.0.0.1:$PORT/health" > /dev/null 2>&1; then
                return 0
            fi
            if ! kill -0 "$PID" 2>/dev/null; then
                break
            fi
            sleep 0.1
        done
        if kill -0 "$PID" 2>/dev/null; then
            fail "/health did not answer within 10 s"
        fi
        wait "$PID"
        PID=
        grep -qi "in use" "$ERR" || fail "the exporter exited during start-up"
    done
    fail "no free port after 3 attempts"
}

# Sends SIGNAL (default TERM), then expects the process to end by itself within 10 s;
# sets RC.
stop() {
    local signal=${1:-TERM}
    kill -"$signal" "$PID" || fail "cannot signal $PID"
    for _ in $(seq 1 100); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$PID" 2>/dev/null; then
        fail "still running 10 s after SIG$signal"
    fi
    wait "$PID"
    RC=$?
    PID=
}

get() { # PATH -> body in $SCRATCH/body, status code in CODE
    CODE=$(curl -s --max-time 5 -o "$SCRATCH/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1")
}

# Polls /metrics for up to 10 s until its body matches PATTERN (grep); the last answer
# stays in $SCRATCH/body and CODE.
wait_metrics() {
    for _ in $(seq 1 100); do
        get /metrics
        grep -q -- "$1" "$SCRATCH/body" && return 0
        sleep 0.1
    done
    return 1
}

expect_one_line_error() { # expected-exit-code pattern
    [ "$RC" -eq "$1" ] || fail "exit code $RC, expected $1"
    [ "$(line_count "$ERR")" -eq 1 ] || fail "stderr has $(line_count "$ERR") lines, expected 1"
    grep -q -- "$2" "$ERR" || fail "stderr does not match '$2'"
    [ ! -s "$OUT" ] || fail "stdout is not empty"
}

case $CASE in
help)
    run --help
    [ "$RC" -eq 0 ] || fail "exit code $RC"
    grep -q "^Usage: tcpip_exporter" "$OUT" || fail "no usage line"
    grep -q -- "--web.listen-address" "$OUT" || fail "help does not list --web.listen-address"
    [ ! -s "$ERR" ] || fail "stderr is not empty"
    run -h
    [ "$RC" -eq 0 ] && grep -q "^Usage:" "$OUT" || fail "-h did not print the help"
    ;;
version)
    run --version
    [ "$RC" -eq 0 ] || fail "exit code $RC"
    grep -Eq '^tcpip_exporter [0-9]+\.[0-9]+\.[0-9]+$' "$OUT" || fail "unexpected version line"
    [ "$(line_count "$OUT")" -eq 1 ] || fail "more than one line"
    [ ! -s "$ERR" ] || fail "stderr is not empty"
    ;;
bad-flags)
    run --no-such-flag
    expect_one_line_error 2 "unknown flag --no-such-flag"
    run --web.listen-address localhost:9731
    expect_one_line_error 2 '^tcpip_exporter: --web.listen-address: "localhost:9731": the host must be an IP address'
    run --collector.retention 10
    expect_one_line_error 2 '^tcpip_exporter: --collector.retention: "10" is not a duration'
    run --collector.capacity=abc
    expect_one_line_error 2 '^tcpip_exporter: --collector.capacity: "abc" is not a whole number'
    # a newline or a terminal escape in a value stays visible, on the one line
    run --collector.capacity "$(printf '1\n\033[31m')"
    expect_one_line_error 2 '^tcpip_exporter: --collector.capacity: "1\\n\\x1b\[31m" is not a whole number$'
    run --summary
    expect_one_line_error 2 'needs at least one --etl FILE'
    run --etl
    expect_one_line_error 2 '^tcpip_exporter: --etl: needs a value (FILE)$'
    printf '{"collector.capacity": 64,\n "console": tru}\n' > "$SCRATCH/bad.json"
    run --config.file "$SCRATCH/bad.json"
    expect_one_line_error 2 "bad.json: not valid JSON at line 2, column "
    printf '{"colector.capacity": 64}\n' > "$SCRATCH/typo.json"
    run --config.file "$SCRATCH/typo.json"
    expect_one_line_error 2 'typo.json: unknown key "colector.capacity"'
    ;;
serve-etl)
    need_etl
    start --etl "$X64"
    # the replay finishes quickly; wait for it, then check what is served
    wait_metrics 'state="replay_done"'
    [ "$CODE" = 200 ] || fail "/metrics answered $CODE"
    cp "$SCRATCH/body" "$SCRATCH/metrics.txt"
    grep -q '^tcpip_exporter_source_up{kind="etl"} 1$' "$SCRATCH/metrics.txt" ||
        fail "source_up is not 1 for the replay"
    grep -q 'state="replay_done"' "$SCRATCH/metrics.txt" || fail "the replay did not finish"
    grep -Eq '^tcpip_[a-z_]+\{[^}]*pid="[0-9]+"[^}]*family="ipv6"' "$SCRATCH/metrics.txt" ||
        grep -Eq '^tcpip_[a-z_]+\{[^}]*family="ipv6"[^}]*pid="[0-9]+"' "$SCRATCH/metrics.txt" ||
        fail "no per-process IPv6 series"
    # the trace holds 240 TcpIp SendIPV6 events (see ../shared/data/etl/README.md)
    sends=$(awk '/^tcpip_tcp_send_events(_total)?\{/ && /family="ipv6"/ { s += $NF } END { print s + 0 }' \
        "$SCRATCH/metrics.txt")
    [ "$sends" = 240 ] || fail "IPv6 send events summed over processes: $sends, expected 240"
    get /health
    [ "$CODE" = 200 ] || fail "/health answered $CODE"
    grep -q '"status"' "$SCRATCH/body" || fail "/health body: $(cat "$SCRATCH/body")"
    get /api/v1/status
    [ "$CODE" = 200 ] || fail "/api/v1/status answered $CODE"
    grep -q '"collector.capacity"' "$SCRATCH/body" || fail "/api/v1/status lacks the config in effect"
    stop
    [ "$RC" -eq 0 ] || fail "exit code $RC after SIGTERM, expected 0"
    grep -q "serving http://127.0.0.1:$PORT/metrics" "$ERR" || fail "the URL served was not logged"
    ;;
sigint)
    start
    stop INT
    [ "$RC" -eq 0 ] || fail "exit code $RC after SIGINT, expected 0"
    ;;
port-in-use)
    # a listener of our own holds a loopback port; the exporter must refuse it in one line
    python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(30)' > "$SCRATCH/holder" &
    HOLDER_PID=$!
    for _ in $(seq 1 50); do [ -s "$SCRATCH/holder" ] && break; sleep 0.1; done
    PORT=$(head -n1 "$SCRATCH/holder")
    [ -n "$PORT" ] || fail "the port holder did not start"
    run --web.listen-address "127.0.0.1:$PORT"
    [ "$RC" -eq 3 ] || fail "exit code $RC although the port is taken, expected 3 (start-up failed)"
    [ "$(line_count "$ERR")" -eq 1 ] || fail "stderr has $(line_count "$ERR") lines, expected 1"
    grep -q "$PORT" "$ERR" || fail "the error line does not name the port"
    kill -KILL "$HOLDER_PID"
    HOLDER_PID=
    ;;
no-source)
    # no --etl on a system without the live session: serve anyway, say why the source is down
    case "$(uname -s)" in MINGW*|MSYS*|CYGWIN*) echo "SKIP: live sessions exist here"; exit 77;; esac
    start
    get /metrics
    [ "$CODE" = 200 ] || fail "/metrics answered $CODE"
    grep -q '^tcpip_exporter_source_up{kind="etw"} 0$' "$SCRATCH/body" ||
        fail "source_up is not 0 for the missing live session"
    grep -q 'needs Windows; use --etl FILE' "$SCRATCH/body" || fail "/metrics does not say why"
    get /api/v1/status
    grep -q 'needs Windows; use --etl FILE' "$SCRATCH/body" || fail "/api/v1/status does not say why"
    get /health
    [ "$CODE" = 200 ] || fail "/health answered $CODE"
    stop
    [ "$RC" -eq 0 ] || fail "exit code $RC after SIGTERM, expected 0"
    grep -q "needs Windows" "$ERR" || fail "the reason was not logged"
    ;;
serve-damaged)
    # a damaged replay still serves what it read, says so, and ends with exit code 5
    need_etl
    head -c 100000 "$X64" > "$SCRATCH/cut.etl"
    start --etl "$SCRATCH/cut.etl"
    wait_metrics 'state="replay_damaged"'
    grep -q 'state="replay_damaged"' "$SCRATCH/body" || fail "no replay_damaged state"
    grep -q '^tcpip_exporter_source_up{kind="etl"} 1$' "$SCRATCH/body" ||
        fail "source_up is not 1 for the data read before the damage"
    grep -q 'reason="[^"]*cut.etl: offset [0-9]' "$SCRATCH/body" || fail "the reason does not name file and offset"
    stop
    [ "$RC" -eq 5 ] || fail "exit code $RC after SIGTERM, expected 5 (damaged trace)"
    ;;
serve-not-etl)
    printf 'this is not a trace\n%.0s' $(seq 1 200) > "$SCRATCH/not.etl"
    start --etl "$SCRATCH/not.etl"
    wait_metrics '^tcpip_exporter_source_up{kind="etl"} 0$'
    grep -q '^tcpip_exporter_source_up{kind="etl"} 0$' "$SCRATCH/body" || fail "source_up is not 0"
    grep -q 'not an ETL file' "$SCRATCH/body" || fail "/metrics does not say why"
    stop
    [ "$RC" -eq 4 ] || fail "exit code $RC after SIGTERM, expected 4 (not an ETL trace)"
    ;;
missing-etl)
    run --etl "$SCRATCH/does-not-exist.etl" --web.listen-address 127.0.0.1:1
    expect_one_line_error 3 "does-not-exist.etl: cannot open"
    ;;
not-regular)
    # FIFOs, directories and devices are refused at once, in one line: opening a FIFO must
    # not wait for a writer, and /dev/zero is not an "empty" trace
    rm -f "$SCRATCH/fifo"
    mkfifo "$SCRATCH/fifo" || fail "cannot make a FIFO"
    printf '{}' > "$SCRATCH/ok.json"
    RUN_TIMEOUT=5
    run --config.file "$SCRATCH/fifo"
    expect_one_line_error 2 "^tcpip_exporter: --config.file: $SCRATCH/fifo: is not a regular file (a FIFO, device or socket)\$"
    run --config.file "$SCRATCH"
    expect_one_line_error 2 "^tcpip_exporter: --config.file: $SCRATCH: is a directory\$"
    run --config.file /dev/null
    expect_one_line_error 2 "^tcpip_exporter: --config.file: /dev/null: is not a regular file"
    run --etl "$SCRATCH/fifo" --web.listen-address 127.0.0.1:1
    expect_one_line_error 3 "^tcpip_exporter: --etl: $SCRATCH/fifo: is not a regular file"
    run --etl "$SCRATCH" --web.listen-address 127.0.0.1:1
    expect_one_line_error 3 "^tcpip_exporter: --etl: $SCRATCH: is a directory\$"
    run --etl /dev/zero --summary
    expect_one_line_error 4 "^tcpip_exporter: /dev/zero: is not a regular file (a FIFO, device or socket)\$"
    run --etl "$SCRATCH/fifo" --summary
    expect_one_line_error 4 "^tcpip_exporter: $SCRATCH/fifo: is not a regular file"
    ;;
stop-long-replay)
    # A trace whose logfile header does not count its buffers, followed by 1 TB of zeros
    # (a sparse file): checking them takes minutes, and a stop must not wait for that.
    need_etl
    python3 - "$X64" "$SCRATCH/long.etl" <<'PY' || fail "cannot write the long trace"
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", data, 72 + 32 + 0x24, 0)   # BuffersWritten of the logfile header
with open(sys.argv[2], "wb") as f:
    f.write(data)
    f.truncate(len(data) + (1 << 40))
PY
    start --etl "$SCRATCH/long.etl"
    sleep 0.5
    get /metrics
    grep -q 'replaying 1 file' "$SCRATCH/body" || fail "the replay is not running: $(grep reason "$SCRATCH/body")"
    kill -TERM "$PID"
    for _ in $(seq 1 10); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$PID" 2>/dev/null && fail "still running 1 s after SIGTERM during a replay"
    wait "$PID"
    RC=$?
    PID=
    [ "$RC" -eq 0 ] || fail "exit code $RC after a stop during the replay, expected 0"
    grep -q "replay stopped on request" "$ERR" || fail "the stopped replay was not logged"
    rm -f "$SCRATCH/long.etl"
    ;;
summary)
    need_etl
    run --etl "$X64" --summary
    [ "$RC" -eq 0 ] || fail "exit code $RC"
    [ "$(line_count "$OUT")" -gt 3 ] || fail "the summary is too short"
    grep -qi "pid" "$OUT" || fail "no header row naming PID"
    [ ! -s "$ERR" ] || fail "stderr is not empty without a terminal"
    ;;
summary-not-etl)
    printf 'this is not a trace\n%.0s' $(seq 1 200) > "$SCRATCH/not.etl"
    run --etl "$SCRATCH/not.etl" --summary
    expect_one_line_error 4 "not.etl"
    ;;
summary-damaged)
    need_etl
    # the first 100000 bytes: whole buffers, then one cut short
    head -c 100000 "$X64" > "$SCRATCH/cut.etl"
    run --etl "$SCRATCH/cut.etl" --summary
    [ "$RC" -eq 5 ] || fail "exit code $RC, expected 5 (damaged trace)"
    [ "$(line_count "$ERR")" -eq 1 ] || fail "stderr has $(line_count "$ERR") lines, expected 1"
    grep -q "cut.etl" "$ERR" && grep -qi "offset" "$ERR" || fail "the error does not name file and offset"
    [ -s "$OUT" ] || fail "no summary of what was read before the damage"
    ;;
*)
    echo "unknown case $CASE" >&2
    exit 2
    ;;
esac
echo "ok ($CASE)"
exit 0
