#!/bin/bash
# End to end under Wine with the exporter's own `install` / `uninstall`: the service is
# registered (LocalSystem, auto start delayed, description, restart-on-failure actions, the
# flags in its command line, the Event Log source), starts, serves the same numbers as the
# native replay, and `uninstall` stops and removes it and its event source.
. "$(dirname "$0")/wine_lib.sh"
require_wine
require_etl
require_native
wine_setup

PORT=$(free_port)
ETL_WIN=$(winpath "$ETL")
KEY='HKLM\System\CurrentControlSet\Services\tcpip_exporter'
SOURCE_KEY='HKLM\System\CurrentControlSet\Services\EventLog\Application\tcpip_exporter'
reg_query() {
    wine reg query "$@" >"$WORK/reg.out" 2>&1 </dev/null
    tr -d '\r' <"$WORK/reg.out"
}

# A bad flag is refused before anything is registered.
wine "$EXE_WIN" install --web.listen-address nonsense >"$WORK/logs/install-bad.log" 2>&1
rc=$?
[ $rc -eq 2 ] || fail "install with a bad flag: exit $rc, wanted 2"
sc query tcpip_exporter | grep -q SERVICE_NAME && fail "a bad install registered the service"

wine "$EXE_WIN" install --etl "$ETL_WIN" --web.listen-address "127.0.0.1:$PORT" \
    >"$WORK/logs/install.log" 2>&1 || fail "install: $(cat "$WORK/logs/install.log")"
note "$(tr -d '\r' <"$WORK/logs/install.log" | head -n 3)"

config=$(reg_query "$KEY")
printf '%s\n' "$config" >"$WORK/logs/service-key.txt"
grep -q 'ImagePath.*tcpip_exporter\.exe.*--etl.*net\.4\.5\.2\.x64\.etl.*--web\.listen-address 127\.0\.0\.1:'"$PORT" <<<"$config" \
    || fail "ImagePath lacks the flags: $(grep ImagePath <<<"$config")"
grep -Eq 'Start +REG_DWORD +0x2$' <<<"$config" || fail "not auto-start: $config"
grep -Eq 'DelayedAutostart +REG_DWORD +0x1$' <<<"$config" || fail "not delayed: $config"
grep -Eq 'ObjectName +REG_SZ +LocalSystem$' <<<"$config" || fail "not LocalSystem: $config"
grep -q 'Description' <<<"$config" || fail "no description: $config"
# The restart actions themselves (SERVICE_CONFIG_FAILURE_ACTIONS) are accepted by Wine's
# service manager but not kept anywhere a test can read back; on Windows: sc qfailure.
grep -Eq "FailureActionsOnNonCrashFailures +REG_DWORD +0x1$" <<<"$config" || fail "failure actions only on crashes: $config"
# Least privilege: only the privileges the session and the instance mutex need, and a
# per-service SID (Windows: sc qprivs / sc qsidtype).
grep -Eq 'RequiredPrivileges +REG_MULTI_SZ +SeChangeNotifyPrivilege.+SeCreateGlobalPrivilege.+SeSystemProfilePrivilege' <<<"$config" \
    || fail "required privileges not set: $(grep -i privilege <<<"$config")"
grep -Eq 'ServiceSidType +REG_DWORD +0x1$' <<<"$config" || fail "service SID type not unrestricted: $config"
source=$(reg_query "$SOURCE_KEY")
grep -q 'EventMessageFile.*tcpip_exporter\.exe' <<<"$source" || fail "no event source: $source"
note "registered: auto start (delayed), LocalSystem, description, failure flag, required privileges, service SID, event source"

sc start tcpip_exporter >/dev/null
wait_state tcpip_exporter 4 30 || fail "the service did not reach RUNNING"
wait_http "http://127.0.0.1:$PORT/health" 20 || fail "/health does not answer on port $PORT"
start_native
compare_with_native "$PORT"

wine "$EXE_WIN" uninstall >"$WORK/logs/uninstall.log" 2>&1 || fail "uninstall: $(cat "$WORK/logs/uninstall.log")"
note "$(tr -d '\r' <"$WORK/logs/uninstall.log" | tail -n 1)"
sc query tcpip_exporter | grep -q SERVICE_NAME && fail "the service still exists after uninstall"
# and it looked for a session the service may have left running (its own, by its flags)
grep -Eq 'uninstall: (no session of ours was left running|stopped a leftover )' "$WORK/logs/uninstall.log" \
    || fail "uninstall did not check for a leftover session: $(cat "$WORK/logs/uninstall.log")"
reg_query "$SOURCE_KEY" | grep -q EventMessageFile && fail "the event source is still registered"
! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" || fail "port $PORT still answers after uninstall"
# Uninstalling what is not there is not an error.
wine "$EXE_WIN" uninstall >>"$WORK/logs/uninstall.log" 2>&1 || fail "second uninstall failed"
note "uninstalled"
