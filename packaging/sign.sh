#!/bin/bash
# Authenticode-signs Windows files (the exe, the MSI) in place with osslsigncode (Debian
# package osslsigncode), then verifies each signature.
#
#   SIGN_CERT=cert.pem SIGN_KEY=key.pem packaging/sign.sh FILE...
#   SIGN_PKCS12=cert.p12 [SIGN_PASSWORD_FILE=pass.txt] packaging/sign.sh FILE...
#
# SIGN_CERT: the certificate (PEM, with any intermediates after it); SIGN_KEY: its private
# key (PEM; SIGN_PASSWORD_FILE holds the key's password if it has one). Or SIGN_PKCS12: both
# in one .p12/.pfx. SIGN_TIMESTAMP_URL: an RFC 3161 time-stamping server, so signatures
# stay valid after the certificate expires (none by default: it needs the network).
# SIGN_CAFILE: the roots to verify against (default: the system's; a test passes its own).
# The password is read from a file, never from the command line, so `ps` does not show it.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
command -v osslsigncode >/dev/null || { echo "sign: osslsigncode is missing (apt-get install osslsigncode)" >&2; exit 1; }

credentials=()
if [ -n "${SIGN_PKCS12:-}" ]; then
    [ -f "$SIGN_PKCS12" ] || { echo "sign: SIGN_PKCS12: $SIGN_PKCS12 does not exist" >&2; exit 1; }
    credentials=(-pkcs12 "$SIGN_PKCS12")
elif [ -n "${SIGN_CERT:-}" ] && [ -n "${SIGN_KEY:-}" ]; then
    for f in "$SIGN_CERT" "$SIGN_KEY"; do
        [ -f "$f" ] || { echo "sign: $f does not exist" >&2; exit 1; }
    done
    credentials=(-certs "$SIGN_CERT" -key "$SIGN_KEY")
else
    echo "sign: set SIGN_CERT and SIGN_KEY, or SIGN_PKCS12" >&2
    exit 2
fi
if [ -n "${SIGN_PASSWORD_FILE:-}" ]; then
    [ -f "$SIGN_PASSWORD_FILE" ] || { echo "sign: $SIGN_PASSWORD_FILE does not exist" >&2; exit 1; }
    credentials+=(-readpass "$SIGN_PASSWORD_FILE")
fi
timestamp=()
[ -z "${SIGN_TIMESTAMP_URL:-}" ] || timestamp=(-ts "$SIGN_TIMESTAMP_URL")
verify_ca=()
[ -z "${SIGN_CAFILE:-}" ] || verify_ca=(-CAfile "$SIGN_CAFILE")

for file in "$@"; do
    [ -f "$file" ] || { echo "sign: $file does not exist" >&2; exit 1; }
    # osslsigncode writes a new file; replace the original only once it succeeded.
    osslsigncode sign "${credentials[@]}" "${timestamp[@]}" -h sha256 \
        -n "tcpip_exporter" \
        -in "$file" -out "$file.signed" >/dev/null \
        || { rm -f "$file.signed"; echo "sign: signing $file failed" >&2; exit 1; }
    mv "$file.signed" "$file"
    osslsigncode verify "${verify_ca[@]}" -in "$file" >/dev/null \
        || { echo "sign: $file does not verify after signing" >&2; exit 1; }
    echo "sign: $file signed"
done
