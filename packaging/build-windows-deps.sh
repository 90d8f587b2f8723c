#!/bin/bash
# Builds the static Windows x86-64 libraries that tcpip_exporter.exe links, from Debian's own
# source packages (so the Windows build uses the same, Debian-patched code as the Linux one):
#
#   GMP            -> PREFIX/lib/libgmp.a,        PREFIX/include/gmp.h
#   nettle         -> PREFIX/lib/libnettle.a, libhogweed.a, PREFIX/include/nettle/
#   GnuTLS         -> PREFIX/lib/libgnutls.a,     PREFIX/include/gnutls/
#   libmicrohttpd  -> PREFIX/lib/libmicrohttpd.a, PREFIX/include/microhttpd.h (with HTTPS)
#   cJSON          -> PREFIX/lib/libcjson.a,      PREFIX/include/cjson/cJSON.h
#   libdeflate     -> PREFIX/lib/libdeflate.a,    PREFIX/include/libdeflate.h
#   cmocka         -> PREFIX/lib/libcmocka-static.a, PREFIX/include/cmocka.h (test executables)
#   libyaml        -> PREFIX/lib/libyaml.a,       PREFIX/include/yaml.h
#
# PREFIX/lib/pkgconfig has gmp.pc, nettle.pc, hogweed.pc, gnutls.pc, libmicrohttpd.pc and
# yaml-0.1.pc; with PKG_CONFIG_LIBDIR=PREFIX/lib/pkgconfig,
# `pkg-config --static --cflags --libs libmicrohttpd gnutls yaml-0.1` is the whole static link
# line (everything here is static only, so --static is needed: the dependencies are in
# Requires.private/Libs.private). Consumers get -DYAML_DECLARE_STATIC from yaml-0.1.pc; the
# installed gnutls/gnutls.h is edited to never dllimport (see build_gnutls), so GnuTLS needs no
# define. A static GnuTLS must be initialised with gnutls_global_init() by the program.
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
# it), dpkg-dev, make, cmake, pkg-config, gcc (native: GMP and nettle run generated programs
# at build time), gcc-mingw-w64-x86-64. No m4, autoconf or automake: see build_gmp and
# build_gnutls for how Debian's patches to autotools inputs are dealt with. Logs go to PREFIX.log.
set -euo pipefail

HOST=x86_64-w64-mingw32
# The oldest Windows the exe must load on: 7 SP1 / Server 2008 R2 (the NT Kernel Logger path).
# mingw-w64 defaults to Windows 10, and then gnulib inside GnuTLS imports
# GetSystemTimePreciseAsFileTime (Windows 8) directly instead of looking it up at run time,
# and the exe would not start on Windows 7. Every library is compiled with this floor;
# tests/build/check_windows_imports.sh refuses the exe if a newer function is imported.
WIN_FLOOR='-D_WIN32_WINNT=0x0601 -DWINVER=0x0601'
SOURCE_PACKAGES=(gmp nettle gnutls28 libmicrohttpd cjson libdeflate cmocka libyaml)

die() { echo "build-windows-deps: $*" >&2; exit 1; }
say() { echo "build-windows-deps: $*" >&2; }

# pkg-config that sees only PREFIX's .pc files (never the build machine's or mingw's own).
pc() { PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH='' pkg-config "$@"; }

