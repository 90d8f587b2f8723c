#!/bin/bash
# --web.config.file in tcpip_exporter.exe under Wine (GnuTLS, nettle and libyaml linked in,
# built from Debian's sources): the same curl checks as natively. With the CA: 200; without:
# curl refuses the server; TLS 1.1 refused; no or a wrong password: 401 with
# WWW-Authenticate: Basic; a client certificate required and missing, or from another CA:
# the handshake fails; a rotated certificate is served without a restart; a bad file: exit 2
# and one line naming the key.
. "$(dirname "$0")/wine_lib.sh"
require_wine
command -v openssl >/dev/null || skip "openssl is not installed"
BCRYPT=${BCRYPT_HASH:-}
[ -x "$BCRYPT" ] || skip "BCRYPT_HASH does not name tests/exporter/bcrypt_hash"
wine_setup

TRACE=$SOURCE_ROOT/tests/etl/corpus/mixed64.etl
D=$WINEPREFIX/drive_c/web
mkdir -p "$D"
pki() { # NAME CN CA EXT
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
        -keyout "$D/$1.key" -out "$D/$1.csr" 2>/dev/null
    printf '%b' "$4" >"$D/$1.ext"
    openssl x509 -req -in "$D/$1.csr" -CA "$D/$3.pem" -CAkey "$D/$3.key" -CAcreateserial \
        -days 2 -extfile "$D/$1.ext" -out "$D/$1.pem" 2>/dev/null || fail "openssl: $1"
}
for ca in ca otherca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$ca" \
        -keyout "$D/$ca.key" -out "$D/$ca.pem" 2>/dev/null || fail "openssl: $ca"
done
pki server one ca 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
pki server2 two ca 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
pki client prometheus ca 'extendedKeyUsage=clientAuth\n'
pki foreign intruder otherca 'extendedKeyUsage=clientAuth\n'
HASH=$("$BCRYPT" 'wine pass' 10)
cp "$D/server.pem" "$D/tls.pem"
cp "$D/server.key" "$D/tls.key"
printf 'tls_server_config:\n  cert_file: tls.pem\n  key_file: tls.key\nbasic_auth_users:\n  alice: %s\n' \
    "$HASH" >"$D/web.yml"

# serve CONFIG [CURL ARGS]: the exe in the console on a free port (PORT, PID), ready once
# curl with those arguments reaches /health
serve() {
    local config=$1
    shift
    PORT=$(free_port)
    wine "$EXE_WIN" --console --etl "$(winpath "$TRACE")" --web.config.file "C:\\web\\$config" \
        --web.listen-address "127.0.0.1:$PORT" >"$WORK/logs/serve-$config.log" 2>&1 </dev/null &
    PID=$!
    local i
    for i in $(seq 1 100); do
        curl -sk -o /dev/null "$@" "https://127.0.0.1:$PORT/health" && return 0
        sleep 0.2
    done
    fail "the exe did not serve $config: $(tail -n 5 "$WORK/logs/serve-$config.log")"
}
unserve() {
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
}
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }

serve web.yml
URL=https://127.0.0.1:$PORT
[ "$(code --cacert "$D/ca.pem" -u 'alice:wine pass' "$URL/metrics")" = 200 ] || fail "curl with the CA and the password"
curl -s -o /dev/null --max-time 10 -u 'alice:wine pass' "$URL/metrics"
[ $? -eq 60 ] || fail "curl without the CA did not refuse the server"
[ "$(code --cacert "$D/ca.pem" "$URL/metrics")" = 401 ] || fail "no password: not 401"
[ "$(code --cacert "$D/ca.pem" -u alice:wrong "$URL/metrics")" = 401 ] || fail "a wrong password: not 401"
curl -s -D - -o /dev/null --cacert "$D/ca.pem" "$URL/metrics" | tr -d '\r' | grep -qi '^WWW-Authenticate: Basic' \
    || fail "no WWW-Authenticate: Basic"
$PY - "$PORT" "$D/ca.pem" <<'PYEOF' || fail "TLS 1.1 was accepted"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(sys.argv[2])
ctx.minimum_version = ssl.TLSVersion.TLSv1
ctx.maximum_version = ssl.TLSVersion.TLSv1_1
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5) as raw:
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    sys.exit(1)
except (ssl.SSLError, OSError):
    sys.exit(0)
PYEOF
note "TLS and basic auth: 200 with CA and password, curl refuses without the CA, 401 without or with a wrong password, TLS 1.1 refused"

subject() {
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$D/ca.pem" </dev/null 2>/dev/null \
        | openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}
[ "$(subject)" = one ] || fail "the first certificate is not served: $(subject)"
cp "$D/server2.key" "$D/tls.key"
cp "$D/server2.pem" "$D/tls.pem"
for i in $(seq 1 50); do
    [ "$(subject)" = two ] && break
    sleep 0.2
done
[ "$(subject)" = two ] || fail "the rotated certificate is not served: $(subject)"
unserve
note "a rotated certificate is served without a restart"

printf 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n' >"$D/mtls.yml"
serve mtls.yml --cert "$D/client.pem" --key "$D/client.key"
URL=https://127.0.0.1:$PORT
[ "$(code --cacert "$D/ca.pem" --cert "$D/client.pem" --key "$D/client.key" "$URL/health")" = 200 ] \
    || fail "a good client certificate was refused"
[ "$(code --cacert "$D/ca.pem" "$URL/health")" = 000 ] || fail "no client certificate was served"
[ "$(code --cacert "$D/ca.pem" --cert "$D/foreign.pem" --key "$D/foreign.key" "$URL/health")" = 000 ] \
    || fail "a client certificate of another CA was served"
unserve
note "RequireAndVerifyClientCert: good certificate served, none and another CA's refused at the handshake"

printf 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS9\n' >"$D/bad.yml"
wine "$EXE_WIN" --console --web.config.file 'C:\web\bad.yml' >"$WORK/logs/bad.out" 2>"$WORK/logs/bad.err" </dev/null
rc=$?
grep -v '^[0-9a-f]*:\(fixme\|err\|warn\):' "$WORK/logs/bad.err" | tr -d '\r' >"$WORK/logs/bad.lines"
[ "$rc" -eq 2 ] && [ "$(wc -l <"$WORK/logs/bad.lines")" -eq 1 ] \
    && grep -q 'line 4: tls_server_config.min_version: unknown TLS version "TLS9"' "$WORK/logs/bad.lines" \
    || fail "a bad file: exit $rc, $(cat "$WORK/logs/bad.lines")"
note "$(cat "$WORK/logs/bad.lines")"
