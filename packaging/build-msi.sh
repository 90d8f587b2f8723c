#!/bin/bash
# Builds the MSI: wixl compiles packaging/tcpip_exporter.wxs, then msibuild adds what wixl
# has no element for, the Windows Installer 5.0 service-configuration tables, so that the
# MSI configures the service exactly as `tcpip_exporter.exe install` does
# (service/scm_win.c, configure_service and restrict_service):
#   - delayed automatic start;
#   - restart after 5 s, 30 s, then 60 s, the count reset after a day without failure, also
#     when the service stops itself with an error (the failure-actions flag);
#   - a service SID (unrestricted) and only the privileges it uses.
# MsiConfigureServices applies them, after InstallServices and before StartServices.
# And the Upgrade table's row for older versions includes the same version (what WiX's
# AllowSameVersionUpgrades does, which wixl lacks): each build has its own ProductCode, so
# a rebuilt package of one version would otherwise install beside the first, two products
# sharing one service.
#
# Usage: packaging/build-msi.sh VERSION EXE OUTPUT.msi
# Needs wixl and msitools (Debian packages wixl, msitools).
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 VERSION EXE OUTPUT.msi" >&2; exit 2; }
VERSION=$1 EXE=$2 OUTPUT=$3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case $VERSION in
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) echo "build-msi: version '$VERSION' is not MAJOR.MINOR.PATCH" >&2; exit 2 ;;
esac
[ -f "$EXE" ] || { echo "build-msi: $EXE does not exist" >&2; exit 1; }
for tool in wixl msibuild msiinfo; do
    command -v "$tool" >/dev/null || { echo "build-msi: $tool is missing (apt-get install wixl msitools)" >&2; exit 1; }
done

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tcpip-msi.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
# wixl resolves File/@Source against the .wxs folder.
cp "$ROOT/packaging/tcpip_exporter.wxs" "$ROOT/LICENSE" "$ROOT/THIRD-PARTY-NOTICES.md" "$STAGE/"
cp "$EXE" "$STAGE/tcpip_exporter.exe"
(cd "$STAGE" && wixl -a x64 -D "Version=$VERSION" -D Exe=tcpip_exporter.exe \
    -o tcpip_exporter.msi tcpip_exporter.wxs)

SERVICE=tcpip_exporter
COMPONENT=Service
EVENTS=5 # msidbServiceConfigEventInstall (1) | msidbServiceConfigEventReinstall (4)
# One IDT file per table: column names, column types, the table name and its key.
{
    printf 'MsiServiceConfig\tName\tEvent\tConfigType\tArgument\tComponent_\n'
    printf 's72\tl255\ti2\ti4\tS0\ts72\n'
    printf 'MsiServiceConfig\tMsiServiceConfig\n'
    # ConfigType: SERVICE_CONFIG_DELAYED_AUTO_START_INFO 3, _FAILURE_ACTIONS_FLAG 4,
    # _SERVICE_SID_INFO 5 (SERVICE_SID_TYPE_UNRESTRICTED 1), _REQUIRED_PRIVILEGES_INFO 6
    # ([~] is the NUL between the names of the multi-string).
    printf 'DelayedAutoStart\t%s\t%s\t3\t1\t%s\n' "$SERVICE" "$EVENTS" "$COMPONENT"
    printf 'FailureActionsOnError\t%s\t%s\t4\t1\t%s\n' "$SERVICE" "$EVENTS" "$COMPONENT"
    printf 'ServiceSid\t%s\t%s\t5\t1\t%s\n' "$SERVICE" "$EVENTS" "$COMPONENT"
    printf 'RequiredPrivileges\t%s\t%s\t6\tSeChangeNotifyPrivilege[~]SeCreateGlobalPrivilege[~]SeSystemProfilePrivilege\t%s\n' \
        "$SERVICE" "$EVENTS" "$COMPONENT"
} >"$STAGE/MsiServiceConfig.idt"
{
    printf 'MsiServiceConfigFailureActions\tName\tEvent\tResetPeriod\tRebootMessage\tCommand\tActions\tDelayActions\tComponent_\n'
    printf 's72\tl255\ti2\tI4\tL255\tL255\tS255\tS255\ts72\n'
    printf 'MsiServiceConfigFailureActions\tMsiServiceConfigFailureActions\n'
    # SC_ACTION_RESTART is 1; delays in ms; the reset period in seconds.
    printf 'RestartOnFailure\t%s\t%s\t86400\t\t\t1[~]1[~]1\t5000[~]30000[~]60000\t%s\n' \
        "$SERVICE" "$EVENTS" "$COMPONENT"
} >"$STAGE/MsiServiceConfigFailureActions.idt"
# msibuild -i replaces a table: add the action to the sequence wixl wrote.
msiinfo export "$STAGE/tcpip_exporter.msi" InstallExecuteSequence >"$STAGE/InstallExecuteSequence.idt"
printf 'MsiConfigureServices\tVersionNT >= 600\t5850\n' >>"$STAGE/InstallExecuteSequence.idt"
# msidbUpgradeAttributesVersionMaxInclusive (0x200) on the row that finds older versions.
msiinfo export "$STAGE/tcpip_exporter.msi" Upgrade | tr -d '\r' |
    awk -F '\t' -v OFS='\t' 'NR > 3 && $7 == "WIX_UPGRADE_DETECTED" && int($5 / 512) % 2 == 0 { $5 += 512 } 1' \
    >"$STAGE/Upgrade.idt"
grep -q $'\t513\t\tWIX_UPGRADE_DETECTED$' "$STAGE/Upgrade.idt" \
    || { echo "build-msi: the Upgrade table is not as expected: $(cat "$STAGE/Upgrade.idt")" >&2; exit 1; }
(cd "$STAGE" && msibuild tcpip_exporter.msi -i MsiServiceConfig.idt \
    -i MsiServiceConfigFailureActions.idt -i InstallExecuteSequence.idt -i Upgrade.idt)

mkdir -p "$(dirname "$OUTPUT")"
cp "$STAGE/tcpip_exporter.msi" "$OUTPUT"
echo "build-msi: $OUTPUT ($VERSION)"
