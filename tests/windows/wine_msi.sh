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
version=${version:-0.0.0}
# The same package one patch version later, to upgrade to (and downgrade from).
next_version=$(echo "$version" | awk -F. '{ printf "%d.%d.%d", $1, $2, $3 + 1 }')
# wixl resolves File/@Source against the .wxs folder.
mkdir -p "$WORK/msi"
cp "$SOURCE_ROOT/packaging/tcpip_exporter.wxs" "$WIN_EXE" "$SOURCE_ROOT/LICENSE" \
    "$SOURCE_ROOT/THIRD-PARTY-NOTICES.md" "$WORK/msi/"
build_msi() { # VERSION OUTPUT
    (cd "$WORK/msi" && wixl -a x64 -D "Version=$1" -D Exe=tcpip_exporter.exe \
        -o "$2" tcpip_exporter.wxs) >"$WORK/logs/wixl.log" 2>&1 \
        || fail "wixl: $(cat "$WORK/logs/wixl.log")"
}
build_msi "$version" tcpip_exporter.msi
build_msi "$next_version" tcpip_exporter-next.msi
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

# Installed products named tcpip_exporter, as "ProductCode DisplayVersion" lines.
installed_products() {
    wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null \
        | tr -d '\r' | awk '
            /^HKEY/ { key = $0; sub(/.*\\/, "", key); name = ""; ver = "" }
            $1 == "DisplayName" { name = $3 }
            $1 == "DisplayVersion" { ver = $3 }
            name == "tcpip_exporter" && ver != "" { print key, ver; name = "" }'
}
[ "$(installed_products | wc -l)" -eq 1 ] || fail "not one product installed: $(installed_products)"

# Upgrade: the newer package replaces the older in one step; one product owns the service.
NEXT_WIN=$(winpath "$WORK/msi/tcpip_exporter-next.msi")
PORT2=$(free_port)
wine msiexec /i "$NEXT_WIN" /qn \
    "TCPIP_EXPORTER_ARGS=--etl $ETL_WIN --web.listen-address 127.0.0.1:$PORT2" \
    >"$WORK/logs/msiexec-upgrade.log" 2>&1 || fail "msiexec /i of $next_version failed"
products=$(installed_products)
[ "$(echo "$products" | wc -l)" -eq 1 ] && echo "$products" | grep -q " $next_version\$" \
    || fail "after the upgrade to $next_version, installed: $products"
wait_state tcpip_exporter 4 30 || fail "the service is not running after the upgrade"
wait_http "http://127.0.0.1:$PORT2/health" 20 || fail "the upgraded service does not answer"
note "upgrade $version -> $next_version: one product ($products), service RUNNING"

# Downgrade: refused by the launch condition that carries our message, and the newer product left as it was.
if wine msiexec /i "$MSI_WIN" /qn /l*v "$(winpath "$WORK/logs/msiexec-downgrade-verbose.log")" \
        >"$WORK/logs/msiexec-downgrade.log" 2>&1; then
    fail "msiexec accepted a downgrade from $next_version to $version"
fi
# Windows logs the launch condition's message; Wine's msi, in quiet mode, does not: check
# that it stopped at LaunchConditions because of WIX_DOWNGRADE_DETECTED, and that the
# package's condition carries the message.
verbose=$WORK/logs/msiexec-downgrade-verbose.log
grep -aq "WIX_DOWNGRADE_DETECTED = {" "$verbose" \
    || fail "the downgrade was not detected: $(grep -a -i -E 'related|launch|downgrade' "$verbose")"
grep -aq "Action start .*InstallValidate" "$verbose" && fail "the downgrade went past LaunchConditions"
if command -v msiinfo >/dev/null; then
    msiinfo export "$WORK/msi/tcpip_exporter.msi" LaunchCondition \
        | grep -q "^NOT WIX_DOWNGRADE_DETECTED.A newer version of tcpip_exporter is already installed" \
        || fail "the package has no downgrade condition with its message"
fi
[ "$(installed_products)" = "$products" ] || fail "the downgrade changed what is installed"
wait_state tcpip_exporter 4 10 || fail "the service stopped after the refused downgrade"
note "downgrade $next_version -> $version refused by the launch condition"
MSI_WIN=$NEXT_WIN
PORT=$PORT2

wine msiexec /x "$MSI_WIN" /qn >"$WORK/logs/msiexec-x.log" 2>&1 || fail "msiexec /x failed"
[ -z "$(installed_products)" ] || fail "still installed after msiexec /x: $(installed_products)"
sc query tcpip_exporter | grep -q SERVICE_NAME && fail "the service still exists after msiexec /x"
[ ! -e "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/tcpip_exporter.exe" ] \
    || fail "the exe is still there after msiexec /x"
[ ! -e "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/LICENSE" ] \
    || fail "LICENSE is still there after msiexec /x"
wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\tcpip_exporter' \
    >/dev/null 2>&1 && fail "the event source is still registered"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" || fail "port $PORT still answers"
note "installed, RUNNING, same numbers as native, upgraded, downgrade refused, removed"
