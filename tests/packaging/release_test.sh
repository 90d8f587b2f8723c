#!/bin/bash
# packaging/build-release.sh as a release manager runs it, with a throw-away code-signing
# certificate made here: the MSI, the zip and SHA256SUMS exist under their names, the sums
# check, the zip holds exactly the listed files (the documents equal the repository's, the
# example config is accepted by the exporter), the MSI holds the service tables, and the
# MSI, the exe in the zip and the exe in the MSI carry a signature that osslsigncode
# verifies against the certificate, from its subject; one changed byte breaks it. sign.sh
# also signs with a password-protected PKCS#12, and refuses to run without credentials.
#
# Environment: TCPIP_EXPORTER_SOURCE_ROOT, TCPIP_EXPORTER_NATIVE (set by meson),
# BUILD_PREFIX (where build-release.sh puts release-win; default beside the native build).
set -uo pipefail
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*"; }

ROOT=${TCPIP_EXPORTER_SOURCE_ROOT:?}
NATIVE=${TCPIP_EXPORTER_NATIVE:?}
for tool in x86_64-w64-mingw32-gcc wine wixl msibuild msiinfo msiextract osslsigncode openssl zip unzip; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tcpip-release-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tcpip_exporter test signing" \
    -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>"$WORK/openssl.log" \
    || fail "openssl: $(cat "$WORK/openssl.log")"

OUT=$WORK/out
SIGN_CERT=$WORK/cert.pem SIGN_KEY=$WORK/key.pem SIGN_CAFILE=$WORK/cert.pem \
    "$ROOT/packaging/build-release.sh" "$OUT" >"$WORK/release.log" 2>&1 \
    || { tail -n 40 "$WORK/release.log"; fail "build-release.sh failed"; }
grep -q "signed: yes" "$WORK/release.log" || fail "build-release.sh did not sign"

version=$(sed -n "s/^ *version *: *'\([0-9.]*\)'.*/\1/p" "$ROOT/meson.build" | head -n 1)
NAME=tcpip_exporter-$version-windows-amd64
for f in "$NAME.msi" "$NAME.zip" SHA256SUMS; do
    [ -s "$OUT/$f" ] || fail "$f is missing from the release files: $(ls "$OUT")"
done
[ "$(ls "$OUT" | wc -l)" -eq 3 ] || fail "more than the three release files: $(ls "$OUT")"
(cd "$OUT" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not check"
[ "$(cut -d' ' -f3 "$OUT/SHA256SUMS" | sort | tr '\n' ' ')" = "$NAME.msi $NAME.zip " ] \
    || fail "SHA256SUMS does not name the two files: $(cat "$OUT/SHA256SUMS")"
note "$(cat "$OUT/SHA256SUMS" | tr '\n' ' ')"

# ---- the zip: exactly these, the documents as in the repository
expected="tcpip_exporter.exe README.md LICENSE THIRD-PARTY-NOTICES.md service/README.md
exporter/README.md tcpip_exporter.example.json packaging/prometheus/scrape.yml
packaging/prometheus/recording_rules.yml packaging/prometheus/alert_rules.yml
packaging/grafana/tcpip_exporter.json"
listing=$(unzip -Z1 "$OUT/$NAME.zip" | sort)
[ "$listing" = "$(for f in $expected; do echo "$NAME/$f"; done | sort)" ] \
    || fail "the zip holds: $listing"
mkdir -p "$WORK/zip" && unzip -q "$OUT/$NAME.zip" -d "$WORK/zip" || fail "unzip failed"
Z=$WORK/zip/$NAME
for f in $expected; do
    case $f in
        tcpip_exporter.exe) ;;
        tcpip_exporter.example.json) cmp -s "$ROOT/packaging/$f" "$Z/$f" || fail "$f differs" ;;
        *) cmp -s "$ROOT/$f" "$Z/$f" || fail "$f in the zip differs from the repository's" ;;
    esac
done
"$NATIVE" --config.file "$Z/tcpip_exporter.example.json" --etl "$ROOT/tests/etl/corpus/mixed64.etl" \
    --summary >/dev/null 2>"$WORK/example.log" || fail "the example config is refused: $(cat "$WORK/example.log")"
