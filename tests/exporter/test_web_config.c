/* The web configuration: exporter-toolkit's keys, every refusal with its line and key (never
 * a hash), the GnuTLS priority strings and their exact suite sets, and basic auth's cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic_auth.h"
#include "tls_priority.h"
#include "web_config.h"

/* bcrypt of "secret" at cost 4 (nettle's blowfish_bcrypt_hash), so the tests stay fast. */
#define SECRET_HASH "$2b$04$WluJqgseCmbkknyX6RjefedB3jx5lH44jziZ6LqOnkFh8K.lgQg3e"

static struct web_config *parse_ok(const char *text)
{
    char err[512] = "";
    struct web_config *c = web_config_parse(text, strlen(text), err, sizeof err);
    if (c == NULL)
        fail_msg("refused: %s\n%s", err, text);
    return c;
}

static void parse_fails(const char *text, const char *expected)
{
    char err[512] = "";
    struct web_config *c = web_config_parse(text, strlen(text), err, sizeof err);
    if (c != NULL)
        fail_msg("accepted:\n%s", text);
    if (strstr(err, expected) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, expected);
    /* a hash, or what was given in its place, never reaches an error line */
    assert_null(strstr(err, &SECRET_HASH[7])); /* the hash past its "$2b$04$" prefix */
    assert_null(strstr(err, "abcdefghijklmnopqrstuvwxyzabcdef"));
    assert_null(strstr(err, ": secret"));
}

static void full_file(void **state)
{
    (void)state;
    struct web_config *c = parse_ok(
        "tls_server_config:\n"
        "  cert_file: server.pem\n"
        "  key_file: server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        "  client_ca_file: ca.pem\n"
        "  client_allowed_sans: [prometheus.example, 10.0.0.5]\n"
        "  min_version: TLS13\n"
        "  max_version: TLS13\n"
        "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
        "  prefer_server_cipher_suites: false\n"
        "  curve_preferences: [X25519, CurveP256]\n"
        "http_server_config:\n"
        "  http2: false\n"
        "  headers:\n"
        "    Strict-Transport-Security: max-age=31536000\n"
        "    X-Frame-Options: deny\n"
        "    X-XSS-Protection: ''\n"
        "basic_auth_users:\n"
        "  alice: '" SECRET_HASH "'\n"
        "  bob: \"" SECRET_HASH "\"\n");
    assert_true(c->tls);
    assert_string_equal(c->cert_file, "server.pem");
    assert_int_equal(c->client_auth, WEB_CLIENT_AUTH_REQUIRE_VERIFY);
    assert_int_equal(c->allowed_san_count, 2);
    assert_string_equal(c->allowed_sans[1], "10.0.0.5");
    assert_int_equal(c->min_version, WEB_TLS13);
    assert_int_equal(c->cipher_suite_count, 1);
    assert_false(c->prefer_server_cipher_suites);
    assert_int_equal(c->curve_count, 2);
    assert_string_equal(web_curves[c->curves[0]].name, "X25519");
    assert_int_equal(c->header_count, 2); /* the blank one is unset */
    assert_string_equal(c->headers[1].value, "deny");
    assert_int_equal(c->user_count, 2);
    assert_string_equal(c->users[1].name, "bob");
    web_config_free(c);
}

static void defaults_and_empty(void **state)
{
    (void)state;
    struct web_config *c = parse_ok("");
    assert_false(c->tls);
    assert_int_equal(c->user_count, 0);
    web_config_free(c);
    c = parse_ok("tls_server_config:\nbasic_auth_users: ~\n# nothing\n");
    assert_false(c->tls);
    assert_int_equal(c->min_version, WEB_TLS12);
    assert_int_equal(c->max_version, WEB_TLS13);
    assert_true(c->prefer_server_cipher_suites);
    web_config_free(c);
    c = parse_ok("tls_server_config: {cert: \"-----BEGIN\", key: x, client_auth_type: RequireClientCert}\n");
    assert_true(c->tls);
    assert_int_equal(c->client_auth, WEB_CLIENT_AUTH_REQUIRE_ANY); /* the old name */
    web_config_free(c);
}

