/* The web configuration file (--web.config.file), in the format of Prometheus'
 * exporter-toolkit, so that the same file and the same scrape settings work here:
 *
 *   tls_server_config:   cert_file / key_file (or cert / key inline), client_auth_type,
 *                        client_ca_file (or client_ca), client_allowed_sans, min_version,
 *                        max_version, cipher_suites, prefer_server_cipher_suites,
 *                        curve_preferences
 *   http_server_config:  headers (five security headers), http2 (false only)
 *   basic_auth_users:    user name -> bcrypt hash
 *
 * Parsing is a pure function of the text (libyaml), so it is fuzzed as it is; reading the
 * files it names and building TLS credentials is web_security's job. Unknown keys are
 * errors, as exporter-toolkit's strict parsing makes them. */
#ifndef TCPIP_EXPORTER_WEB_CONFIG_H
#define TCPIP_EXPORTER_WEB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum web_client_auth {
    WEB_CLIENT_AUTH_NONE,             /* NoClientCert */
    WEB_CLIENT_AUTH_REQUEST,          /* RequestClientCert: asked for, never checked */
    WEB_CLIENT_AUTH_REQUIRE_ANY,      /* RequireAnyClientCert: needed, never checked */
    WEB_CLIENT_AUTH_VERIFY_IF_GIVEN,  /* VerifyClientCertIfGiven */
    WEB_CLIENT_AUTH_REQUIRE_VERIFY,   /* RequireAndVerifyClientCert */
};

enum web_tls_version { WEB_TLS10, WEB_TLS11, WEB_TLS12, WEB_TLS13 };

/* A cipher suite exporter-toolkit accepts (Go's tls.CipherSuites names). */
struct web_cipher_suite {
    const char *name;                 /* "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    uint16_t id;                      /* IANA number */
    bool tls13;                       /* a TLS 1.3 suite: Go ignores these in the list */
    const char *kx, *cipher, *mac;    /* GnuTLS priority names; NULL kx for TLS 1.3 */
};
extern const struct web_cipher_suite web_cipher_suites[];
extern const size_t web_cipher_suite_count;

struct web_curve {
    const char *name;                 /* "X25519", "CurveP256" */
    const char *group;                /* GnuTLS: "GROUP-X25519" */
};
extern const struct web_curve web_curves[];
extern const size_t web_curve_count;

#define WEB_CONFIG_MAX_LIST 32        /* cipher suites, curves, SANs, headers, users */

struct web_header {
    char *name;
    char *value;
};

struct web_user {
    char *name;
    char *hash;                       /* "$2y$10$...": 60 characters */
};

struct web_config {
    bool tls;                         /* a certificate, key, CA or client_auth_type: HTTPS */
    char *cert_file, *key_file, *client_ca_file; /* as written (relative: to the file's folder) */
    char *cert, *key, *client_ca;     /* inline PEM */
    enum web_client_auth client_auth;
    bool client_auth_named;           /* client_auth_type given, NoClientCert too */
    enum web_tls_version min_version, max_version;
    uint16_t cipher_suites[WEB_CONFIG_MAX_LIST]; /* indexes into web_cipher_suites */
    size_t cipher_suite_count;
    bool prefer_server_cipher_suites;
    uint16_t curves[WEB_CONFIG_MAX_LIST];        /* indexes into web_curves */
    size_t curve_count;
    char *allowed_sans[WEB_CONFIG_MAX_LIST];
    size_t allowed_san_count;
    struct web_header headers[WEB_CONFIG_MAX_LIST];
    size_t header_count;
    struct web_user users[WEB_CONFIG_MAX_LIST];
    size_t user_count;
};

/* Parse the file's text. NULL with one line in err naming the key and its line when the
 * text, a key or a value is wrong; never a password hash in err. */
struct web_config *web_config_parse(const char *text, size_t size, char *err, size_t err_size);
void web_config_free(struct web_config *config);

/* "TLS12" for WEB_TLS12. */
const char *web_tls_version_name(enum web_tls_version version);
const char *web_client_auth_name(enum web_client_auth auth);

#endif
