#!/bin/bash
# The MSI (packaging/build-msi.sh: wixl, then msibuild's service-configuration tables) under
# Wine's msiexec, as an administrator pushing it to a fleet would use it:
#   - the package holds the upgrade, launch-condition, service-config and failure-action
#     tables and MsiConfigureServices between InstallServices and StartServices (msiinfo);
#   - install with LISTEN_ADDRESS, EXTRA_FLAGS, ENABLE_FIREWALL and REMOTE_ADDR: the service
#     runs on that address with those flags and serves the native replay's numbers, the
#     Event Log source and one firewall rule for the exe from REMOTE_ADDR exist;
#   - an upgrade without properties: one product, the same address, flags and rule;
#   - a repair: the same again, still one rule;
#   - an upgrade with a new LISTEN_ADDRESS and a CONFIG_FILE: the service moves and reads
#     the file, the rest stays;
#   - the same version rebuilt (another ProductCode) replaces it: still one product;
#   - a downgrade is refused with its message and changes nothing;
#   - a repair with ENABLE_FIREWALL=0: the rule goes, and that is remembered;
#   - uninstall: no product, service, files, Event Log source, firewall rule or settings.
# Wine's netsh is a stub: the prefix gets tests/windows/fake_netsh.exe in its place.
. "$(dirname "$0")/wine_lib.sh"
require_wine
require_etl
require_native
command -v wixl >/dev/null || skip "wixl is not installed (Debian package wixl)"
command -v msiinfo >/dev/null || skip "msiinfo is not installed (Debian package msitools)"
FAKE_NETSH=$(dirname "$WIN_EXE")/../tests/windows/fake_netsh.exe
[ -f "$FAKE_NETSH" ] || skip "$FAKE_NETSH is not built (the cross build's tests/windows)"
wine_setup

version=$(sed -n "s/^ *version *: *'\([0-9.]*\)'.*/\1/p" "$SOURCE_ROOT/meson.build" | head -n 1)
version=${version:-0.0.0}
# The same package one and two patch versions later, to upgrade to (and downgrade from).
bump() { echo "$version" | awk -F. -v n="$1" '{ printf "%d.%d.%d", $1, $2, $3 + n }'; }
v1=$(bump 1) v2=$(bump 2)
for v in "$version" "$v1" "$v2"; do
    "$SOURCE_ROOT/packaging/build-msi.sh" "$v" "$WIN_EXE" "$WORK/msi/tcpip_exporter-$v.msi" \
        >>"$WORK/logs/build-msi.log" 2>&1 || fail "build-msi.sh $v: $(cat "$WORK/logs/build-msi.log")"
done
# $v2 built again: the same version with a ProductCode of its own, as every build has.
"$SOURCE_ROOT/packaging/build-msi.sh" "$v2" "$WIN_EXE" "$WORK/msi/tcpip_exporter-$v2-rebuilt.msi" \
    >>"$WORK/logs/build-msi.log" 2>&1 || fail "build-msi.sh $v2 again: $(cat "$WORK/logs/build-msi.log")"
MSI=$WORK/msi/tcpip_exporter-$version.msi

# ---- the package's tables
rows() { msiinfo export "$MSI" "$1" | tr -d '\r' | tail -n +4; }
[ "$(rows MsiServiceConfig | cut -f 4 | sort | tr '\n' ' ')" = "3 4 5 6 " ] \
    || fail "MsiServiceConfig should set delayed start (3), the failure-actions flag (4), the service SID (5) and the privileges (6): $(rows MsiServiceConfig)"
rows MsiServiceConfig | grep -q $'\t6\tSeChangeNotifyPrivilege\[~\]SeCreateGlobalPrivilege\[~\]SeSystemProfilePrivilege\t' \
    || fail "MsiServiceConfig does not name the three privileges install sets"
[ "$(rows MsiServiceConfigFailureActions | cut -f 2-8)" = "$(printf 'tcpip_exporter\t5\t86400\t\t\t1[~]1[~]1\t5000[~]30000[~]60000')" ] \
    || fail "MsiServiceConfigFailureActions differs from install's actions: $(rows MsiServiceConfigFailureActions)"
