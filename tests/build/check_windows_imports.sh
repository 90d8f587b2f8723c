#!/bin/sh
# Fails unless a Windows executable imports from Windows' own DLLs only, so that
# tcpip_exporter.exe runs on a bare Windows machine with nothing installed next to it
# (no libwinpthread-1.dll, libgcc_s_seh-1.dll, zlib1.dll, libmicrohttpd-12.dll, ...), and
# none of the functions below that Windows 7 SP1 / Server 2008 R2 lacks: one such import
# and the loader refuses the whole exe there, before main.
#
#   check_windows_imports.sh OBJDUMP EXE           objdump -p EXE and check its imports
#   check_windows_imports.sh --dump FILE           check a saved `objdump -p` output
#   check_windows_imports.sh --expect-reject FILE  pass only if FILE is rejected (self-test)
#
# Exit: 0 accepted, 1 rejected (a DLL outside the list below, or a function of the second
# list), 2 could not check.
set -u

# DLLs that ship with every supported Windows (7 SP1 / Server 2008 R2 and later; ucrtbase
# and the api-ms-win-crt-* sets only with the Universal CRT update there, and the exe links
# msvcrt). Compared case-insensitively; api-ms-win-* are the API sets of core Windows.
SYSTEM_DLLS='
kernel32.dll kernelbase.dll ntdll.dll msvcrt.dll ucrtbase.dll
advapi32.dll sechost.dll user32.dll gdi32.dll shell32.dll shlwapi.dll ole32.dll oleaut32.dll
ws2_32.dll mswsock.dll iphlpapi.dll dnsapi.dll bcrypt.dll crypt32.dll secur32.dll ncrypt.dll
tdh.dll wevtapi.dll psapi.dll rpcrt4.dll userenv.dll version.dll dbghelp.dll netapi32.dll
wtsapi32.dll powrprof.dll
'

# Functions of those DLLs that came after Windows 7 (Windows 8 and 10), which a toolchain or
# a library built for a newer target imports without asking: gnulib's gettimeofday took
# GetSystemTimePreciseAsFileTime when GnuTLS was built for mingw-w64's default Windows 10.
NEWER_THAN_WINDOWS_7='
GetSystemTimePreciseAsFileTime QueryInterruptTime QueryInterruptTimePrecise
QueryUnbiasedInterruptTimePrecise GetSystemTimeAdjustmentPrecise CreateFile2 CopyFile2
GetCurrentThreadStackLimits GetOverlappedResultEx WaitOnAddress WakeByAddressSingle
WakeByAddressAll PrefetchVirtualMemory SetProcessMitigationPolicy GetProcessMitigationPolicy
GetFirmwareType SetThreadInformation GetThreadInformation GetProcessInformation
SetProcessInformation DiscardVirtualMemory OfferVirtualMemory ReclaimVirtualMemory
CreateFileMappingFromApp MapViewOfFileFromApp VirtualAllocFromApp VirtualAlloc2
MapViewOfFile3 SetThreadDescription GetThreadDescription GetTempPath2A GetTempPath2W
CreatePseudoConsole ResizePseudoConsole ClosePseudoConsole InitializeSynchronizationBarrier
EnterSynchronizationBarrier DeleteSynchronizationBarrier GetSystemCpuSetInformation
GetCurrentPackageId GetPackageFamilyName GetPackagePath EventSetInformation
TraceQueryInformation GetAddrInfoExCancel GetAddrInfoExOverlappedResult BCryptHash
BCryptKeyDerivation BCryptCreateMultiHash
'

usage() { echo "usage: $0 OBJDUMP EXE | --dump FILE | --expect-reject FILE" >&2; exit 2; }

# Prints the imported DLL names of an `objdump -p` output, one per line, lower-case.
dll_names() {
    sed -n 's/^[[:space:]]*DLL Name:[[:space:]]*//p' "$1" | tr -d '\r' | tr 'A-Z' 'a-z'
}

# Prints the imported function names of an `objdump -p` output, one per line: the last
# field of the lines after a "DLL Name:" line that start with a hex address.
function_names() {
    awk '/DLL Name:/ { in_dll = 1; next }
         in_dll && $1 ~ /^[0-9a-fA-F]+$/ && NF >= 3 { print $NF }' "$1" | tr -d '\r'
}

# check DUMP_FILE LABEL -> 0 accepted, 1 rejected, 2 nothing to check
check() {
    names=$(dll_names "$1")
    if [ -z "$names" ]; then
        echo "$2: no 'DLL Name:' line in the objdump output; not a PE executable?" >&2
        return 2
    fi
    bad=''
    for dll in $names; do
        case "$dll" in api-ms-win-*) continue ;; esac
        found=no
        for ok in $SYSTEM_DLLS; do
            [ "$dll" = "$ok" ] && found=yes && break
        done
        [ "$found" = yes ] || bad="$bad $dll"
    done
    newer=''
    for f in $(function_names "$1"); do
        for n in $NEWER_THAN_WINDOWS_7; do
            [ "$f" = "$n" ] && newer="$newer $f" && break
        done
    done
    echo "$2 imports:" $names
    if [ -n "$bad" ]; then
        echo "$2: NOT self-contained, imports non-system DLL(s):$bad" >&2
        return 1
    fi
    if [ -n "$newer" ]; then
        echo "$2: does not load on Windows 7 SP1 / Server 2008 R2, imports:$newer" >&2
        return 1
    fi
    echo "$2: imports Windows system DLLs only, none newer than Windows 7"
    return 0
}

[ $# -eq 2 ] || usage
case "$1" in
    --dump)
        [ -r "$2" ] || { echo "cannot read $2" >&2; exit 2; }
        check "$2" "$2"
        exit $?
        ;;
    --expect-reject)
        [ -r "$2" ] || { echo "cannot read $2" >&2; exit 2; }
        check "$2" "$2"
        rc=$?
        if [ "$rc" -eq 1 ]; then
            echo "self-test: rejected as expected"
            exit 0
        fi
        echo "self-test: $2 should have been rejected (exit $rc)" >&2
        exit 1
        ;;
esac

objdump=$1
exe=$2
[ -r "$exe" ] || { echo "cannot read $exe" >&2; exit 2; }
dump=$(mktemp) || exit 2
trap 'rm -f "$dump"' EXIT
if ! "$objdump" -p "$exe" >"$dump"; then
    echo "$objdump -p $exe failed" >&2
    exit 2
fi
check "$dump" "$(basename "$exe")"
