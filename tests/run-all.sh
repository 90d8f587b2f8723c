#!/bin/bash
# The whole test suite of tcpip_exporter, in stages:
#
#   windows  mingw-w64 cross build (static deps from packaging/build-windows-deps.sh), every
#            `meson test` under Wine, in a throwaway WINEPREFIX inside the build directory
#   native   gcc build, every `meson test`; the Wine end-to-end tests among them drive the
#            Windows build of the stage before (TCPIP_EXPORTER_WIN_BUILD)
#   asan     clang-14 build with AddressSanitizer + UndefinedBehaviorSanitizer (and -Dfuzzing=true,
#            so the libFuzzer targets come out of the same build), every `meson test`
#   fuzz     each libFuzzer target tests/*/fuzz_* of the asan build: fuzz_etl for FUZZ_SECONDS
#            (60), every other one for half that (30); seeds from tests/DIR/corpus-TARGET/, or
#            tests/DIR/corpus/ when there is none (fuzz_etl's)
#   tsan     gcc build with ThreadSanitizer, `meson test --suite concurrency`
#
# Usage: tests/run-all.sh [STAGE...]      (no STAGE: all of them, in the order above)
#
# Build directories are BUILD_PREFIX + native, asan (also fuzz), tsan, win (default BUILD_PREFIX:
# build/, so build/native, build/asan, build/tsan, build/win), and are
# reused when present, so a second run only rebuilds what changed. Benchmarks are not run
# here: `meson setup build/release -Dbuildtype=release && meson test -C build/release
# --benchmark` (tests/README.md). Every stage runs even when an earlier one failed; the
# summary at the end says which failed, and the exit status is non-zero if any did.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_PREFIX=${BUILD_PREFIX:-$ROOT/build/}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
ALL_STAGES=(windows native asan fuzz tsan)
CLANG=${CLANG:-clang-14}

declare -A STAGE_RESULT STAGE_TIME STAGE_NOTE
TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0
ASAN_BUILT=no

banner() { printf '\n==================== %s ====================\n' "$*"; }
note() { printf 'run-all: %s\n' "$*"; }

