/* Building and checking the priority string with GnuTLS itself. */
#include "tls_priority.h"

#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const version_items[] = { "VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2",
                                             "VERS-TLS1.3" };

static void add(char *out, size_t size, const char *item)
{
    size_t n = strlen(out);
    snprintf(out + n, size - n, "%s", item);
}

/* "+A:+B" of each distinct name that pick() gives for the listed suites, in list order. */
static void add_distinct(char *out, size_t size, const struct web_config *c,
                         const char *(*pick)(const struct web_cipher_suite *))
{
    for (size_t i = 0; i < c->cipher_suite_count; i++) {
        const char *name = pick(&web_cipher_suites[c->cipher_suites[i]]);
        bool seen = name == NULL;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *earlier = pick(&web_cipher_suites[c->cipher_suites[j]]);
            seen = earlier != NULL && strcmp(earlier, name) == 0;
        }
        if (!seen) {
            add(out, size, ":+");
            add(out, size, name);
        }
    }
}

static const char *kx_of(const struct web_cipher_suite *s) { return s->kx; }
static const char *cipher_of(const struct web_cipher_suite *s) { return s->cipher; }
static const char *mac_of(const struct web_cipher_suite *s) { return s->mac; }

static bool lists_tls12_suites(const struct web_config *c)
{
    for (size_t i = 0; i < c->cipher_suite_count; i++)
        if (!web_cipher_suites[c->cipher_suites[i]].tls13)
            return true;
    return false;
}

static void build(const struct web_config *c, char *out, size_t size)
{
    snprintf(out, size, "NORMAL:-VERS-ALL");
    for (int v = (int)c->max_version; v >= (int)c->min_version; v--) {
        add(out, size, ":+");
        add(out, size, version_items[v]);
    }
    if (lists_tls12_suites(c)) {
        add(out, size, ":-KX-ALL");
        add_distinct(out, size, c, kx_of);
        add(out, size, ":-CIPHER-ALL");
        add_distinct(out, size, c, cipher_of);
        add(out, size, ":-MAC-ALL");
        add_distinct(out, size, c, mac_of);
        /* Go's list leaves TLS 1.3 alone; GnuTLS draws 1.3's ciphers from the same list,
         * so they go in too (check_suites then says if that adds a 1.2 suite) */
        if (c->max_version == WEB_TLS13)
            add(out, size, ":+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AEAD");
    }
    if (c->curve_count > 0) {
        add(out, size, ":-GROUP-ALL");
        for (size_t i = 0; i < c->curve_count; i++) {
            add(out, size, ":+");
            add(out, size, web_curves[c->curves[i]].group);
        }
    }
    if (c->prefer_server_cipher_suites)
        add(out, size, ":%SERVER_PRECEDENCE");
}

static const char *suite_name_of(uint16_t id)
{
    for (size_t i = 0; i < web_cipher_suite_count; i++)
        if (web_cipher_suites[i].id == id)
            return web_cipher_suites[i].name;
    return NULL;
}

/* Compare what GnuTLS enables for TLS 1.2 and below with the listed suites. */
static bool check_suites(const struct web_config *c, gnutls_priority_t priority, char *err,
                         size_t err_size)
{
    bool enabled[WEB_CONFIG_MAX_LIST] = { false }; /* indexed like web_cipher_suites */
    for (unsigned idx = 0;; idx++) {
        unsigned suite;
        int rc = gnutls_priority_get_cipher_suite_index(priority, idx, &suite);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (rc != 0)
            continue; /* not one this build has */
        unsigned char id[2];
        gnutls_protocol_t min_version;
        const char *gnutls_name = gnutls_cipher_suite_info(suite, id, NULL, NULL, NULL,
                                                           &min_version);
        if (gnutls_name == NULL || min_version == GNUTLS_TLS1_3)
            continue;
        uint16_t iana = (uint16_t)(id[0] << 8 | id[1]);
        const char *name = suite_name_of(iana);
        bool listed = false;
        for (size_t i = 0; i < c->cipher_suite_count && !listed; i++)
            listed = web_cipher_suites[c->cipher_suites[i]].id == iana;
        if (!listed) {
            snprintf(err, err_size, "tls_server_config.cipher_suites: GnuTLS cannot enable "
                     "exactly these suites: it would also enable %s; list it too",
                     name ? name : gnutls_name);
            return false;
        }
        for (size_t i = 0; i < web_cipher_suite_count; i++)
            if (web_cipher_suites[i].id == iana)
                enabled[i] = true;
    }
    for (size_t i = 0; i < c->cipher_suite_count; i++) {
        size_t s = c->cipher_suites[i];
        if (!web_cipher_suites[s].tls13 && !enabled[s]) {
            snprintf(err, err_size, "tls_server_config.cipher_suites: %s cannot be enabled "
                     "(its key exchange, cipher or TLS version is not available here)",
                     web_cipher_suites[s].name);
            return false;
        }
    }
    return true;
}

bool tls_priority_string(const struct web_config *config, char *out, size_t out_size,
                         char *err, size_t err_size)
{
    build(config, out, out_size);
    gnutls_priority_t priority;
    const char *where = NULL;
    int rc = gnutls_priority_init(&priority, out, &where);
    if (rc != GNUTLS_E_SUCCESS) {
        snprintf(err, err_size, "tls_server_config: GnuTLS refuses the settings (%s near "
                 "\"%.40s\")", gnutls_strerror(rc), where ? where : "");
        return false;
    }
    bool ok = !lists_tls12_suites(config) || config->min_version == WEB_TLS13 ||
              check_suites(config, priority, err, err_size);
    gnutls_priority_deinit(priority);
    return ok;
}