note "zip: $(echo "$listing" | wc -l) files, as listed; the example config is accepted"

# ---- the MSI's tables
rows() { msiinfo export "$OUT/$NAME.msi" "$1" | tr -d '\r' | tail -n +4; }
[ "$(rows MsiServiceConfig | wc -l)" -eq 4 ] || fail "MsiServiceConfig: $(rows MsiServiceConfig)"
[ "$(rows MsiServiceConfigFailureActions | wc -l)" -eq 1 ] || fail "no failure actions in the MSI"
rows InstallExecuteSequence | grep -q "^MsiConfigureServices" || fail "no MsiConfigureServices"
rows Upgrade | grep -q . || fail "no Upgrade rows"
rows Property | grep -q "^ProductVersion"$'\t'"$version\$" || fail "the MSI's version is not $version"
note "MSI: MsiServiceConfig, MsiServiceConfigFailureActions, MsiConfigureServices, Upgrade, version $version"

# ---- signatures, checked against the throw-away certificate
verify() { # FILE WHAT
    osslsigncode verify -CAfile "$WORK/cert.pem" -in "$1" >"$WORK/verify.log" 2>&1 \
        || fail "$2 does not verify: $(tail -n 5 "$WORK/verify.log")"
    grep -q "Subject: .*CN *= *tcpip_exporter test signing" "$WORK/verify.log" \
        || fail "$2 is not signed by the test certificate: $(grep -i subject "$WORK/verify.log")"
}
verify "$OUT/$NAME.msi" "the MSI"
verify "$Z/tcpip_exporter.exe" "the exe in the zip"
mkdir -p "$WORK/msi" && (cd "$WORK/msi" && msiextract "$OUT/$NAME.msi" >/dev/null) || fail "msiextract failed"
inner=$(find "$WORK/msi" -name tcpip_exporter.exe | head -n 1)
[ -n "$inner" ] || fail "no tcpip_exporter.exe inside the MSI"
verify "$inner" "the exe in the MSI"
cmp -s "$inner" "$Z/tcpip_exporter.exe" || fail "the MSI and the zip hold different exes"
cp "$Z/tcpip_exporter.exe" "$WORK/tampered.exe"
printf 'X' | dd of="$WORK/tampered.exe" bs=1 seek=4096 conv=notrunc 2>/dev/null
osslsigncode verify -CAfile "$WORK/cert.pem" -in "$WORK/tampered.exe" >/dev/null 2>&1 \
    && fail "an exe with one byte changed still verifies"
note "signed: the MSI, the exe in the zip and in the MSI verify; one changed byte does not"

# ---- sign.sh: PKCS#12 with a password from a file; no credentials, no signing
printf 'test-password\n' >"$WORK/pass.txt"
openssl pkcs12 -export -inkey "$WORK/key.pem" -in "$WORK/cert.pem" -passout file:"$WORK/pass.txt" \
    -out "$WORK/cert.p12" 2>>"$WORK/openssl.log" || fail "openssl pkcs12 failed"
cp "$inner" "$WORK/p12.exe"
osslsigncode remove-signature -in "$WORK/p12.exe" -out "$WORK/unsigned.exe" >/dev/null 2>&1 \
    || fail "cannot remove the signature for the PKCS#12 check"
SIGN_PKCS12=$WORK/cert.p12 SIGN_PASSWORD_FILE=$WORK/pass.txt SIGN_CAFILE=$WORK/cert.pem \
    "$ROOT/packaging/sign.sh" "$WORK/unsigned.exe" >"$WORK/p12.log" 2>&1 || fail "sign.sh with PKCS#12: $(cat "$WORK/p12.log")"
verify "$WORK/unsigned.exe" "the exe signed from PKCS#12"
env -u SIGN_CERT -u SIGN_KEY -u SIGN_PKCS12 "$ROOT/packaging/sign.sh" "$WORK/unsigned.exe" >/dev/null 2>&1
[ $? -eq 2 ] || fail "sign.sh without credentials did not refuse with exit 2"
note "sign.sh: PKCS#12 with a password file signs; without credentials it refuses"
echo "all checks passed"