[ $# -eq 1 ] || die "usage: $0 PREFIX"
case "$1" in
    /*) PREFIX=$1 ;;
    *) PREFIX=$PWD/$1 ;;
esac
PREFIX=${PREFIX%/}
STAMP=$PREFIX/.stamp
LOG=$PREFIX.log
WORK=$PREFIX.work

# "name=version" for each source package, as `apt-get source` would fetch it (the highest
# version in the deb-src index, with its epoch, e.g. gmp=2:6.2.1+dfsg1-1.1); empty when apt
# cannot tell (no deb-src index, or a package missing from it). From `apt-cache showsrc`, not
# `apt-get source --print-uris`: that takes 0.9 s for these eight packages, most of a cache
# hit; this takes a third of that.
source_versions() {
    local records name version best out=
    records=$(apt-cache showsrc --only-source "${SOURCE_PACKAGES[@]}" 2>/dev/null) || return 0
    for name in "${SOURCE_PACKAGES[@]}"; do
        best=
        # One stanza per version and suite: "Package: NAME" comes before its "Version: V".
        for version in $(awk -v p="$name" '/^Package: / { n = $2 } /^Version: / && n == p { print $2 }' <<<"$records"); do
            if [ -z "$best" ] || dpkg --compare-versions "$version" gt "$best"; then
                best=$version
            fi
        done
        [ -n "$best" ] || return 0
        out+="$name=$best"$'\n'
    done
    printf '%s' "$out" | sort
}

cache_key() {
    local versions=$1 script_hash cc_version
    script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
    cc_version=$("$HOST-gcc" -dumpversion)
    printf '%s\n' $versions "cc=$HOST-gcc-$cc_version" "script=$script_hash"
}

build_gmp() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'gmp-*' | head -n1)
    [ -n "$src" ] || die "GMP source tree missing"
    say "GMP: configure + make (generic C, about 40 s)"
    (
        cd "$src"
        # Debian's dfsg tarball has no doc/; its patch Exclude-doc-Makefile drops doc/ from
        # configure.ac and Makefile.am, which only autoreconf would carry into the generated
        # files. Make the same two changes to configure and Makefile.in (maintainer mode is off,
        # so make does not try to regenerate them from the patched inputs).
        sed -i '/^ac_config_files=/s| doc/Makefile||' configure
        sed -i 's/^\(SUBDIRS = .*\) doc$/\1/' Makefile.in
        if grep -q '^ac_config_files=.* doc/Makefile' configure || grep -q '^SUBDIRS = .* doc$' Makefile.in; then
            echo "GMP: could not drop doc/ from configure or Makefile.in"; exit 1
        fi
        # Real GMP, not nettle's mini-gmp: under Wine, nettle's hogweed-benchmark signs with
        # RSA-2048 7x faster (0.32 against 0.045 signatures/ms; 0.21 against 0.04 for the
        # timing-resistant rsa-tr that GnuTLS uses) and with ECDSA P-256 2.7x faster, for about
        # 40 s more build; and nettle's manual says mini-gmp builds are "more likely to leak
        # side-channel information".
        # --disable-assembly: GMP's x86-64 assembly is preprocessed with m4, which the build
        # machines do not have. With it RSA-2048 signing is another 3.7x faster (1.18/ms) for
        # the same build time: add m4 to install-build-deps.sh and drop --disable-assembly and
        # M4= below to get it. M4=m4-not-needed: even without assembly configure asks for m4,
        # only for the cycle counter of its tune/ programs, which are not built.
        ./configure --host="$HOST" --prefix="$PREFIX" \
            --disable-assembly --disable-cxx --enable-static --disable-shared \
            CPPFLAGS="$WIN_FLOOR" M4=m4-not-needed
        # The top-level "all" builds only libgmp (tests, demos and tune are check/extra programs).
        make -j"$(nproc)"
        make install
    ) >>"$LOG" 2>&1 || die "GMP failed; see $LOG"
}

build_nettle() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'nettle-*' | head -n1)
    [ -n "$src" ] || die "nettle source tree missing"
    say "nettle: configure + make (libnettle and libhogweed, about 25 s)"
    (
        cd "$src"
        # Debian's fPIC.patch edits aclocal.m4 and configure themselves; that leaves aclocal.m4
        # newer than stamp-h.in, and nettle's Makefile would then rerun autoheader (not
        # installed). config.h.in needs no change, so mark it up to date.
        touch stamp-h.in config.h.in
        # --disable-assembler: nettle's assembly also needs m4 (see build_gmp). The hot paths of
        # TLS record protection (AES-GCM, SHA, GHASH) are GnuTLS's own x86 assembly instead
        # (AES-NI, PCLMUL, SSSE3: plain .s files, picked at run time), so this costs little.
        ./configure --host="$HOST" --prefix="$PREFIX" \
            --disable-assembler --disable-documentation --disable-openssl \
            --enable-static --disable-shared \
            CFLAGS=-O2 CPPFLAGS="-I$PREFIX/include $WIN_FLOOR" LDFLAGS="-L$PREFIX/lib"
        grep -q '^#define NETTLE_USE_MINI_GMP 0' version.h \
            || { echo "nettle: configured with mini-gmp, not PREFIX's GMP"; exit 1; }
        # all-here: the libraries only, not tools/, testsuite/ and examples/.
        make -j"$(nproc)" all-here
        make install-here
    ) >>"$LOG" 2>&1 || die "nettle failed; see $LOG"
}

build_gnutls() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'gnutls28-*' | head -n1)
    [ -n "$src" ] || die "GnuTLS source tree missing"
    say "GnuTLS: configure + make (lib only, about 3 minutes)"
    (
        cd "$src"
        # Debian's patches edit configure.ac, gl/Makefile.am and m4/ (Debian's build reruns
        # autoreconf). --disable-maintainer-mode keeps make from trying to regenerate from them.
        # Of those edits, the library needs only one: 51_add-gnulib-linkedhash-list-module adds
        # gnulib's linked-hash list (used by 50_Fix-removal-of-duplicate-certs in
        # lib/x509/verify-high.c) to libgnu, so add its two objects to gl/Makefile.in. The rest
        # are test lists and a gettext domain (unused with --disable-nls; the build would fail
        # if it were not).
        sed -i 's/^am_libgnu_la_OBJECTS = /&gl_linkedhash_list.lo gl_list.lo /' gl/Makefile.in
        grep -q '^am_libgnu_la_OBJECTS = gl_linkedhash_list.lo gl_list.lo ' gl/Makefile.in \
            || { echo "GnuTLS: could not add gl_linkedhash_list to gl/Makefile.in"; exit 1; }
        # No dependency outside PREFIX and Windows: included libtasn1 and libunistring, no
        # p11-kit, libidn2, TPM, zlib/brotli/zstd (mingw's zlib would be picked up otherwise).
        # --enable-threads=windows: gnulib's locks on Windows' own API, not winpthread.
        # --with-system-priority-file= (empty): no system-wide config file. Its default,
        # /etc/gnutls/config, is \etc\gnutls\config on the current drive on Windows, where by
        # default any user may create directories, and the file can change which algorithms
        # are allowed.
        # ac_cv_search___atomic_load_4: the check calls __atomic_load_4 as a function, which
        # x86-64 gcc inlines; without it configure adds a needless -latomic (and so
        # libatomic-1.dll to a link without -static).
        PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH='' \
        ./configure --host="$HOST" --prefix="$PREFIX" \
            --enable-static --disable-shared \
            --disable-maintainer-mode --disable-dependency-tracking \
            --disable-doc --disable-manpages --disable-tools --disable-tests \
            --disable-full-test-suite --disable-valgrind-tests --disable-gcc-warnings \
            --disable-cxx --disable-guile --disable-nls --disable-libdane \
            --without-p11-kit --without-idn --without-tpm --without-tpm2 \
            --without-zlib --without-brotli --without-zstd \
            --with-included-libtasn1 --with-included-unistring \
            --enable-threads=windows --with-system-priority-file= \
            CFLAGS=-O2 CPPFLAGS="-I$PREFIX/include $WIN_FLOOR" LDFLAGS="-L$PREFIX/lib" \
            ac_cv_search___atomic_load_4="none required"
        # gl/ (gnulib) and lib/ are all libgnutls needs; the top level would also enter po/,
        # src/gl/ and others.
        make -j"$(nproc)" -C gl
        make -j"$(nproc)" -C lib
        make -C lib install
        # gnutls.h declares its exported variables (gnutls_free, gnutls_malloc, ...) dllimport
        # on Windows unless GNUTLS_INTERNAL_BUILD, which also changes what gnutls_free does.
        # There is no DLL here to import from, so the installed header never dllimports (as
        # GMP's gmp.h has __GMP_LIBGMP_DLL 0 built in for a static GMP).
        sed -i 's|^#if !defined(GNUTLS_INTERNAL_BUILD) && defined(_WIN32)$|#if 0 /* static libgnutls.a only (build-windows-deps.sh): nothing to dllimport from */|' \
            "$PREFIX/include/gnutls/gnutls.h"
        grep -q '^#if 0 /\* static libgnutls.a only' "$PREFIX/include/gnutls/gnutls.h" \
            || { echo "GnuTLS: could not turn off dllimport in gnutls.h"; exit 1; }
        # configure's Libs.private repeats -lws2_32 and has -pthread, which gnulib's pthread
        # check adds though nothing uses it (with Windows threads no pthread_* is called; it
        # would link mingw's winpthread). bcrypt before ncrypt: mingw's libncrypt.a also has
        # the BCrypt* functions, which belong to bcrypt.dll. GMP comes from hogweed.pc.
        sed -i 's|^Libs.private:.*|Libs.private: -lcrypt32 -lbcrypt -lncrypt -ladvapi32 -lws2_32|' \
            "$PREFIX/lib/pkgconfig/gnutls.pc"
    ) >>"$LOG" 2>&1 || die "GnuTLS failed; see $LOG"
}