# configure DIR [meson options...]: set up DIR, or bring an existing DIR to these options.
# SETUP_ONLY holds arguments that only `meson setup` takes (the cross file).
SETUP_ONLY=()
configure() {
    local dir=$1
    shift
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        [ $# -eq 0 ] || meson configure "$dir" "$@" >/dev/null
    else
        meson setup "${SETUP_ONLY[@]}" "$@" "$dir" "$ROOT"
    fi
}

# count_results DIR: adds the last `meson test` run's results in DIR to the totals and sets
# COUNTS to "P passed, F failed, S skipped".
count_results() {
    local log=$1/meson-logs/testlog.json p=0 f=0 s=0
    if [ -f "$log" ]; then
        read -r p f s < <(/usr/bin/python3 - "$log" <<'EOF'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
EOF
        )
    fi
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    TOTAL_SKIPPED=$((TOTAL_SKIPPED + s))
    COUNTS="$p passed, $f failed, $s skipped"
}

# meson_test DIR [meson test options...]: runs the tests, counts them; fails if any failed.
meson_test() {
    local dir=$1 rc
    shift
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs "$@"
    rc=$?
    count_results "$dir"
    STAGE_NOTE[$CURRENT]=$COUNTS
    return "$rc"
}

# A stage whose build (or set-up) failed ran no test: count it as one failure.
build_failed() {
    STAGE_NOTE[$CURRENT]="build failed: $1"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return 1
}

stage_native() {
    local b=${BUILD_PREFIX}native
    configure "$b" -Db_sanitize=none || { build_failed "meson setup"; return; }
    ninja -C "$b" || { build_failed ninja; return; }
    if [ -f "${BUILD_PREFIX}win/service/tcpip_exporter.exe" ]; then
        TCPIP_EXPORTER_WIN_BUILD=${BUILD_PREFIX}win meson_test "$b"
    else
        note "native: no Windows build in ${BUILD_PREFIX}win; the Wine end-to-end tests will skip"
        meson_test "$b"
    fi
}

stage_asan() {
    local b=${BUILD_PREFIX}asan
    command -v "$CLANG" >/dev/null || { build_failed "$CLANG not found"; return; }
    CC=$CLANG configure "$b" -Db_sanitize=address,undefined -Dfuzzing=true \
        || { build_failed "meson setup"; return; }
    ninja -C "$b" || { build_failed ninja; return; }
    ASAN_BUILT=yes
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson_test "$b" --timeout-multiplier 3
}

stage_fuzz() {
    local b=${BUILD_PREFIX}asan targets=() t name work seeds=() rc=0
    if [ "$ASAN_BUILT" != yes ] && [ ! -f "$b/build.ninja" ]; then
        note "fuzz: the asan build (which builds the fuzz targets) is not there; skipped"
        STAGE_NOTE[$CURRENT]="skipped: no asan build"
        TOTAL_SKIPPED=$((TOTAL_SKIPPED + 1))
        return 0
    fi
    [ "$ASAN_BUILT" = yes ] || ninja -C "$b" || { build_failed ninja; return; }
    # Every folder's targets; the fuzz_*.p folders beside them are meson's objects.
    for t in "$b"/tests/*/fuzz_*; do
        [ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
    done
    if [ ${#targets[@]} -eq 0 ]; then
        note "fuzz: no libFuzzer target (tests/*/fuzz_*) in $b; skipped"
        STAGE_NOTE[$CURRENT]="skipped: no fuzz target"
        TOTAL_SKIPPED=$((TOTAL_SKIPPED + 1))
        return 0
    fi
    local p=0 f=0 dir seconds
    for t in "${targets[@]}"; do
        name=$(basename "$t")
        dir=$ROOT/tests/$(basename "$(dirname "$t")")
        seeds=()
        if [ -d "$dir/corpus-$name" ]; then
            seeds=("$dir/corpus-$name")
        elif [ -d "$dir/corpus" ]; then
            seeds=("$dir/corpus")
        fi
        # The ETL reader is the big input surface; the others are small parsers. With five
        # targets the stage fuzzes 60 + 4 x 30 = 180 s.
        seconds=$FUZZ_SECONDS
        [ "$name" = fuzz_etl ] || seconds=$(((FUZZ_SECONDS + 1) / 2))
        # New inputs go to a corpus of the build's own; the seeds in the tree are only read.
        work=$b/fuzz-corpus/$name
        mkdir -p "$work" "$b/fuzz-artifacts"
        note "fuzz: $name for ${seconds}s (seeds: ${seeds[*]:-none})"
        if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$b/fuzz-artifacts/$name-" \
                "$work" "${seeds[@]}" >"$b/fuzz-$name.log" 2>&1; then
            p=$((p + 1))
            grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+.*DONE)' \
                "$b/fuzz-$name.log" | sed 's/^/    /'
        else
            f=$((f + 1))
            rc=1
            note "fuzz: $name FAILED; last lines of $b/fuzz-$name.log:"
            tail -n 40 "$b/fuzz-$name.log"
        fi
    done
    TOTAL_PASSED=$((TOTAL_PASSED + p))
    TOTAL_FAILED=$((TOTAL_FAILED + f))
    STAGE_NOTE[$CURRENT]="$p passed, $f failed"
    return "$rc"
}

stage_tsan() {
    local b=${BUILD_PREFIX}tsan listed
    configure "$b" -Db_sanitize=thread || { build_failed "meson setup"; return; }
    ninja -C "$b" || { build_failed ninja; return; }
    listed=$(meson test -C "$b" --no-rebuild --suite concurrency --list 2>/dev/null | grep -c ' / ' || true)
    if [ "${listed:-0}" -eq 0 ]; then
        note "tsan: no test in suite 'concurrency'"
        STAGE_NOTE[$CURRENT]="no test in suite 'concurrency'"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        return 1
    fi
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        meson_test "$b" --suite concurrency --timeout-multiplier 5
}

