#!/bin/bash
# Names outside the ANSI code page (Cyrillic: not in Wine's 1252), under Wine: the exe reads
# its arguments from the UTF-16 command line and opens files by their UTF-16 names, so a
# trace in C:\данные\трасса-ü.etl replays exactly as the native build replays it, and an
# error names such a file correctly in its one UTF-8 line. The trace is the project's own
# (tests/etl/corpus/mixed64.etl).
. "$(dirname "$0")/wine_lib.sh"
require_wine
require_native
wine_setup

TRACE=$SOURCE_ROOT/tests/etl/corpus/mixed64.etl
[ -f "$TRACE" ] || fail "$TRACE is missing"
DIR="$WINEPREFIX/drive_c/данные"
mkdir -p "$DIR"
cp "$TRACE" "$DIR/трасса-ü.etl"

"$NATIVE" --etl "$TRACE" --summary >"$WORK/logs/native.txt" 2>"$WORK/logs/native.err" \
    || fail "native --summary failed: $(cat "$WORK/logs/native.err")"
wine "$EXE_WIN" --etl 'C:\данные\трасса-ü.etl' --summary \
    >"$WORK/logs/wine.txt" 2>"$WORK/logs/wine.err" </dev/null
rc=$?
[ "$rc" -eq 0 ] || fail "--summary of C:\\данные\\трасса-ü.etl exited $rc: $(cat "$WORK/logs/wine.err")"
tr -d '\r' <"$WORK/logs/wine.txt" >"$WORK/logs/wine.lf.txt"
cmp -s "$WORK/logs/native.txt" "$WORK/logs/wine.lf.txt" \
    || fail "the replay differs from native: $(diff "$WORK/logs/native.txt" "$WORK/logs/wine.lf.txt" | head -n 5)"
note "C:\\данные\\трасса-ü.etl replayed as natively ($(wc -l <"$WORK/logs/native.txt") lines)"

wine "$EXE_WIN" --etl 'C:\данные\нет-é.etl' --summary \
    >"$WORK/logs/absent.txt" 2>"$WORK/logs/absent.err" </dev/null
rc=$?
[ "$rc" -eq 4 ] || fail "a missing file exited $rc, expected 4"
grep -v '^[0-9a-f]*:\(fixme\|err\|warn\):' "$WORK/logs/absent.err" | tr -d '\r' >"$WORK/logs/absent.lines"
[ "$(wc -l <"$WORK/logs/absent.lines")" -eq 1 ] || fail "not one line: $(cat "$WORK/logs/absent.lines")"
grep -q 'C:\\данные\\нет-é.etl' "$WORK/logs/absent.lines" \
    || fail "the error does not name the file in UTF-8: $(cat "$WORK/logs/absent.lines")"
note "$(cat "$WORK/logs/absent.lines")"