build_libmicrohttpd() {
    local src
    src=$(find "$WORK" -maxdepth 1 -type d -name 'libmicrohttpd-*' | head -n1)
    [ -n "$src" ] || die "libmicrohttpd source tree missing"
    say "libmicrohttpd: configure + make, with HTTPS (about a minute)"
    (
        cd "$src"
        # HTTPS through PREFIX's GnuTLS. GNUTLS_CFLAGS/GNUTLS_LIBS are given, not looked up:
        # configure's pkg-config call has no --static, and its link test of a static GnuTLS
        # needs the whole line. --enable-https makes configure fail rather than quietly build
        # without HTTPS; libmicrohttpd.pc then has Requires.private: gnutls.
        ./configure --host="$HOST" --prefix="$PREFIX" \
            --enable-https --disable-doc --disable-examples --disable-curl \
            --disable-nls --enable-static --disable-shared \
            PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH='' \
            CPPFLAGS="$WIN_FLOOR" \
            GNUTLS_CFLAGS="$(pc --cflags gnutls)" GNUTLS_LIBS="$(pc --static --libs gnutls)"
        grep -q '^#define HTTPS_SUPPORT 1' MHD_config.h \
            || { echo "libmicrohttpd: configured without HTTPS"; exit 1; }
        make -j"$(nproc)" -C src/microhttpd
        make -C src/microhttpd install
        make -C src/include install
        # The .pc file is installed by the top-level Makefile; ours tells what to link.
        # configure puts -lws2_32 (winsock) in libmicrohttpd.la but not in the .pc file.
        sed -i 's|^Libs.private:.*|Libs.private: -lws2_32|' libmicrohttpd.pc
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
        "$HOST-gcc" -O2 -std=c89 $WIN_FLOOR -DCJSON_HIDE_SYMBOLS -c cJSON.c -o cJSON.o
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
        make -j"$(nproc)" CC="$HOST-gcc" AR="$HOST-ar" CPPFLAGS="$WIN_FLOOR" DISABLE_SHARED=1 \
            libdeflatestatic.lib
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
            -DCMAKE_C_FLAGS="$WIN_FLOOR" \
            -DCMAKE_INSTALL_PREFIX="$PREFIX" \
            -DBUILD_STATIC_LIB=ON -DWITH_STATIC_LIB=ON \
            -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
        make -j"$(nproc)" -C "$WORK/cmocka-build" cmocka-static
        install -D -m 644 "$WORK/cmocka-build/src/libcmocka-static.a" "$PREFIX/lib/libcmocka-static.a"
        install -D -m 644 "$src/include/cmocka.h" "$PREFIX/include/cmocka.h"
    ) >>"$LOG" 2>&1 || die "cmocka failed; see $LOG"
}

