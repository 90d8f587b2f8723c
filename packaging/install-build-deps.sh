#!/bin/bash
# Installs everything needed to build and test tcpip_exporter on Debian 12 (bookworm):
# the Debian packages, and a deb-src entry for the same suites so that
# packaging/build-windows-deps.sh can `apt-get source` libmicrohttpd, cJSON, libdeflate and
# cmocka.
#
#   packaging/install-build-deps.sh           install what is missing (needs root)
#   packaging/install-build-deps.sh --check   only say what is missing; exit 1 if anything is
#
# Idempotent: a second run changes nothing and does not touch the network when all is there.
set -euo pipefail

PACKAGES=(
    # native build
    gcc make pkg-config meson ninja-build
    libmicrohttpd-dev libcjson-dev libdeflate-dev libcmocka-dev
    # the web configuration: TLS, bcrypt, YAML
    libgnutls28-dev nettle-dev libyaml-dev
    # sanitizers and libFuzzer (clang-14 is the fuzzing compiler)
    clang-14 libfuzzer-14-dev libclang-rt-14-dev
    # Windows cross build, its static deps, and running it
    gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 mingw-w64-tools
    dpkg-dev cmake wine wine64 wixl msitools
    # tools the tests and benchmarks use
    curl prometheus python3-prometheus-client python3-yaml wrk hyperfine prometheus-node-exporter
    # the system trust a verifying client_auth_type without client_ca_file uses (http_tls)
    ca-certificates
    # release files: the zip, Authenticode signing and its throw-away test certificate
    zip unzip osslsigncode openssl
    # the live page's test in a headless browser
    chromium
)

# The deb-src entry lives in a file of its own, derived from the machine's deb822 file, so the
# original is never edited; it is rewritten from scratch each time (hence idempotent).
DEB822_SOURCES=/etc/apt/sources.list.d/debian.sources
OUR_SOURCES=/etc/apt/sources.list.d/tcpip-exporter-deb-src.sources
OUR_LIST=/etc/apt/sources.list.d/tcpip-exporter-deb-src.list

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        # `dpkg-query` says "install ok installed" only for a fully installed package.
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
            printf '%s\n' "$p"
        fi
    done
}

# True when apt already knows a source package (deb-src configured and its index downloaded).
have_source_index() {
    apt-get source --print-uris -qq cjson >/dev/null 2>&1
}

# True when some entry other than ours already provides deb-src.
other_deb_src_configured() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        case "$f" in "$OUR_SOURCES" | "$OUR_LIST") continue ;; esac
        if grep -qE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' "$f"; then
            return 0
        fi
    done
    return 1
}

write_deb_src_entry() {
    if other_deb_src_configured; then
        return 0
    fi
    if [ -f "$DEB822_SOURCES" ]; then
        # Copy every stanza of the Debian file (same URIs, suites, components, keys), with
        # Types set to deb-src. Third-party repositories are left out: they rarely publish
        # sources and a missing Sources index makes `apt-get update` fail.
        {
            echo "# Written by tcpip_exporter's packaging/install-build-deps.sh from $DEB822_SOURCES."
            awk '/^[[:space:]]*Types:/ { print "Types: deb-src"; next } { print }' "$DEB822_SOURCES"
        } >"$OUR_SOURCES.tmp"
        mv "$OUR_SOURCES.tmp" "$OUR_SOURCES"
    elif [ -f /etc/apt/sources.list ] && grep -qE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
        # One-line format: mirror each `deb` line of the main list as `deb-src`.
        {
            echo "# Written by tcpip_exporter's packaging/install-build-deps.sh from /etc/apt/sources.list."
            sed -nE 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list
        } >"$OUR_LIST.tmp"
        mv "$OUR_LIST.tmp" "$OUR_LIST"
    else
        echo "install-build-deps: no $DEB822_SOURCES or deb line in /etc/apt/sources.list;" >&2
        echo "add a deb-src entry for your Debian suite by hand, then rerun." >&2
        return 1
    fi
}

check_only() {
    local missing rc=0
    missing=$(missing_packages)
    if [ -n "$missing" ]; then
        echo "Missing Debian packages; as root run:"
        echo "  apt-get install -y --no-install-recommends $(echo $missing)"
        rc=1
    fi
    if ! have_source_index; then
        echo "No deb-src index: add a deb-src entry for your Debian suite (as in $DEB822_SOURCES"
        echo "but with 'Types: deb-src'), then run 'apt-get update'. Or run this script as root."
        rc=1
    fi
    [ "$rc" = 0 ] && echo "install-build-deps: everything is installed"
    return "$rc"
}

main() {
    if [ "${1:-}" = "--check" ]; then
        check_only
        return
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "install-build-deps: not root; checking only." >&2
        check_only
        return
    fi
    local missing
    missing=$(missing_packages)
    if [ -n "$missing" ] || ! have_source_index; then
        write_deb_src_entry
        echo "install-build-deps: apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
    fi
    if [ -n "$missing" ]; then
        echo "install-build-deps: installing $(echo $missing)"
        # Recommends are not needed (and wine's pull in a desktop's worth of packages).
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
    if ! have_source_index; then
        echo "install-build-deps: still no deb-src index after apt-get update" >&2
        return 1
    fi
    echo "install-build-deps: everything is installed"
}

main "$@"
