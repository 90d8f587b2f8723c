#!/bin/bash
# The release files, from a clean clone, in one command:
#
#   packaging/build-release.sh [OUTDIR]          (default: build/release)
#
#   OUTDIR/tcpip_exporter-VERSION-windows-amd64.msi
#   OUTDIR/tcpip_exporter-VERSION-windows-amd64.zip   the exe, README, LICENSE, notices, an
#                                                      example config, the Prometheus rules
#                                                      and the Grafana dashboard
#   OUTDIR/SHA256SUMS                                  of both, for `sha256sum -c`
#
# It builds tcpip_exporter.exe in a release build of its own (BUILD_PREFIX/release-win;
# the Windows dependency cache is BUILD_PREFIX/win/windows-deps, shared with the test
# build), signs the exe and then the MSI when SIGN_CERT and SIGN_KEY (or SIGN_PKCS12) are
# set (packaging/sign.sh says how), and checks what it made: the MSI's service tables, the
# zip's listing, the sums. Files in the zip carry the last commit's time, so two builds of
# one commit give the same zip listing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/build/release}
BUILD_PREFIX=${BUILD_PREFIX:-$ROOT/build/}
WIN=${BUILD_PREFIX}release-win
DEPS=${BUILD_PREFIX}win/windows-deps
step() { printf '\n==> %s\n' "$*"; }

for tool in meson ninja x86_64-w64-mingw32-gcc wine wixl msibuild msiinfo zip unzip sha256sum; do
    command -v "$tool" >/dev/null \
        || { echo "build-release: $tool is missing; run packaging/install-build-deps.sh" >&2; exit 1; }
done
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
case $DEPS in /*) ;; *) DEPS=$PWD/$DEPS ;; esac

step "Windows release build ($WIN)"
# meson runs the cross-built test programs under Wine while it configures: keep Wine's
# state in the build directory.
export WINEPREFIX=${WINEPREFIX:-$WIN/wineprefix} WINEDEBUG=-all
mkdir -p "$WIN"
[ -f "$WIN/build.ninja" ] || meson setup --cross-file "$ROOT/packaging/mingw-w64-x86_64.ini" \
    --buildtype=release -Dwindows_deps_dir="$DEPS" "$WIN" "$ROOT"
ninja -C "$WIN" service/tcpip_exporter.exe
VERSION=$(meson introspect --projectinfo "$WIN" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
NAME=tcpip_exporter-$VERSION-windows-amd64

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tcpip-release.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
TREE=$STAGE/$NAME
mkdir -p "$TREE"
cp "$WIN/service/tcpip_exporter.exe" "$TREE/"
SIGNING=no
if [ -n "${SIGN_PKCS12:-}" ] || { [ -n "${SIGN_CERT:-}" ] && [ -n "${SIGN_KEY:-}" ]; }; then
    SIGNING=yes
    step "signing the exe"
    "$ROOT/packaging/sign.sh" "$TREE/tcpip_exporter.exe"
fi

step "MSI"
"$ROOT/packaging/build-msi.sh" "$VERSION" "$TREE/tcpip_exporter.exe" "$STAGE/$NAME.msi"
if [ "$SIGNING" = yes ]; then
    step "signing the MSI"
    "$ROOT/packaging/sign.sh" "$STAGE/$NAME.msi"
fi

step "zip"
# The documents keep their paths in the repository, so their links between each other hold.
FILES=(
    tcpip_exporter.exe
    README.md LICENSE THIRD-PARTY-NOTICES.md
    service/README.md exporter/README.md
    tcpip_exporter.example.json
    packaging/prometheus/scrape.yml packaging/prometheus/recording_rules.yml
    packaging/prometheus/alert_rules.yml packaging/grafana/tcpip_exporter.json
)
for f in "${FILES[@]}"; do
    case $f in
        tcpip_exporter.exe) ;;
        tcpip_exporter.example.json) cp "$ROOT/packaging/$f" "$TREE/$f" ;;
        *) mkdir -p "$TREE/$(dirname "$f")" && cp "$ROOT/$f" "$TREE/$f" ;;
    esac
done
EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
find "$TREE" -exec touch -h -d "@$EPOCH" {} +
(cd "$STAGE" && printf "$NAME/%s\n" "${FILES[@]}" | zip -q -X -@ "$NAME.zip")

step "checks"
# The zip holds exactly the files listed, and nothing else.
listed=$(unzip -Z1 "$STAGE/$NAME.zip" | sort)
wanted=$(printf "$NAME/%s\n" "${FILES[@]}" | sort)
[ "$listed" = "$wanted" ] || { echo "build-release: the zip holds:"$'\n'"$listed" >&2; exit 1; }
# The MSI carries the service configuration install sets.
for table in MsiServiceConfig MsiServiceConfigFailureActions Upgrade; do
    msiinfo export "$STAGE/$NAME.msi" "$table" | tail -n +4 | grep -q . \
        || { echo "build-release: the MSI has no $table rows" >&2; exit 1; }
done

mkdir -p "$OUT"
rm -f "$OUT/$NAME.msi" "$OUT/$NAME.zip" "$OUT/SHA256SUMS"
cp "$STAGE/$NAME.msi" "$STAGE/$NAME.zip" "$OUT/"
(cd "$OUT" && sha256sum "$NAME.msi" "$NAME.zip" >SHA256SUMS && sha256sum --quiet -c SHA256SUMS)
step "release files in $OUT (signed: $SIGNING)"
(cd "$OUT" && ls -l "$NAME.msi" "$NAME.zip" SHA256SUMS && cat SHA256SUMS)
