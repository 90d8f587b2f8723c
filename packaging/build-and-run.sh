#!/bin/bash
# Builds everything (native Linux and Windows x86-64) and runs the main job: tcpip_exporter
# replaying a kernel trace recorded by Windows and serving its per-process TCP/IP counters on
# http://127.0.0.1:9731/metrics until Ctrl-C.
#
# Usage: packaging/build-and-run.sh [--wine] [-- EXTRA EXPORTER FLAGS...]
#   --wine   serve from the Windows build (tcpip_exporter.exe under Wine) instead of the
#            native one
#
# Environment: BUILD_PREFIX (default build/: build/native, build/win, shared with
# tests/run-all.sh), LISTEN (default 127.0.0.1:9731), ETL (a trace of your own).
#
# Missing Debian packages are installed when run as root (packaging/install-build-deps.sh);
# otherwise that script prints the exact apt-get line to run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_PREFIX=${BUILD_PREFIX:-$ROOT/build/}
LISTEN=${LISTEN:-127.0.0.1:9731}
NATIVE=${BUILD_PREFIX}native
WIN=${BUILD_PREFIX}win
USE_WINE=no

step() { printf '\n== %s\n' "$*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --wine) USE_WINE=yes; shift ;;
        --) shift; break ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

step "dependencies"
"$ROOT/packaging/install-build-deps.sh"

# The Windows build runs .exe files under Wine already at set-up (meson's compiler check); keep
# Wine's state inside the build directory.
export WINEPREFIX=$WIN/wineprefix WINEDEBUG=-all

step "native build ($NATIVE)"
[ -f "$NATIVE/build.ninja" ] || meson setup "$NATIVE" "$ROOT"
ninja -C "$NATIVE"

step "Windows x86-64 build ($WIN)"
mkdir -p "$WIN"
"$ROOT/packaging/build-windows-deps.sh" "$WIN/windows-deps"
[ -f "$WIN/build.ninja" ] || meson setup --cross-file "$ROOT/packaging/mingw-w64-x86_64.ini" "$WIN" "$ROOT"
ninja -C "$WIN"
echo "Windows executable: $WIN/service/tcpip_exporter.exe"

# A real trace recorded by Windows when the workplace's shared data is beside the clone;
# otherwise a trace made by the project's own ETL writer (tests/etl/make_corpus.c): 64-bit
# headers, TcpIp and Process events of a few named processes.
if [ -z "${ETL:-}" ]; then
    ETL=$ROOT/../shared/data/etl/perfview/net.4.5.2.x64.etl
    if [ ! -f "$ETL" ]; then
        echo "($ETL is absent; using the generated trace instead)"
        ETL=$ROOT/tests/etl/corpus/mixed64.etl
    fi
fi
[ -f "$ETL" ] || { echo "no trace at $ETL; set ETL=/path/to/file.etl" >&2; exit 1; }
ETL=$(cd "$(dirname "$ETL")" && pwd)/$(basename "$ETL")

# A paced replay in a loop, so rate() and a dashboard show live numbers; not next to flags
# that ask for another kind of replay (--summary prints once, --etl.* says how itself).
REPLAY_FLAGS=(--etl.loop)
for flag in "$@"; do
    case $flag in --summary | --summary=* | --etl.loop* | --etl.pace*) REPLAY_FLAGS=() ;; esac
done

step "running the exporter"
echo "Replaying $ETL${REPLAY_FLAGS[*]:+ in a loop, in real time}"
echo "Serving on http://$LISTEN/metrics; in another terminal:"
echo "    curl http://$LISTEN/metrics"
echo "Ctrl-C stops it."
if [ "$USE_WINE" = yes ]; then
    [ -f "$WINEPREFIX/system.reg" ] || { wineboot --init && wineserver -w; }
    exec wine "$WIN/service/tcpip_exporter.exe" --console --etl "$(winepath -w "$ETL")" \
        "${REPLAY_FLAGS[@]}" --web.listen-address "$LISTEN" "$@"
fi
exec "$NATIVE/service/tcpip_exporter" --etl "$ETL" "${REPLAY_FLAGS[@]}" --web.listen-address "$LISTEN" \
    "$@"