static void refusals(void **state)
{
    (void)state;
    parse_fails("tls_server_config:\n  cert_fle: a\n", "line 2: tls_server_config.cert_fle: unknown key");
    parse_fails("colour: red\n", "line 1: colour: unknown key");
    parse_fails("rate_limit:\n  burst: 3\n", "rate_limit: not supported");
    parse_fails("tls_server_config:\n  key_file: k\n", "missing one of cert or cert_file");
    parse_fails("tls_server_config:\n  cert_file: c\n", "missing one of key or key_file");
    parse_fails("tls_server_config: {cert_file: c, cert: x, key_file: k}\n", "cert_file or cert, not both");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, min_version: TLS9}\n",
                "tls_server_config.min_version: unknown TLS version \"TLS9\" (TLS10, TLS11, TLS12, TLS13)");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, min_version: TLS13, max_version: TLS12}\n",
                "min_version TLS13 is above max_version TLS12");
    /* Found by fuzz_web_config: without a certificate the versions were not compared, and
     * the default minimum (TLS12) sat above the maximum given. */
    parse_fails("tls_server_config: {curve_preferences,max_version: TLS11}\n",
                "min_version TLS12 is above max_version TLS11");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, client_auth_type: Maybe}\n",
                "unknown client_auth_type \"Maybe\"");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, client_ca_file: ca}\n",
                "client CA's have been configured without a Client Auth Policy");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}\n",
                "cipher_suites: unknown cipher \"TLS_RSA_WITH_RC4_128_SHA\"");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, curve_preferences: [CurveP999]}\n",
                "unknown curve \"CurveP999\"");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, curve_preferences: X25519}\n",
                "curve_preferences: must be a list");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, prefer_server_cipher_suites: maybe}\n",
                "\"maybe\" is not true or false");
    parse_fails("tls_server_config: {cert_file: c, key_file: k, prefer_server_cipher_suites: 'false'}\n",
                "\"false\" is not true or false (a quoted string)");
    parse_fails("tls_server_config:\n  client_auth_type: NoClientCert\n",
                "missing one of cert or cert_file");
    parse_fails("http_server_config:\n  headers:\n    X-Frame-Options: ''\n",
                "X-Frame-Options: blank is not one of deny, sameorigin");
    parse_fails("http_server_config:\n  headers:\n    X-Content-Type-Options:\n",
                "X-Content-Type-Options: blank is not one of nosniff");
    parse_fails("http_server_config:\n  http2: true\n", "http2: true is not possible");
    parse_fails("http_server_config:\n  headers:\n    Server: x\n",
                "HTTP header \"Server\" can not be configured");
    parse_fails("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "\"allow\" is not one of deny, sameorigin");
    parse_fails("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "not one of nosniff");
    parse_fails("basic_auth_users:\n  alice: secret\n", "basic_auth_users.alice: is not a bcrypt hash");
    parse_fails("basic_auth_users:\n  alice: '$2y$99$" "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyza'\n",
                "is not a bcrypt hash");
    parse_fails("basic_auth_users:\n  'a:b': '" SECRET_HASH "'\n", "must not be empty or hold ':'");
    parse_fails("basic_auth_users:\n  alice: '" SECRET_HASH "'\n  alice: '" SECRET_HASH "'\n",
                "line 3: basic_auth_users: \"alice\" is given twice");
    parse_fails("- a\n- b\n", "must be a mapping");
    parse_fails("tls_server_config: [a]\n", "tls_server_config: must be a mapping");
    parse_fails("a: [\n", "not valid YAML");
    parse_fails("basic_auth_users: {}\n---\nbasic_auth_users: {}\n", "a second YAML document");
    parse_fails("tls_server_config:\n  cert_file: \"a\\0b\"\n", "holds a NUL character");
}

/* What exporter-toolkit accepts (its testdata's good files among them) and reads the same
 * way: empty names are not given, a verifying policy may go without a CA (the system's
 * trusted CAs verify), SANs go with any policy that asks for a certificate, and YAML 1.1
 * booleans. */
static void as_exporter_toolkit_reads_it(void **state)
{
    (void)state;
    struct web_config *c = parse_ok("tls_server_config:\n  cert_file: ''\n  key_file: \"\"\n"
                                    "  client_auth_type: ''\n");
    assert_false(c->tls);
    assert_null(c->cert_file);
    web_config_free(c);
    c = parse_ok("tls_server_config: {cert_file: '', cert: PEM, key: K, client_ca_file: ''}\n");
    assert_true(c->tls);
    assert_null(c->cert_file);
    assert_string_equal(c->cert, "PEM");
    web_config_free(c);
    c = parse_ok("tls_server_config: {cert_file: c, key_file: k, "
                 "client_auth_type: VerifyClientCertIfGiven}\n");
    assert_int_equal(c->client_auth, WEB_CLIENT_AUTH_VERIFY_IF_GIVEN);
    assert_null(c->client_ca_file);
    web_config_free(c);
    c = parse_ok("tls_server_config: {cert_file: c, key_file: k, "
                 "client_auth_type: RequireAnyClientCert, client_allowed_sans: [a.example]}\n");
    assert_int_equal(c->allowed_san_count, 1);
    web_config_free(c);
    static const char *const yes[] = {"y", "Yes", "ON", "true"}, *const no[] = {"n", "NO", "off", "False"};
    for (size_t i = 0; i < 4; i++) {
        char text[160];
        snprintf(text, sizeof text, "tls_server_config: {cert_file: c, key_file: k, "
                 "prefer_server_cipher_suites: %s}\n", yes[i]);
        c = parse_ok(text);
        assert_true(c->prefer_server_cipher_suites);
        web_config_free(c);
        snprintf(text, sizeof text, "tls_server_config: {cert_file: c, key_file: k, "
                 "prefer_server_cipher_suites: %s}\n", no[i]);
        c = parse_ok(text);
        assert_false(c->prefer_server_cipher_suites);
        web_config_free(c);
    }
}