seq_of() { rows InstallExecuteSequence | awk -F'\t' -v a="$1" '$1 == a { print $3 }'; }
[ "$(seq_of InstallServices)" -lt "$(seq_of MsiConfigureServices)" ] \
    && [ "$(seq_of MsiConfigureServices)" -lt "$(seq_of StartServices)" ] \
    || fail "MsiConfigureServices is not between InstallServices and StartServices"
rows Upgrade | grep -q '^{6B7C2A4E-3F0D-4F5E-9A61-2C8D7E1B9F30}' \
    || fail "the Upgrade table does not hold the UpgradeCode: $(rows Upgrade)"
rows LaunchCondition | grep -q "^NOT WIX_DOWNGRADE_DETECTED.A newer version of tcpip_exporter is already installed" \
    || fail "the package has no downgrade condition with its message"
note "tables: MsiServiceConfig (3 4 5 6), MsiServiceConfigFailureActions, MsiConfigureServices at $(seq_of MsiConfigureServices), Upgrade, LaunchCondition"

cp "$FAKE_NETSH" "$WINEPREFIX/drive_c/windows/system32/netsh.exe"
# Wine prefers its builtin for the programs it ships, even over a file put in its place.
export WINEDLLOVERRIDES="$WINEDLLOVERRIDES;netsh.exe=n"
RULES=$WINEPREFIX/drive_c/fake_firewall
RULE_NAME="tcpip_exporter (TCP-In)"
EXE_INSTALLED='C:\Program Files\tcpip_exporter\tcpip_exporter.exe'
# The rules of our name, one file each.
rule_count() { find "$RULES" -maxdepth 1 -name "$RULE_NAME.*.rule" 2>/dev/null | wc -l; }
rule_has() { cat "$RULES/$RULE_NAME".*.rule 2>/dev/null | tr -d '\r' | grep -qxF "$1"; }

# Installed products named tcpip_exporter, as "ProductCode DisplayVersion" lines.
installed_products() {
    wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null \
        | tr -d '\r' | awk '
            /^HKEY/ { key = $0; sub(/.*\\/, "", key); name = ""; ver = "" }
            $1 == "DisplayName" { name = $3 }
            $1 == "DisplayVersion" { ver = $3 }
            name == "tcpip_exporter" && ver != "" { print key, ver; name = "" }'
}
image_path() {
    wine reg query 'HKLM\System\CurrentControlSet\Services\tcpip_exporter' /v ImagePath 2>/dev/null \
        | tr -d '\r' | sed -n 's/.*REG_EXPAND_SZ *//p; s/.*REG_SZ *//p'
}
msiexec() { # LOG ARGS...
    local log=$1
    shift
    wine msiexec "$@" /qn /l*v "$(winpath "$WORK/logs/$log-verbose.log")" \
        >"$WORK/logs/$log.log" 2>&1
}
# expect_running VERSION PORT: one product of VERSION, the service RUNNING on PORT.
expect_running() {
    local products
    products=$(installed_products)
    [ "$(echo "$products" | wc -l)" -eq 1 ] && echo "$products" | grep -q " $1\$" \
        || fail "installed: '$products', wanted one product of version $1"
    wait_state tcpip_exporter 4 30 || fail "the service is not running ($1)"
    wait_http "http://127.0.0.1:$2/health" 20 || fail "the service does not answer on port $2 ($1): $(image_path)"
}
expect_rule() { # WHEN
    [ "$(rule_count)" -eq 1 ] || fail "$1: $(rule_count) firewall rules named '$RULE_NAME', wanted 1"
    rule_has "remoteip=127.0.0.1,10.0.0.0/8" && rule_has "program=$EXE_INSTALLED" \
        && rule_has "dir=in" && rule_has "action=allow" && rule_has "protocol=TCP" \
        || fail "$1: the firewall rule is not for the exe from REMOTE_ADDR: $(cat "$RULES/$RULE_NAME".*.rule)"
}