stage_windows() {
    local b=${BUILD_PREFIX}win rc
    mkdir -p "$b"
    # meson's set-up already runs an .exe (the compiler sanity check) through Wine.
    local -x WINEPREFIX=$b/wineprefix WINEDEBUG=-all
    # Built here rather than silently inside `meson setup` so the progress shows; meson's own
    # call to the script is then a cache hit.
    "$ROOT/packaging/build-windows-deps.sh" "$b/windows-deps" \
        || { build_failed "packaging/build-windows-deps.sh"; return; }
    # Create the prefix once, before tests run in parallel; then one persistent wineserver for
    # the whole stage so every test .exe starts fast. `wineserver -k` ends it, and with it only
    # this prefix's processes.
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        note "windows: creating WINEPREFIX $WINEPREFIX"
        wineboot --init || { build_failed "wineboot --init"; return; }
        wineserver -w
    fi
    wineserver -p || { build_failed "wineserver -p"; return; }
    # Warm-up: one program run alone first. Measured with Wine 8.0 here: when two .exe files
    # start at once on a fresh wineserver, one of them hangs in (nearly) every run; after a
    # first client has brought up Wine's own services, none did (0 hangs in 6 runs).
    wine cmd.exe /c exit || { wineserver -k; build_failed "wine cmd.exe /c exit"; return; }
    SETUP_ONLY=(--cross-file "$ROOT/packaging/mingw-w64-x86_64.ini")
    configure "$b" || { SETUP_ONLY=(); wineserver -k; build_failed "meson setup"; return; }
    SETUP_ONLY=()
    if ! ninja -C "$b"; then
        wineserver -k
        build_failed ninja
        return
    fi
    meson_test "$b" --timeout-multiplier 3
    rc=$?
    wineserver -k 2>/dev/null
    wineserver -w 2>/dev/null
    return "$rc"
}

main() {
    local stages=("$@") s start rc any_failed=0
    case "${1:-}" in
        -h | --help)
            sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            return 0
            ;;
    esac
    [ ${#stages[@]} -gt 0 ] || stages=("${ALL_STAGES[@]}")
    for s in "${stages[@]}"; do
        case " ${ALL_STAGES[*]} " in
            *" $s "*) ;;
            *) echo "run-all: unknown stage '$s' (stages: ${ALL_STAGES[*]})" >&2; return 2 ;;
        esac
    done
    note "build directories: ${BUILD_PREFIX}{native,asan,tsan,win}"
    for s in "${stages[@]}"; do
        CURRENT=$s
        STAGE_NOTE[$s]=""
        banner "stage $s"
        start=$(date +%s)
        "stage_$s"
        rc=$?
        STAGE_TIME[$s]=$(($(date +%s) - start))
        if [ "$rc" -eq 0 ]; then
            STAGE_RESULT[$s]=PASS
        else
            STAGE_RESULT[$s]=FAIL
            any_failed=1
        fi
        note "stage $s: ${STAGE_RESULT[$s]} in ${STAGE_TIME[$s]}s (${STAGE_NOTE[$s]})"
    done
    banner "summary"
    for s in "${stages[@]}"; do
        printf '%-8s %-4s %5ss  %s\n' "$s" "${STAGE_RESULT[$s]}" "${STAGE_TIME[$s]}" "${STAGE_NOTE[$s]}"
    done
    if [ "$any_failed" -ne 0 ]; then
        printf 'FAILED stages:'
        for s in "${stages[@]}"; do
            [ "${STAGE_RESULT[$s]}" = FAIL ] && printf ' %s' "$s"
        done
        printf '\n'
    fi
    echo "run-all: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
    return "$any_failed"
}

main "$@"
