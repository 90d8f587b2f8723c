/* Loading the web configuration into a policy, swapping policies, and the TLS callbacks. */
#include "web_security.h"

#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../collector/file_open.h"
#include "basic_auth.h"
#include "tls_priority.h"

#define MAX_FILE_BYTES (1u << 20)  /* a config, a certificate chain, a key, a CA bundle */
#define MAX_CHAIN 16
#define WATCH_INTERVAL_NS 1000000000ull
/* A replaced policy is freed this long after: a handshake uses the certificate and key the
 * callback handed out in the same server flight, long before this. */
#define RETIRED_GRACE_S 60.0

struct web_policy {
    struct web_config *config;
    struct basic_auth *auth;               /* NULL: no users */
    gnutls_pcert_st pcerts[MAX_CHAIN];
    unsigned pcert_count;
    gnutls_privkey_t key;
    gnutls_x509_trust_list_t trust;        /* client CA; NULL without */
    char priority[1024];
    uint8_t digest[SHA256_DIGEST_SIZE];    /* of every input: the file and what it names */
    atomic_uint refs;
    double retired_at;
    struct web_policy *next_retired;
};

struct web_security {
    char *path;
    struct collector_log log;
    pthread_mutex_t lock;
    struct web_policy *current;
    struct web_policy *retired;
    bool tls;                              /* fixed at start, as the daemon is */
    char priority[1024];
    pthread_t watcher;
    bool watching;
    atomic_bool stop;
    uint8_t failed_digest[SHA256_DIGEST_SIZE]; /* the inputs of the last failure, logged once */
    bool has_failed_digest;
    unsigned long long reloads, reload_failures;
    bool last_reload_ok;
    struct basic_auth_stats retired_auth; /* of replaced policies: the counters never go down */
};

static struct web_security *tls_security; /* the one whose certificates handshakes take */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- reading the inputs --------------------------------------------------------------- */

struct blob {
    char *data;
    size_t size;
};

static bool read_all(const char *path, struct blob *out, char *err, size_t err_size)
{
    char why[256];
    FILE *f = file_open_read(path, why, sizeof why);
    if (f == NULL) {
        snprintf(err, err_size, "%s: %s", path, why);
        return false;
    }
    char *data = malloc(MAX_FILE_BYTES + 1);
    size_t n = data ? fread(data, 1, MAX_FILE_BYTES + 1, f) : 0;
    bool failed = data == NULL || ferror(f);
    fclose(f);
    if (failed || n > MAX_FILE_BYTES) {
        free(data);
        snprintf(err, err_size, "%s: %s", path,
                 failed ? "cannot read" : "larger than 1 MiB");
        return false;
    }
    data[n] = '\0';
    out->data = data;
    out->size = n;
    return true;
}

static bool is_absolute(const char *path)
{
#ifdef _WIN32
    return path[0] == '\\' || path[0] == '/' || (path[0] != '\0' && path[1] == ':');
#else
    return path[0] == '/';
#endif
}

/* A file named in the config is relative to the config's folder, as in exporter-toolkit. */
static char *resolve(const char *config_path, const char *name)
{
    if (is_absolute(name))
        return strdup(name);
    const char *slash = strrchr(config_path, '/');
#ifdef _WIN32
    const char *backslash = strrchr(config_path, '\\');
    if (backslash != NULL && (slash == NULL || backslash > slash))
        slash = backslash;
#endif
    size_t dir = slash ? (size_t)(slash - config_path) + 1 : 0;
    char *out = malloc(dir + strlen(name) + 1);
    if (out != NULL) {
        memcpy(out, config_path, dir);
        strcpy(out + dir, name);
    }
    return out;
}

/* The PEM of a key: from its file or inline. An empty blob when neither is set. */
static bool input(const char *config_path, const char *file, const char *inline_text,
                  const char *key, struct blob *out, char *err, size_t err_size)
{
    out->data = NULL;
    out->size = 0;
    if (inline_text != NULL) {
        out->data = strdup(inline_text);
        out->size = strlen(inline_text);
        return out->data != NULL;
    }
    if (file == NULL)
        return true;
    char *path = resolve(config_path, file);
    char why[600];
    bool ok = path != NULL && read_all(path, out, why, sizeof why);
    if (!ok)
        snprintf(err, err_size, "tls_server_config.%s: %s", key, path ? why : "out of memory");
    free(path);
    return ok;
}

