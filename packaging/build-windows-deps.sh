#!/bin/bash
# Builds the static Windows x86-64 libraries that tcpip_exporter.exe links, from Debian's own
# source packages (so the Windows build uses the same, Debian-patched code as the Linux one):
#
#   libmicrohttpd  -> PREFIX/lib/libmicrohttpd.a, PREFIX/include/microhttpd.h
#   cJSON          -> PREFIX/lib/libcjson.a,      PREFIX/include/cjson/cJSON.h
#   libdeflate     -> PREFIX/lib/libdeflate.a,    PREFIX/include/libdeflate.h
#   cmocka         -> PREFIX/lib/libcmocka-static.a, PREFIX/include/cmocka.h (test executables)
#
# Usage: packaging/build-windows-deps.sh PREFIX
#
# The cross meson configure runs this (run_command in meson.build) with PREFIX inside the build
# directory. Cache: PREFIX/.stamp holds a key made of the source package versions (what
# `apt-get source` would fetch now), the cross compiler's version and this script's hash. Same
# key: nothing is done (a cache hit takes well under a second). Different key: PREFIX is rebuilt
# from scratch. With no deb-src index (offline machine) an existing PREFIX is reused as it is.
#
# Needs: a deb-src entry for the machine's Debian suite (packaging/install-build-deps.sh adds
# it), dpkg-dev, make, cmake, gcc-mingw-w64-x86-64. Logs go to PREFIX.log.
set -euo pipefail

HOST=x86_64-w64-mingw32
SOURCE_PACKAGES=(libmicrohttpd cjson libdeflate cmocka)