PORT=$(free_port)
ETL_WIN=$(winpath "$ETL")
msiexec install /i "$(winpath "$MSI")" "LISTEN_ADDRESS=127.0.0.1:$PORT" "EXTRA_FLAGS=--etl $ETL_WIN" \
    ENABLE_FIREWALL=1 REMOTE_ADDR=127.0.0.1,10.0.0.0/8 || fail "msiexec /i failed"
[ -f "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/tcpip_exporter.exe" ] \
    || fail "the exe was not installed to Program Files"
for f in LICENSE THIRD-PARTY-NOTICES.md; do
    cmp -s "$SOURCE_ROOT/$f" "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/$f" \
        || fail "$f was not installed beside the exe"
done
expect_running "$version" "$PORT"
image_path | grep -qF -- "--web.listen-address \"127.0.0.1:$PORT\"" \
    && image_path | grep -qF -- "--etl $ETL_WIN" \
    || fail "the service's command line lacks the properties: $(image_path)"
wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\tcpip_exporter' \
    >/dev/null 2>&1 || fail "the Event Log source is not registered"
expect_rule "install"
start_native
compare_with_native "$PORT"
note "installed $version: RUNNING on 127.0.0.1:$PORT with EXTRA_FLAGS, same numbers as native, one firewall rule"
# What Wine makes of MsiConfigureServices (Windows applies the tables; Wine may not).
wine sc qc tcpip_exporter >"$WORK/logs/sc-qc.log" 2>&1 </dev/null
grep -aq "MsiConfigureServices" "$WORK/logs/install-verbose.log" \
    && note "Wine's msiexec: $(grep -a "MsiConfigureServices" "$WORK/logs/install-verbose.log" | tr -d '\r' | tail -n 1 | cut -c 1-120)"

# ---- upgrade without properties: everything remembered
msiexec upgrade1 /i "$(winpath "$WORK/msi/tcpip_exporter-$v1.msi")" || fail "msiexec /i of $v1 failed"
expect_running "$v1" "$PORT"
image_path | grep -qF -- "--etl $ETL_WIN" || fail "the upgrade lost EXTRA_FLAGS: $(image_path)"
expect_rule "upgrade to $v1"
note "upgrade $version -> $v1 without properties: one product, same address, flags and rule"

# ---- repair: the same again, and still one rule. Wine's msiexec /fa returns an error at
# once; REINSTALL=ALL with REINSTALLMODE=vamus is what /fa asks of the installer.
msiexec repair /i "$(winpath "$WORK/msi/tcpip_exporter-$v1.msi")" REINSTALL=ALL REINSTALLMODE=vamus \
    || fail "the repair (REINSTALL=ALL) failed"
expect_running "$v1" "$PORT"
expect_rule "repair"
note "repair of $v1: same address, flags and one rule"

# ---- upgrade with a new address and a config file: just those change
PORT2=$(free_port)
printf '{ "web.max-connections-per-ip": 7 }\n' >"$WINEPREFIX/drive_c/tcpip_exporter.json"
msiexec upgrade2 /i "$(winpath "$WORK/msi/tcpip_exporter-$v2.msi")" "LISTEN_ADDRESS=127.0.0.1:$PORT2" \
    'CONFIG_FILE=C:\tcpip_exporter.json' || fail "msiexec /i of $v2 failed"
expect_running "$v2" "$PORT2"
image_path | grep -qF -- '--config.file "C:\tcpip_exporter.json"' \
    || fail "the service's command line lacks CONFIG_FILE: $(image_path)"
curl -s --max-time 5 "http://127.0.0.1:$PORT2/api/v1/status" | grep -q '"web.max-connections-per-ip": *7' \
    || fail "the service did not read CONFIG_FILE: $(curl -s --max-time 5 "http://127.0.0.1:$PORT2/api/v1/status")"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" || fail "the old port $PORT still answers"
image_path | grep -qF -- "--etl $ETL_WIN" || fail "the upgrade with LISTEN_ADDRESS lost EXTRA_FLAGS"
expect_rule "upgrade to $v2"
note "upgrade $v1 -> $v2 with LISTEN_ADDRESS and CONFIG_FILE: moved to port $PORT2, the file read, flags and rule kept"