/* ---- building a policy ---------------------------------------------------------------- */

static void policy_free(struct web_policy *p)
{
    if (p == NULL)
        return;
    for (unsigned i = 0; i < p->pcert_count; i++)
        gnutls_pcert_deinit(&p->pcerts[i]);
    if (p->key != NULL)
        gnutls_privkey_deinit(p->key);
    if (p->trust != NULL)
        gnutls_x509_trust_list_deinit(p->trust, 1);
    basic_auth_destroy(p->auth);
    web_config_free(p->config);
    free(p);
}

static bool gnutls_fail(char *err, size_t err_size, const char *what, int rc)
{
    snprintf(err, err_size, "tls_server_config.%s: %s", what, gnutls_strerror(rc));
    return false;
}

/* The certificate chain and its key, checked to belong together. */
static bool load_identity(struct web_policy *p, const struct blob *cert, const struct blob *key,
                          char *err, size_t err_size)
{
    const char *cert_key = p->config->cert_file ? "cert_file" : "cert";
    const char *key_key = p->config->key_file ? "key_file" : "key";
    gnutls_datum_t c = { (unsigned char *)cert->data, (unsigned)cert->size };
    gnutls_datum_t k = { (unsigned char *)key->data, (unsigned)key->size };
    gnutls_certificate_credentials_t check;
    if (gnutls_certificate_allocate_credentials(&check) != 0)
        return gnutls_fail(err, err_size, cert_key, GNUTLS_E_MEMORY_ERROR);
    int rc = gnutls_certificate_set_x509_key_mem2(check, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(check);
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        snprintf(err, err_size, "tls_server_config.%s: the key is not the certificate's", key_key);
        return false;
    }
    if (rc < 0)
        return gnutls_fail(err, err_size, cert_key, rc);
    unsigned count = MAX_CHAIN;
    rc = gnutls_pcert_list_import_x509_raw(p->pcerts, &count, &c, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0)
        return gnutls_fail(err, err_size, cert_key, rc);
    p->pcert_count = count;
    if ((rc = gnutls_privkey_init(&p->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(p->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
        return gnutls_fail(err, err_size, key_key, rc);
    return true;
}

static bool load_trust(struct web_policy *p, const struct blob *ca, char *err, size_t err_size)
{
    const char *what = p->config->client_ca_file ? "client_ca_file" : "client_ca";
    gnutls_datum_t d = { (unsigned char *)ca->data, (unsigned)ca->size };
    int rc = gnutls_x509_trust_list_init(&p->trust, 0);
    if (rc < 0)
        return gnutls_fail(err, err_size, what, rc);
    rc = gnutls_x509_trust_list_add_trust_mem(p->trust, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    if (rc < 0)
        return gnutls_fail(err, err_size, what, rc);
    if (rc == 0) {
        snprintf(err, err_size, "tls_server_config.%s: no certificate in it", what);
        return false;
    }
    return true;
}

static void digest_part(struct sha256_ctx *ctx, const struct blob *b)
{
    uint8_t length[8];
    for (int i = 0; i < 8; i++)
        length[i] = (uint8_t)(b->size >> (8 * i));
    sha256_update(ctx, sizeof length, length);
    if (b->size)
        sha256_update(ctx, b->size, (const uint8_t *)b->data);
}

static void free_blobs(struct blob *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i].data != NULL)
            memset(b[i].data, 0, b[i].size); /* the key, among them */
        free(b[i].data);
        b[i].data = NULL;
        b[i].size = 0;
    }
}

/* Everything but the TLS objects and the users: the config and its inputs' digest. */
static struct web_policy *policy_read(const char *path, struct blob in[4], char *err,
                                      size_t err_size)
{
    memset(in, 0, 4 * sizeof in[0]);
    struct web_policy *p = calloc(1, sizeof *p);
    char why[700];
    if (p == NULL || !read_all(path, &in[0], why, sizeof why)) {
        snprintf(err, err_size, "%s", p ? why : "out of memory");
        free(p);
        return NULL;
    }
    p->config = web_config_parse(in[0].data, in[0].size, why, sizeof why);
    const struct web_config *c = p->config;
    bool ok = c != NULL &&
              input(path, c->cert_file, c->cert, "cert_file", &in[1], why, sizeof why) &&
              input(path, c->key_file, c->key, "key_file", &in[2], why, sizeof why) &&
              input(path, c->client_ca_file, c->client_ca, "client_ca_file", &in[3], why,
                    sizeof why);
    if (!ok) {
        snprintf(err, err_size, "%s: %s", path, why);
        policy_free(p);
        free_blobs(in, 4);
        return NULL;
    }
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    for (int i = 0; i < 4; i++)
        digest_part(&ctx, &in[i]);
    sha256_digest(&ctx, sizeof p->digest, p->digest);
    atomic_init(&p->refs, 0);
    return p;
}

static bool verifies(enum web_client_auth mode)
{
    return mode == WEB_CLIENT_AUTH_VERIFY_IF_GIVEN || mode == WEB_CLIENT_AUTH_REQUIRE_VERIFY;
}

/* A verifying policy without a client CA trusts what the system trusts, as Go's TLS does
 * with no ClientCAs (exporter-toolkit then leaves them unset): the Windows root store, or
 * the certificate bundle GnuTLS was built to read. */
static bool load_system_trust(struct web_policy *p, char *err, size_t err_size)
{
    const char *mode = web_client_auth_name(p->config->client_auth);
    int rc = gnutls_x509_trust_list_init(&p->trust, 0);
    if (rc >= 0)
        rc = gnutls_x509_trust_list_add_system_trust(p->trust, 0, 0);
    if (rc > 0)
        return true;
    snprintf(err, err_size, "tls_server_config.client_auth_type: %s without client_ca_file "
             "verifies against the system's trusted CAs, and %s", mode,
             rc == 0 ? "there are none" : gnutls_strerror(rc));
    return false;
}

static bool policy_build(struct web_policy *p, const char *path, const struct blob in[4],
                         char *err, size_t err_size)
{
    const struct web_config *c = p->config;
    char why[600] = "out of memory";
    bool ok = true;
    if (c->tls) {
        ok = load_identity(p, &in[1], &in[2], why, sizeof why) &&
             (in[3].data != NULL ? load_trust(p, &in[3], why, sizeof why)
              : !verifies(c->client_auth) || load_system_trust(p, why, sizeof why)) &&
             tls_priority_string(c, p->priority, sizeof p->priority, why, sizeof why);
    }
    if (ok && c->user_count > 0)
        ok = (p->auth = basic_auth_create(c->users, c->user_count)) != NULL;
    if (!ok)
        snprintf(err, err_size, "%s: %s", path, why);
    return ok;
}

static struct web_policy *policy_load(const char *path, char *err, size_t err_size)
{
    struct blob in[4];
    struct web_policy *p = policy_read(path, in, err, err_size);
    if (p != NULL && !policy_build(p, path, in, err, err_size)) {
        policy_free(p);
        p = NULL;
    }
    free_blobs(in, 4);
    return p;
}

/* ---- handshakes --------------------------------------------------------------------------- */

/* The client certificate of a session that asked for one, against the client CA. */
static bool san_allowed(gnutls_x509_crt_t crt, const struct web_config *c);

static int verify_client(gnutls_session_t session)
{
    unsigned count = 0;
    const gnutls_datum_t *raw = gnutls_certificate_get_peers(session, &count);
    struct web_security *s = tls_security;
    struct web_policy *p = web_security_acquire(s);
    enum web_client_auth mode = p->config->client_auth;
    size_t sans = p->config->allowed_san_count;
    int result = 0;
    if (raw == NULL || count == 0) {
        /* Allowed SANs name who may connect: a client without a certificate is none of
         * them (exporter-toolkit drops it too). */
        bool needed = mode == WEB_CLIENT_AUTH_REQUIRE_VERIFY || sans > 0;
        result = needed ? GNUTLS_E_NO_CERTIFICATE_FOUND : 0;
    } else {
        gnutls_x509_crt_t crts[MAX_CHAIN];
        unsigned n = count < MAX_CHAIN ? count : MAX_CHAIN, imported = 0;
        for (; imported < n; imported++) {
            if (gnutls_x509_crt_init(&crts[imported]) < 0)
                break;
            if (gnutls_x509_crt_import(crts[imported], &raw[imported], GNUTLS_X509_FMT_DER) < 0) {
                gnutls_x509_crt_deinit(crts[imported]);
                break;
            }
        }
        /* RequestClientCert and RequireAnyClientCert take any certificate: only its SANs
         * are checked, when the file names some. */
        unsigned status = imported == n ? 0 : 1;
        gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
                                          (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
        if (status == 0 && verifies(mode) &&
            (p->trust == NULL ||
             gnutls_x509_trust_list_verify_crt2(p->trust, crts, n, &purpose, 1, 0, &status,
                                                NULL) < 0))
            status = 1;
        if (status != 0 || (sans > 0 && !san_allowed(crts[0], p->config)))
            result = GNUTLS_E_CERTIFICATE_ERROR;
        for (unsigned i = 0; i < imported; i++)
            gnutls_x509_crt_deinit(crts[i]);
    }
    web_policy_release(s, p);
    return result;
}

/* An IPv6 address in RFC 5952's text (the longest run of two or more zero groups as
 * "::", lower-case hex), as Go prints it and an allow-list would hold it. */
static void ipv6_text(const unsigned char a[16], char *out, size_t size)
{
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, size - n, "::");
            i += best_len - 1;
            continue;
        }
        n += (size_t)snprintf(out + n, size - n, "%s%x",
                              (n > 0 && out[n - 1] != ':') ? ":" : "",
                              (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
    }
}

/* The SAN types exporter-toolkit matches: DNS, IP, e-mail and URI, exactly. */
static bool san_allowed(gnutls_x509_crt_t crt, const struct web_config *c)
{
    for (unsigned seq = 0;; seq++) {
        unsigned char name[512];
        size_t size = sizeof name - 1;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, name, &size, NULL);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            return false;
        if (type < 0)
            continue;
        char text[512];
        if (type == GNUTLS_SAN_IPADDRESS && size == 4)
            snprintf(text, sizeof text, "%u.%u.%u.%u", name[0], name[1], name[2], name[3]);
        else if (type == GNUTLS_SAN_IPADDRESS && size == 16)
            ipv6_text(name, text, sizeof text);
        else if (type == GNUTLS_SAN_DNSNAME || type == GNUTLS_SAN_RFC822NAME ||
                 type == GNUTLS_SAN_URI)
            snprintf(text, sizeof text, "%.*s", (int)size, (const char *)name);
        else
            continue;
        for (size_t i = 0; i < c->allowed_san_count; i++)
            if (strcmp(text, c->allowed_sans[i]) == 0)
                return true;
    }
}

static void request_mode(gnutls_session_t session, enum web_client_auth mode, size_t sans)
{
    switch (mode) {
    case WEB_CLIENT_AUTH_NONE:
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
        return;
    case WEB_CLIENT_AUTH_REQUEST:
    case WEB_CLIENT_AUTH_VERIFY_IF_GIVEN:
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUEST);
        break;
    case WEB_CLIENT_AUTH_REQUIRE_ANY:
    case WEB_CLIENT_AUTH_REQUIRE_VERIFY:
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
        break;
    }
    if (verifies(mode) || sans > 0)
        gnutls_session_set_verify_function(session, verify_client);
}

