#!/bin/bash
# The MSI (packaging/tcpip_exporter.wxs, built here with wixl -a x64) under Wine: msiexec /i
# installs the service with the flags in TCPIP_EXPORTER_ARGS and starts it (RUNNING, serves
# the same numbers as the native replay) with LICENSE and the third-party notices beside the
# exe, msiexec /x stops it and removes the service, the event source and the files.
. "$(dirname "$0")/wine_lib.sh"
require_wine
require_etl
require_native
command -v wixl >/dev/null || skip "wixl is not installed (Debian package wixl)"
wine_setup

version=$(sed -n "s/^ *version *: *'\([0-9.]*\)'.*/\1/p" "$SOURCE_ROOT/meson.build" | head -n 1)
# wixl resolves File/@Source against the .wxs folder.
mkdir -p "$WORK/msi"
cp "$SOURCE_ROOT/packaging/tcpip_exporter.wxs" "$WIN_EXE" "$SOURCE_ROOT/LICENSE" \
    "$SOURCE_ROOT/THIRD-PARTY-NOTICES.md" "$WORK/msi/"
(cd "$WORK/msi" && wixl -a x64 -D "Version=${version:-0.0.0}" -D Exe=tcpip_exporter.exe \
    -o tcpip_exporter.msi tcpip_exporter.wxs) >"$WORK/logs/wixl.log" 2>&1 \
    || fail "wixl: $(cat "$WORK/logs/wixl.log")"
command -v msiinfo >/dev/null && \
    note "$(msiinfo export "$WORK/msi/tcpip_exporter.msi" ServiceInstall | tail -n 1 | cut -f 2-11)"

PORT=$(free_port)
ETL_WIN=$(winpath "$ETL")
MSI_WIN=$(winpath "$WORK/msi/tcpip_exporter.msi")
wine msiexec /i "$MSI_WIN" /qn \
    "TCPIP_EXPORTER_ARGS=--etl $ETL_WIN --web.listen-address 127.0.0.1:$PORT" \
    >"$WORK/logs/msiexec-i.log" 2>&1 || fail "msiexec /i failed"
[ -f "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/tcpip_exporter.exe" ] \
    || fail "the exe was not installed to Program Files"
for f in LICENSE THIRD-PARTY-NOTICES.md; do
    cmp -s "$SOURCE_ROOT/$f" "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/$f" \
        || fail "$f was not installed beside the exe"
done
wait_state tcpip_exporter 4 30 || fail "the MSI did not start the service"
wait_http "http://127.0.0.1:$PORT/health" 20 || fail "/health does not answer on port $PORT"
start_native
compare_with_native "$PORT"

wine msiexec /x "$MSI_WIN" /qn >"$WORK/logs/msiexec-x.log" 2>&1 || fail "msiexec /x failed"
sc query tcpip_exporter | grep -q SERVICE_NAME && fail "the service still exists after msiexec /x"
[ ! -e "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/tcpip_exporter.exe" ] \
    || fail "the exe is still there after msiexec /x"
[ ! -e "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/LICENSE" ] \
    || fail "LICENSE is still there after msiexec /x"
wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\tcpip_exporter' \
    >/dev/null 2>&1 && fail "the event source is still registered"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" || fail "port $PORT still answers"
note "installed, RUNNING, same numbers as native, removed"