static void priority_of(const char *yaml, const char *expected)
{
    struct web_config *c = parse_ok(yaml);
    char out[1024], err[512] = "";
    if (!tls_priority_string(c, out, sizeof out, err, sizeof err))
        fail_msg("refused: %s", err);
    if (strcmp(out, expected) != 0)
        fail_msg("priority \"%s\", wanted \"%s\"", out, expected);
    web_config_free(c);
}

static void priority_refused(const char *yaml, const char *expected)
{
    struct web_config *c = parse_ok(yaml);
    char out[1024], err[512] = "";
    assert_false(tls_priority_string(c, out, sizeof out, err, sizeof err));
    if (strstr(err, expected) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, expected);
    web_config_free(c);
}

#define TLS_HEAD "tls_server_config:\n  cert_file: c\n  key_file: k\n"

static void priorities(void **state)
{
    (void)state;
    priority_of(TLS_HEAD, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE");
    priority_of(TLS_HEAD "  min_version: TLS10\n  max_version: TLS11\n  prefer_server_cipher_suites: false\n",
                "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0");
    priority_of(TLS_HEAD "  curve_preferences: [CurveP384, X25519]\n",
                "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-GROUP-ALL:+GROUP-SECP384R1:"
                "+GROUP-X25519:%SERVER_PRECEDENCE");
    /* the four ECDHE AES-GCM suites are exactly the cross product of their parts */
    priority_of(TLS_HEAD "  max_version: TLS12\n  cipher_suites:\n"
                "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
                "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
                "    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
                "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n",
                "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:"
                "+AES-128-GCM:+AES-256-GCM:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE");
    /* two of them only: GnuTLS would enable the other two as well */
    priority_refused(TLS_HEAD "  max_version: TLS12\n  cipher_suites:\n"
                     "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
                     "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n",
                     "cipher_suites: GnuTLS cannot enable exactly these suites: it would also enable TLS_ECDHE_");
    /* CBC only, with TLS 1.3 on: 1.3's GCM would add the 1.2 GCM suites */
    priority_refused(TLS_HEAD "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n",
                     "would also enable TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    /* TLS 1.3 suites alone leave 1.2 at GnuTLS's defaults, as Go does */
    priority_of(TLS_HEAD "  cipher_suites: [TLS_AES_256_GCM_SHA384]\n",
                "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE");
}

static void auth_cache(void **state)
{
    (void)state;
    struct web_user users[] = { { "alice", SECRET_HASH } };
    struct basic_auth *auth = basic_auth_create(users, 1);
    assert_non_null(auth);
    struct basic_auth_stats st;
    assert_true(basic_auth_check(auth, "alice", "secret", 100));
    assert_true(basic_auth_check(auth, "alice", "secret", 101));
    assert_true(basic_auth_check(auth, "alice", "secret", 100 + BASIC_AUTH_CACHE_SECONDS - 1));
    basic_auth_stats(auth, &st);
    assert_int_equal(st.bcrypt_runs, 1); /* verified once, then remembered */
    assert_int_equal(st.cache_hits, 2);
    for (int i = 0; i < 3; i++)
        assert_false(basic_auth_check(auth, "alice", "wrong", 102));
    assert_false(basic_auth_check(auth, "alice", "secre", 102));
    assert_false(basic_auth_check(auth, "alice", "secret\n", 102));
    basic_auth_stats(auth, &st);
    assert_int_equal(st.bcrypt_runs, 6); /* a wrong password costs a bcrypt every time */
    assert_false(basic_auth_check(auth, "mallory", "secret", 102));
    assert_false(basic_auth_check(auth, "Alice", "secret", 102));
    basic_auth_stats(auth, &st);
    assert_int_equal(st.bcrypt_runs, 8); /* so does an unknown user */
    assert_true(basic_auth_check(auth, "alice", "secret", 100 + BASIC_AUTH_CACHE_SECONDS + 1));
    basic_auth_stats(auth, &st);
    assert_int_equal(st.bcrypt_runs, 9); /* remembered for a bounded time only */
    basic_auth_destroy(auth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_file),
        cmocka_unit_test(defaults_and_empty),
        cmocka_unit_test(refusals),
        cmocka_unit_test(as_exporter_toolkit_reads_it),
        cmocka_unit_test(priorities),
        cmocka_unit_test(auth_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