build_libyaml() {
    local src major minor patch
    src=$(find "$WORK" -maxdepth 1 -type d -name 'libyaml-*' | head -n1)
    [ -n "$src" ] || die "libyaml source tree missing"
    say "libyaml: compile src/*.c"
    (
        cd "$src"
        # The tarball has no configure; its CMakeLists.txt holds the version that config.h
        # would carry, so pass that as -D instead.
        major=$(sed -n 's/^set (YAML_VERSION_MAJOR \([0-9]*\))$/\1/p' CMakeLists.txt)
        minor=$(sed -n 's/^set (YAML_VERSION_MINOR \([0-9]*\))$/\1/p' CMakeLists.txt)
        patch=$(sed -n 's/^set (YAML_VERSION_PATCH \([0-9]*\))$/\1/p' CMakeLists.txt)
        [ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] \
            || { echo "libyaml: no version in CMakeLists.txt"; exit 1; }
        # YAML_DECLARE_STATIC: a static library, neither dllexport nor dllimport (what its
        # CMakeLists.txt makes a PUBLIC define of a static build). yaml-0.1.pc passes it on;
        # mingw's gcc would not need it (yaml.h declares plainly for __MINGW32__), others would.
        mkdir -p build
        for f in src/*.c; do
            "$HOST-gcc" -O2 $WIN_FLOOR -DYAML_DECLARE_STATIC \
                -DYAML_VERSION_MAJOR="$major" -DYAML_VERSION_MINOR="$minor" \
                -DYAML_VERSION_PATCH="$patch" -DYAML_VERSION_STRING="\"$major.$minor.$patch\"" \
                -Iinclude -c "$f" -o "build/$(basename "$f" .c).o"
        done
        "$HOST-ar" rcs build/libyaml.a build/*.o
        install -D -m 644 build/libyaml.a "$PREFIX/lib/libyaml.a"
        install -D -m 644 include/yaml.h "$PREFIX/include/yaml.h"
        # yaml-0.1.pc.in, filled in as its configure would, plus the static define.
        sed -e "s|@prefix@|$PREFIX|; s|@exec_prefix@|\${prefix}|" \
            -e "s|@includedir@|\${prefix}/include|; s|@libdir@|\${exec_prefix}/lib|" \
            -e "s|@PACKAGE_VERSION@|$major.$minor.$patch|" \
            -e 's|^Cflags: .*|& -DYAML_DECLARE_STATIC|' \
            yaml-0.1.pc.in >yaml-0.1.pc
        ! grep -q @ yaml-0.1.pc || { echo "libyaml: unfilled @...@ in yaml-0.1.pc"; exit 1; }
        install -D -m 644 yaml-0.1.pc "$PREFIX/lib/pkgconfig/yaml-0.1.pc"
    ) >>"$LOG" 2>&1 || die "libyaml failed; see $LOG"
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

    for tool in "$HOST-gcc" "$HOST-ar" "$HOST-windres" gcc make cmake pkg-config dpkg-source; do
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
    # In dependency order: GMP <- nettle/hogweed <- GnuTLS <- libmicrohttpd.
    build_gmp
    build_nettle
    build_gnutls
    build_libmicrohttpd
    build_cjson
    build_libdeflate
    build_cmocka
    build_libyaml
    rm -rf "$WORK"
    # Written last: an interrupted build leaves no stamp and is redone next time.
    printf '%s\n' "$key" >"$STAMP"
    say "done: $PREFIX"
}

main