die() { echo "build-windows-deps: $*" >&2; exit 1; }
say() { echo "build-windows-deps: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 PREFIX"
case "$1" in
    /*) PREFIX=$1 ;;
    *) PREFIX=$PWD/$1 ;;
esac
PREFIX=${PREFIX%/}
STAMP=$PREFIX/.stamp
LOG=$PREFIX.log
WORK=$PREFIX.work

# "name=version" for each source package, as `apt-get source` would fetch it; empty when apt
# cannot tell (no deb-src index).
source_versions() {
    local uris
    uris=$(cd / && apt-get source --print-uris -qq "${SOURCE_PACKAGES[@]}" 2>/dev/null) || return 0
    # Lines look like: 'URI' name_version.dsc SIZE HASH
    awk '$2 ~ /\.dsc$/ { f = $2; sub(/\.dsc$/, "", f); sub(/_/, "=", f); print f }' <<<"$uris" | sort
}

cache_key() {
    local versions=$1 script_hash cc_version
    script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
    cc_version=$("$HOST-gcc" -dumpversion)
    printf '%s\n' $versions "cc=$HOST-gcc-$cc_version" "script=$script_hash"
}

build_libmicrohttpd() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'libmicrohttpd-*' | head -n1)
    [ -n "$src" ] || die "libmicrohttpd source tree missing"
    say "libmicrohttpd: configure + make (about a minute)"
    (
        cd "$src"
        ./configure --host="$HOST" --prefix="$PREFIX" \
            --disable-https --disable-doc --disable-examples --disable-curl \
            --disable-nls --enable-static --disable-shared
        make -j"$(nproc)" -C src/microhttpd
        make -C src/microhttpd install
        make -C src/include install
        # The .pc file is installed by the top-level Makefile; ours tells what to link.
        install -D -m 644 libmicrohttpd.pc "$PREFIX/lib/pkgconfig/libmicrohttpd.pc"
    ) >>"$LOG" 2>&1 || die "libmicrohttpd failed; see $LOG"
}

build_cjson() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'cjson-*' | head -n1)
    [ -n "$src" ] || die "cJSON source tree missing"
    say "cJSON: compile cJSON.c"
    (
        cd "$src"
        # CJSON_HIDE_SYMBOLS: a static library, neither dllexport nor dllimport. Users of the
        # header must define it too (meson.build does, for the Windows build).
        "$HOST-gcc" -O2 -std=c89 -DCJSON_HIDE_SYMBOLS -c cJSON.c -o cJSON.o
        "$HOST-ar" rcs libcjson.a cJSON.o
        install -D -m 644 libcjson.a "$PREFIX/lib/libcjson.a"
        install -D -m 644 cJSON.h "$PREFIX/include/cjson/cJSON.h"
    ) >>"$LOG" 2>&1 || die "cJSON failed; see $LOG"
}

build_libdeflate() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'libdeflate-*' | head -n1)
    [ -n "$src" ] || die "libdeflate source tree missing"
    say "libdeflate: make (its own Makefile, static library only)"
    (
        cd "$src"
        # For a mingw compiler its Makefile names the static library libdeflatestatic.lib (an
        # ar archive, as MSVC users expect the name); installed as libdeflate.a for -ldeflate.
        # Without LIBDEFLATE_DLL the header declares plain functions, no dllimport.
        make -j"$(nproc)" CC="$HOST-gcc" AR="$HOST-ar" DISABLE_SHARED=1 libdeflatestatic.lib
        install -D -m 644 libdeflatestatic.lib "$PREFIX/lib/libdeflate.a"
        install -D -m 644 libdeflate.h "$PREFIX/include/libdeflate.h"
    ) >>"$LOG" 2>&1 || die "libdeflate failed; see $LOG"
}

build_cmocka() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'cmocka-*' | head -n1)
    [ -n "$src" ] || die "cmocka source tree missing"
    say "cmocka: cmake + make"
    (
        cmake -S "$src" -B "$WORK/cmocka-build" \
            -DCMAKE_SYSTEM_NAME=Windows \
            -DCMAKE_C_COMPILER="$HOST-gcc" \
            -DCMAKE_RC_COMPILER="$HOST-windres" \
            -DCMAKE_FIND_ROOT_PATH="/usr/$HOST" \
            -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
            -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
            -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
            -DCMAKE_BUILD_TYPE=Release \
            -DCMAKE_INSTALL_PREFIX="$PREFIX" \
            -DBUILD_STATIC_LIB=ON -DWITH_STATIC_LIB=ON \
            -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
        make -j"$(nproc)" -C "$WORK/cmocka-build" cmocka-static
        install -D -m 644 "$WORK/cmocka-build/src/libcmocka-static.a" "$PREFIX/lib/libcmocka-static.a"
        install -D -m 644 "$src/include/cmocka.h" "$PREFIX/include/cmocka.h"
    ) >>"$LOG" 2>&1 || die "cmocka failed; see $LOG"
}

main() {
    local versions key
    versions=$(source_versions)
    if [ -z "$versions" ]; then
        if [ -f "$STAMP" ]; then
            say "no deb-src index to check versions against; reusing $PREFIX as built for:"
            sed 's/^/    /' "$STAMP" >&2
            exit 0
        fi
        die "apt cannot find the source packages ${SOURCE_PACKAGES[*]}: add a deb-src entry for your Debian suite and run apt-get update (packaging/install-build-deps.sh does both)"
    fi
    key=$(cache_key "$versions")
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$key" ]; then
        say "cache hit: $PREFIX ($(echo $versions))"
        exit 0
    fi

    for tool in "$HOST-gcc" "$HOST-ar" "$HOST-windres" make cmake dpkg-source; do
        command -v "$tool" >/dev/null || die "$tool not found (run packaging/install-build-deps.sh)"
    done
    say "building into $PREFIX for: $(echo $versions)"
    rm -rf "$PREFIX" "$WORK"
    mkdir -p "$PREFIX" "$WORK"
    : >"$LOG"
    say "fetching Debian sources (apt-get source ${SOURCE_PACKAGES[*]})"
    # Ask for exactly the versions the key names, so key and contents cannot disagree.
    (cd "$WORK" && apt-get source -qq $versions) >>"$LOG" 2>&1 \
        || die "apt-get source failed; see $LOG"
    build_libmicrohttpd
    build_cjson
    build_libdeflate
    build_cmocka
    rm -rf "$WORK"
    # Written last: an interrupted build leaves no stamp and is redone next time.
    printf '%s\n' "$key" >"$STAMP"
    say "done: $PREFIX"
}

main