# ---- the same version rebuilt: it replaces the installed one, one product again
products=$(installed_products)
msiexec rebuilt /i "$(winpath "$WORK/msi/tcpip_exporter-$v2-rebuilt.msi")" \
    || fail "msiexec /i of the rebuilt $v2 failed"
[ "$(installed_products | wc -l)" -eq 1 ] && [ "$(installed_products)" != "$products" ] \
    || fail "the rebuilt $v2 did not replace the installed one: $(installed_products)"
expect_running "$v2" "$PORT2"
expect_rule "rebuilt $v2"
note "the same version rebuilt (another ProductCode) replaced it: one product, same settings"

# ---- downgrade: refused by the launch condition, nothing changed
products=$(installed_products)
if msiexec downgrade /i "$(winpath "$MSI")"; then
    fail "msiexec accepted a downgrade from $v2 to $version"
fi
# Windows shows the launch condition's message; Wine's msi, in quiet mode, does not log it:
# check that it stopped at LaunchConditions because of WIX_DOWNGRADE_DETECTED (the
# package's condition carries the message, checked above).
verbose=$WORK/logs/downgrade-verbose.log
grep -aq "WIX_DOWNGRADE_DETECTED = {" "$verbose" \
    || fail "the downgrade was not detected: $(grep -a -i -E 'related|launch|downgrade' "$verbose")"
grep -aq "Action start .*InstallValidate" "$verbose" && fail "the downgrade went past LaunchConditions"
[ "$(installed_products)" = "$products" ] || fail "the downgrade changed what is installed"
wait_state tcpip_exporter 4 10 || fail "the service stopped after the refused downgrade"
expect_rule "refused downgrade"
note "downgrade $v2 -> $version refused by the launch condition"

# ---- repair with ENABLE_FIREWALL=0: the rule goes, and stays gone on the next repair
msiexec nofirewall /i "$(winpath "$WORK/msi/tcpip_exporter-$v2-rebuilt.msi")" REINSTALL=ALL \
    REINSTALLMODE=vamus ENABLE_FIREWALL=0 || fail "the repair with ENABLE_FIREWALL=0 failed"
wait_state tcpip_exporter 4 20 || fail "the service is not running after the repair"
[ "$(rule_count)" -eq 0 ] || fail "ENABLE_FIREWALL=0 left the rule: $(cat "$RULES"/* 2>/dev/null)"
msiexec repair2 /i "$(winpath "$WORK/msi/tcpip_exporter-$v2-rebuilt.msi")" REINSTALL=ALL REINSTALLMODE=vamus \
    || fail "the second repair failed"
[ "$(rule_count)" -eq 0 ] || fail "a repair without properties brought the rule back"
note "repair with ENABLE_FIREWALL=0: no rule, and none after the next repair"

# ---- uninstall: nothing left
msiexec uninstall /x "$(winpath "$WORK/msi/tcpip_exporter-$v2-rebuilt.msi")" || fail "msiexec /x failed"
[ -z "$(installed_products)" ] || fail "still installed after msiexec /x: $(installed_products)"
sc query tcpip_exporter | grep -q SERVICE_NAME && fail "the service still exists after msiexec /x"
for f in tcpip_exporter.exe LICENSE THIRD-PARTY-NOTICES.md; do
    [ ! -e "$WINEPREFIX/drive_c/Program Files/tcpip_exporter/$f" ] || fail "$f is still there after msiexec /x"
done
wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\tcpip_exporter' \
    >/dev/null 2>&1 && fail "the event source is still registered"
wine reg query 'HKLM\SOFTWARE\tcpip_exporter' >/dev/null 2>&1 && fail "the remembered settings are still there"
[ "$(rule_count)" -eq 0 ] || fail "a firewall rule is left after msiexec /x"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT2/health" || fail "port $PORT2 still answers"
note "removed: no product, service, files, event source, settings or firewall rule"