static int retrieve_certificate(gnutls_session_t session, const gnutls_datum_t *req_ca_dn,
                                int nreqs, const gnutls_pk_algorithm_t *pk_algos,
                                int pk_algos_length, gnutls_pcert_st **pcert,
                                unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    struct web_security *s = tls_security;
    if (s == NULL)
        return -1;
    struct web_policy *p = web_security_acquire(s);
    *pcert = p->pcerts;
    *pcert_length = p->pcert_count;
    *privkey = p->key;
    request_mode(session, p->config->client_auth, p->config->allowed_san_count);
    web_policy_release(s, p); /* the retired grace keeps them for the handshake */
    return 0;
}

gnutls_certificate_retrieve_function2 *web_security_cert_callback(void)
{
    return retrieve_certificate;
}

/* ---- policies in force and retired ------------------------------------------------------ */

struct web_policy *web_security_acquire(struct web_security *s)
{
    pthread_mutex_lock(&s->lock);
    struct web_policy *p = s->current;
    atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&s->lock);
    return p;
}

void web_policy_release(struct web_security *s, struct web_policy *p)
{
    (void)s;
    atomic_fetch_sub(&p->refs, 1); /* freed by the watcher once retired and unused */
}

static void free_retired(struct web_security *s, bool all)
{
    double now = now_seconds();
    pthread_mutex_lock(&s->lock);
    struct web_policy **link = &s->retired;
    while (*link != NULL) {
        struct web_policy *p = *link;
        if (all || (atomic_load(&p->refs) == 0 && now - p->retired_at > RETIRED_GRACE_S)) {
            *link = p->next_retired;
            policy_free(p);
        } else {
            link = &p->next_retired;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

/* Versions, suites and curves are the daemon's: said once, the rest of the file applies. */
static void note_fixed_parts(struct web_security *s, const struct web_policy *p)
{
    if (s->tls && strcmp(p->priority, s->priority) != 0)
        collector_log(&s->log, COLLECTOR_LOG_WARN, "web config %s: the TLS versions, cipher "
                      "suites or curves changed; they apply at the next start (certificates, "
                      "client CA, client_auth_type, users and headers apply now)", s->path);
}

static void reload_failed(struct web_security *s, const uint8_t *digest, const char *why);

static void swap_in(struct web_security *s, struct web_policy *p)
{
    if (p->config->tls != s->tls) {
        /* a plain daemon cannot take a certificate, nor a TLS one do without */
        char why[600];
        snprintf(why, sizeof why, "web config %s: TLS is %s in the file but %s in the running "
                 "server, which only a restart changes", s->path, p->config->tls ? "on" : "off",
                 s->tls ? "on" : "off");
        reload_failed(s, p->digest, why);
        policy_free(p);
        return;
    }
    note_fixed_parts(s, p);
    pthread_mutex_lock(&s->lock);
    struct web_policy *old = s->current;
    if (old->auth != NULL) {
        struct basic_auth_stats a;
        basic_auth_stats(old->auth, &a);
        s->retired_auth.bcrypt_runs += a.bcrypt_runs;
        s->retired_auth.cache_hits += a.cache_hits;
    }
    s->current = p;
    old->retired_at = now_seconds();
    old->next_retired = s->retired;
    s->retired = old;
    s->reloads++;
    s->last_reload_ok = true;
    s->has_failed_digest = false;
    pthread_mutex_unlock(&s->lock);
    collector_log(&s->log, COLLECTOR_LOG_INFO, "web config %s: reloaded (%s, %zu user(s))",
                  s->path, p->config->tls ? "TLS" : "plain HTTP", p->config->user_count);
}

static void reload_failed(struct web_security *s, const uint8_t *digest, const char *why)
{
    pthread_mutex_lock(&s->lock);
    bool again = digest != NULL && s->has_failed_digest &&
                 memcmp(digest, s->failed_digest, sizeof s->failed_digest) == 0;
    if (!again) {
        s->reload_failures++;
        if (digest != NULL) {
            memcpy(s->failed_digest, digest, sizeof s->failed_digest);
            s->has_failed_digest = true;
        }
    }
    s->last_reload_ok = false;
    pthread_mutex_unlock(&s->lock);
    if (!again)
        collector_log(&s->log, COLLECTOR_LOG_ERROR, "%s; keeping the previous settings", why);
}

/* One look at the inputs: reload when their digest changed. */
static void check_once(struct web_security *s)
{
    char err[800];
    struct blob in[4];
    struct web_policy *p = policy_read(s->path, in, err, sizeof err);
    if (p == NULL) {
        /* an unreadable or unparsable file: same text, same failure, logged once */
        uint8_t digest[SHA256_DIGEST_SIZE];
        struct sha256_ctx ctx;
        sha256_init(&ctx);
        sha256_update(&ctx, strlen(err), (const uint8_t *)err);
        sha256_digest(&ctx, sizeof digest, digest);
        reload_failed(s, digest, err);
        return;
    }
    bool same = memcmp(p->digest, s->current->digest, sizeof p->digest) == 0; /* watcher only swaps */
    bool known_bad = s->has_failed_digest &&
                     memcmp(p->digest, s->failed_digest, sizeof p->digest) == 0;
    if (same || known_bad) {
        if (same && !s->last_reload_ok) {
            pthread_mutex_lock(&s->lock);
            s->last_reload_ok = true; /* back to what is running */
            s->has_failed_digest = false;
            pthread_mutex_unlock(&s->lock);
        }
        policy_free(p);
        free_blobs(in, 4);
        return;
    }
    uint8_t digest[SHA256_DIGEST_SIZE];
    memcpy(digest, p->digest, sizeof digest);
    bool built = policy_build(p, s->path, in, err, sizeof err);
    free_blobs(in, 4);
    if (!built) {
        policy_free(p);
        reload_failed(s, digest, err);
        return;
    }
    swap_in(s, p);
}

static void *watch(void *arg)
{
    struct web_security *s = arg;
    while (!atomic_load(&s->stop)) {
        for (int slice = 0; slice < 10 && !atomic_load(&s->stop); slice++) {
            struct timespec pause = { 0, (long)(WATCH_INTERVAL_NS / 10) };
            nanosleep(&pause, NULL);
        }
        if (atomic_load(&s->stop))
            break;
        check_once(s);
        free_retired(s, false);
    }
    return NULL;
}

/* A static GnuTLS (the Windows build) has no constructor to rely on; the calls are counted,
 * so each open and validate pairs its own with a deinit. */
static bool tls_library_init(char *err, size_t err_size)
{
    int rc = gnutls_global_init();
    if (rc < 0)
        snprintf(err, err_size, "GnuTLS does not start: %s", gnutls_strerror(rc));
    return rc >= 0;
}

struct web_security *web_security_open(const char *path, const struct collector_log *log,
                                       char *err, size_t err_size)
{
    if (!tls_library_init(err, err_size))
        return NULL;
    struct web_policy *p = policy_load(path, err, err_size);
    if (p == NULL) {
        gnutls_global_deinit();
        return NULL;
    }
    if (p->config->tls && tls_security != NULL) {
        snprintf(err, err_size, "%s: only one TLS server per process", path);
        policy_free(p);
        gnutls_global_deinit();
        return NULL;
    }
    struct web_security *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        policy_free(p);
        gnutls_global_deinit();
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->log = log ? *log : (struct collector_log){ 0 };
    s->current = p;
    s->tls = p->config->tls;
    s->last_reload_ok = true;
    snprintf(s->priority, sizeof s->priority, "%s", p->priority);
    atomic_init(&s->stop, false);
    if (pthread_create(&s->watcher, NULL, watch, s) != 0) {
        snprintf(err, err_size, "cannot start the thread that watches %s", path);
        web_security_close(s);
        return NULL;
    }
    s->watching = true;
    if (s->tls)
        tls_security = s;
    return s;
}

void web_security_close(struct web_security *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    if (s->watching)
        pthread_join(s->watcher, NULL);
    if (tls_security == s)
        tls_security = NULL;
    free_retired(s, true);
    policy_free(s->current);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
    gnutls_global_deinit();
}

bool web_security_validate(const char *path, char *err, size_t err_size)
{
    if (!tls_library_init(err, err_size))
        return false;
    struct web_policy *p = policy_load(path, err, err_size);
    policy_free(p);
    gnutls_global_deinit();
    return p != NULL;
}

bool web_security_tls(const struct web_security *s)
{
    return s->tls;
}

const char *web_security_priority(const struct web_security *s)
{
    return s->priority;
}

bool web_policy_needs_auth(const struct web_policy *p)
{
    return p->auth != NULL;
}

bool web_policy_check_user(struct web_policy *p, const char *user, const char *password,
                           double now)
{
    return p->auth != NULL && basic_auth_check(p->auth, user, password, now);
}

bool web_policy_user_cached(struct web_policy *p, const char *user, const char *password,
                            double now)
{
    return p->auth != NULL && basic_auth_cached(p->auth, user, password, now);
}

size_t web_policy_header_count(const struct web_policy *p)
{
    return p->config->header_count;
}

const struct web_header *web_policy_header(const struct web_policy *p, size_t i)
{
    return &p->config->headers[i];
}

/* Under the lock, so that a swap (which moves the current counts into retired_auth) is
 * seen either wholly before or wholly after: the totals never go down. */
void web_security_stats(struct web_security *s, struct web_security_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->lock);
    if (s->current->auth != NULL) {
        struct basic_auth_stats a;
        basic_auth_stats(s->current->auth, &a);
        out->bcrypt_runs = a.bcrypt_runs;
        out->auth_cache_hits = a.cache_hits;
    }
    out->bcrypt_runs += s->retired_auth.bcrypt_runs;
    out->auth_cache_hits += s->retired_auth.cache_hits;
    out->reloads = s->reloads;
    out->reload_failures = s->reload_failures;
    out->last_reload_ok = s->last_reload_ok;
    pthread_mutex_unlock(&s->lock);
}
