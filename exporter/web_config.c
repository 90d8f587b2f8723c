/* Parsing the web configuration with libyaml's document API: load the one document, then
 * walk its mappings, each key looked up in a table of the keys that section knows. */
#include "web_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "bytes.h"

const struct web_cipher_suite web_cipher_suites[] = {
    { "TLS_AES_128_GCM_SHA256", 0x1301, true, NULL, "AES-128-GCM", "AEAD" },
    { "TLS_AES_256_GCM_SHA384", 0x1302, true, NULL, "AES-256-GCM", "AEAD" },
    { "TLS_CHACHA20_POLY1305_SHA256", 0x1303, true, NULL, "CHACHA20-POLY1305", "AEAD" },
    { "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC009, false, "ECDHE-ECDSA", "AES-128-CBC", "SHA1" },
    { "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xC00A, false, "ECDHE-ECDSA", "AES-256-CBC", "SHA1" },
    { "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC013, false, "ECDHE-RSA", "AES-128-CBC", "SHA1" },
    { "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC014, false, "ECDHE-RSA", "AES-256-CBC", "SHA1" },
    { "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B, false, "ECDHE-ECDSA", "AES-128-GCM", "AEAD" },
    { "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C, false, "ECDHE-ECDSA", "AES-256-GCM", "AEAD" },
    { "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F, false, "ECDHE-RSA", "AES-128-GCM", "AEAD" },
    { "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030, false, "ECDHE-RSA", "AES-256-GCM", "AEAD" },
    { "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8, false, "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD" },
    { "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9, false, "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD" },
};
const size_t web_cipher_suite_count = ARRAY_SIZE(web_cipher_suites);

const struct web_curve web_curves[] = {
    { "CurveP256", "GROUP-SECP256R1" },
    { "CurveP384", "GROUP-SECP384R1" },
    { "CurveP521", "GROUP-SECP521R1" },
    { "X25519", "GROUP-X25519" },
};
const size_t web_curve_count = ARRAY_SIZE(web_curves);

static const char *const version_names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
static const char *const client_auth_names[] = {
    "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
};

const char *web_tls_version_name(enum web_tls_version version)
{
    return version_names[version];
}

const char *web_client_auth_name(enum web_client_auth auth)
{
    return client_auth_names[auth];
}

/* ---- walking the document ------------------------------------------------------------ */

/* What an error line may quote of the file: at most 60 bytes, control characters as '?'
 * (the error is one line), and nothing from a "$2" on, so that a bcrypt hash put in the
 * wrong place (as a key, or as another key's value) never reaches a log. */
struct shown {
    char text[80];
};

static struct shown shown(const char *v)
{
    struct shown out;
    const char *hash = strstr(v, "$2");
    size_t n = hash ? (size_t)(hash - v) : strlen(v);
    if (n > 60)
        n = 60;
    snprintf(out.text, sizeof out.text, "%.*s%s", (int)n, v, hash ? "$2... (not shown)" : "");
    for (char *p = out.text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return out;
}

struct walk {
    yaml_document_t *doc;
    struct web_config *config;
    char *err;
    size_t err_size;
    char path[128];                   /* "tls_server_config.min_version" */
};

#if defined(__MINGW32__)
__attribute__((format(gnu_printf, 3, 4)))
#elif defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool fail(struct walk *w, const yaml_node_t *node, const char *format, ...)
{
    char what[256];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    snprintf(w->err, w->err_size, "line %lu: %s%s%s", (unsigned long)node->start_mark.line + 1,
             w->path, w->path[0] ? ": " : "", what);
    return false;
}

static yaml_node_t *node_at(struct walk *w, int index)
{
    return yaml_document_get_node(w->doc, index);
}

static const char *scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

/* A plain (unquoted) null: "", "~" or "null", as YAML 1.1 reads them. */
static bool is_null(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = scalar(node);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Null or an empty string, quoted or not: a value exporter-toolkit takes as not given. */
static bool is_blank(const yaml_node_t *node)
{
    return is_null(node) || (node->type == YAML_SCALAR_NODE && scalar(node)[0] == '\0');
}

/* A string value; NUL inside one is refused: the rest would be silently cut. */
static bool get_string(struct walk *w, const yaml_node_t *node, const char **out)
{
    if (node->type != YAML_SCALAR_NODE)
        return fail(w, node, "must be a string");
    if (strlen(scalar(node)) != node->data.scalar.length)
        return fail(w, node, "holds a NUL character");
    *out = scalar(node);
    return true;
}

static bool set_string(struct walk *w, const yaml_node_t *node, char **field)
{
    const char *v = NULL;
    if (!get_string(w, node, &v))
        return false;
    char *copy = strdup(v);
    if (copy == NULL)
        return fail(w, node, "out of memory");
    free(*field);
    *field = copy;
    return true;
}

/* YAML 1.1's booleans, as exporter-toolkit's YAML library reads them: plain scalars only
 * (a quoted "true" is a string there, and refused for a boolean). */
static bool get_bool(struct walk *w, const yaml_node_t *node, bool *out)
{
    static const char *const yes[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                      "on", "On", "ON"};
    static const char *const no[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                     "off", "Off", "OFF"};
    const char *v = NULL;
    if (!get_string(w, node, &v))
        return false;
    bool plain = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    for (size_t i = 0; plain && i < ARRAY_SIZE(yes); i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return true;
        }
    }
    return fail(w, node, "\"%s\" is not true or false%s", shown(v).text,
                plain ? "" : " (a quoted string)");
}

/* One of names[]; index out. */
static bool get_choice(struct walk *w, const yaml_node_t *node, const char *const *names,
                       size_t count, const char *noun, int *out)
{
    const char *v = NULL;
    *out = 0; /* callers read it only on success, but gcc -O3 cannot see through fail() */
    if (!get_string(w, node, &v))
        return false;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    }
    char list[256] = "";
    for (size_t i = 0; i < count; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return fail(w, node, "unknown %s \"%s\" (%s)", noun, shown(v).text, list);
}

typedef bool (*item_fn)(struct walk *w, const yaml_node_t *item, size_t index);

/* Each item of a sequence (a null is an empty one), at most WEB_CONFIG_MAX_LIST. */
static bool each_item(struct walk *w, const yaml_node_t *node, item_fn fn)
{
    if (is_null(node))
        return true;
    if (node->type != YAML_SEQUENCE_NODE)
        return fail(w, node, "must be a list");
    size_t n = 0;
    for (yaml_node_item_t *i = node->data.sequence.items.start;
         i < node->data.sequence.items.top; i++, n++) {
        if (n == WEB_CONFIG_MAX_LIST)
            return fail(w, node, "more than %d items", WEB_CONFIG_MAX_LIST);
        if (!fn(w, node_at(w, *i), n))
            return false;
    }
    return true;
}

/* ---- tls_server_config ---------------------------------------------------------------- */

static bool cipher_item(struct walk *w, const yaml_node_t *item, size_t index)
{
    const char *v = NULL;
    if (!get_string(w, item, &v))
        return false;
    for (size_t s = 0; s < web_cipher_suite_count; s++) {
        if (strcmp(v, web_cipher_suites[s].name) == 0) {
            for (size_t j = 0; j < index; j++)
                if (w->config->cipher_suites[j] == s)
                    return fail(w, item, "%s is listed twice", v);
            w->config->cipher_suites[index] = (uint16_t)s;
            w->config->cipher_suite_count = index + 1;
            return true;
        }
    }
    return fail(w, item, "unknown cipher \"%s\" (Go's tls.CipherSuites names, such as "
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", shown(v).text);
}

static bool curve_item(struct walk *w, const yaml_node_t *item, size_t index)
{
    const char *names[ARRAY_SIZE(web_curves)];
    for (size_t i = 0; i < web_curve_count; i++)
        names[i] = web_curves[i].name;
    int c;
    if (!get_choice(w, item, names, web_curve_count, "curve", &c))
        return false;
    for (size_t j = 0; j < index; j++)
        if (w->config->curves[j] == c)
            return fail(w, item, "%s is listed twice", names[c]);
    w->config->curves[index] = (uint16_t)c;
    w->config->curve_count = index + 1;
    return true;
}

static bool san_item(struct walk *w, const yaml_node_t *item, size_t index)
{
    w->config->allowed_san_count = index + 1;
    return set_string(w, item, &w->config->allowed_sans[index]);
}

/* A file name or inline PEM: empty (or null) is not given, as exporter-toolkit reads it. */
static bool set_optional(struct walk *w, const yaml_node_t *node, char **field)
{
    return is_blank(node) || set_string(w, node, field);
}

static bool tls_key(struct walk *w, const char *key, const yaml_node_t *v)
{
    struct web_config *c = w->config;
    int choice;
    if (strcmp(key, "cert_file") == 0)
        return set_optional(w, v, &c->cert_file);
    if (strcmp(key, "key_file") == 0)
        return set_optional(w, v, &c->key_file);
    if (strcmp(key, "client_ca_file") == 0)
        return set_optional(w, v, &c->client_ca_file);
    if (strcmp(key, "cert") == 0)
        return set_optional(w, v, &c->cert);
    if (strcmp(key, "key") == 0)
        return set_optional(w, v, &c->key);
    if (strcmp(key, "client_ca") == 0)
        return set_optional(w, v, &c->client_ca);
    if (strcmp(key, "client_auth_type") == 0) {
        /* Empty is NoClientCert and says nothing; any name, NoClientCert too, turns TLS on
         * (exporter-toolkit's TLSConfig.IsEnabled). */
        if (is_blank(v))
            return true;
        c->client_auth_named = true;
        if (v->type == YAML_SCALAR_NODE && strcmp(scalar(v), "RequireClientCert") == 0) {
            c->client_auth = WEB_CLIENT_AUTH_REQUIRE_ANY; /* exporter-toolkit's old name */
            return true;
        }
        if (!get_choice(w, v, client_auth_names, 5, "client_auth_type", &choice))
            return false;
        c->client_auth = (enum web_client_auth)choice;
        return true;
    }
    if (strcmp(key, "min_version") == 0 || strcmp(key, "max_version") == 0) {
        if (!get_choice(w, v, version_names, 4, "TLS version", &choice))
            return false;
        *(key[1] == 'i' ? &c->min_version : &c->max_version) = (enum web_tls_version)choice;
        return true;
    }
    if (strcmp(key, "prefer_server_cipher_suites") == 0)
        return get_bool(w, v, &c->prefer_server_cipher_suites);
    if (strcmp(key, "cipher_suites") == 0)
        return each_item(w, v, cipher_item);
    if (strcmp(key, "curve_preferences") == 0)
        return each_item(w, v, curve_item);
    if (strcmp(key, "client_allowed_sans") == 0)
        return each_item(w, v, san_item);
    return fail(w, v, "unknown key");
}

/* ---- http_server_config ----------------------------------------------------------------- */

/* exporter-toolkit's list: only these, and two with fixed values. */
static const struct {
    const char *name;
    const char *values[3];
} allowed_headers[] = {
    { "Strict-Transport-Security", { NULL } },
    { "X-Content-Type-Options", { "nosniff", NULL } },
    { "X-Frame-Options", { "deny", "sameorigin", NULL } },
    { "X-XSS-Protection", { NULL } },
    { "Content-Security-Policy", { NULL } },
};

static bool header_value_ok(size_t h, const char *value)
{
    if (allowed_headers[h].values[0] == NULL)
        return true;
    for (size_t i = 0; allowed_headers[h].values[i] != NULL; i++)
        if (strcmp(value, allowed_headers[h].values[i]) == 0)
            return true;
    return false;
}

static bool header(struct walk *w, const char *name, const yaml_node_t *v)
{
    size_t h = 0;
    while (h < ARRAY_SIZE(allowed_headers) &&
           strcmp(name, allowed_headers[h].name) != 0)
        h++;
    if (h == ARRAY_SIZE(allowed_headers))
        return fail(w, v, "HTTP header \"%s\" can not be configured (Content-Security-Policy, "
                    "Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
                    "X-XSS-Protection)", shown(name).text);
    const char *value = "";
    bool blank = is_blank(v);
    /* exporter-toolkit refuses a blank value where it knows the values (header_value_ok
     * below), and sends the others blank; a blank header says nothing, so it is not sent. */
    if (blank && allowed_headers[h].values[0] == NULL)
        return true;
    if (!blank && !get_string(w, v, &value))
        return false;
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(w, v, "holds a control character");
    const char *quote = blank ? "" : "\"";
    if (!header_value_ok(h, value))
        return fail(w, v, "%s%s%s is not one of %s%s%s", quote,
                    blank ? "blank" : shown(value).text, quote,
                    allowed_headers[h].values[0],
                    allowed_headers[h].values[1] ? ", " : "",
                    allowed_headers[h].values[1] ? allowed_headers[h].values[1] : "");
    struct web_config *c = w->config;
    if (c->header_count == WEB_CONFIG_MAX_LIST)
        return fail(w, v, "too many headers");
    c->headers[c->header_count].name = strdup(name);
    c->headers[c->header_count].value = strdup(value);
    if (c->headers[c->header_count].name == NULL || c->headers[c->header_count].value == NULL)
        return fail(w, v, "out of memory");
    c->header_count++;
    return true;
}

typedef bool (*key_fn)(struct walk *w, const char *key, const yaml_node_t *value);
static bool each_key(struct walk *w, const yaml_node_t *node, const char *section, key_fn fn);

static bool http_key(struct walk *w, const char *key, const yaml_node_t *v)
{
    if (strcmp(key, "headers") == 0)
        return each_key(w, v, "http_server_config.headers", header);
    if (strcmp(key, "http2") == 0) {
        bool on;
        if (!get_bool(w, v, &on))
            return false;
        return !on || fail(w, v, "true is not possible: libmicrohttpd serves HTTP/1.1 only; "
                           "set false or leave it out");
    }
    return fail(w, v, "unknown key");
}

/* ---- basic_auth_users ------------------------------------------------------------------- */

/* "$2a$", "$2b$" or "$2y$", a cost of two digits from 04 to 31, "$", 53 characters of
 * bcrypt's base64: what nettle's blowfish_bcrypt_verify takes. */
static bool is_bcrypt_hash(const char *h)
{
    static const char alphabet[] =
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || strchr("aby", h[2]) == NULL ||
        h[3] != '$' || h[6] != '$' || h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9')
        return false;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return false;
    return strspn(h + 7, alphabet) == 53;
}

static bool user(struct walk *w, const char *name, const yaml_node_t *v)
{
    const char *hash = NULL;
    if (!get_string(w, v, &hash))
        return false;
    if (name[0] == '\0' || strchr(name, ':') != NULL)
        return fail(w, v, "a user name must not be empty or hold ':'");
    if (!is_bcrypt_hash(hash)) /* never quote it: it is a secret */
        return fail(w, v, "is not a bcrypt hash ($2y$, $2b$ or $2a$, a cost of 04 to 31, "
                    "60 characters; htpasswd -nBC 10 \"\" makes one)");
    struct web_config *c = w->config;
    if (c->user_count == WEB_CONFIG_MAX_LIST)
        return fail(w, v, "more than %d users", WEB_CONFIG_MAX_LIST);
    c->users[c->user_count].name = strdup(name);
    c->users[c->user_count].hash = strdup(hash);
    if (c->users[c->user_count].name == NULL || c->users[c->user_count].hash == NULL)
        return fail(w, v, "out of memory");
    c->user_count++;
    return true;
}

/* ---- the top level ---------------------------------------------------------------------- */

static bool top_key(struct walk *w, const char *key, const yaml_node_t *v)
{
    if (strcmp(key, "tls_server_config") == 0)
        return each_key(w, v, "tls_server_config", tls_key);
    if (strcmp(key, "http_server_config") == 0)
        return each_key(w, v, "http_server_config", http_key);
    if (strcmp(key, "basic_auth_users") == 0)
        return each_key(w, v, "basic_auth_users", user);
    if (strcmp(key, "rate_limit") == 0)
        return fail(w, v, "not supported by tcpip_exporter (--web.max-requests-in-flight and "
                    "--web.max-connections-per-ip limit clients)");
    return fail(w, v, "unknown key");
}

/* Each key of a mapping (a null is an empty one), with section.key as the error path. */
static bool each_key(struct walk *w, const yaml_node_t *node, const char *section, key_fn fn)
{
    if (is_null(node))
        return true;
    if (node->type != YAML_MAPPING_NODE) {
        snprintf(w->path, sizeof w->path, "%s", section);
        return fail(w, node, "must be a mapping of keys to values");
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node_at(w, p->key);
        snprintf(w->path, sizeof w->path, "%s", section);
        const char *key = NULL;
        if (!get_string(w, k, &key))
            return false;
        for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
            const yaml_node_t *earlier = node_at(w, q->key);
            if (earlier->type == YAML_SCALAR_NODE && strcmp(scalar(earlier), key) == 0)
                return fail(w, k, "\"%s\" is given twice", shown(key).text);
        }
        snprintf(w->path, sizeof w->path, "%s%s%s", section, section[0] ? "." : "",
                 shown(key).text);
        if (!fn(w, key, node_at(w, p->value)))
            return false;
    }
    return true;
}

/* Rules across keys, as exporter-toolkit checks them. */
static bool check_whole(struct walk *w, const yaml_node_t *root)
{
    struct web_config *c = w->config;
    w->path[0] = '\0';
    c->tls = c->cert_file || c->cert || c->key_file || c->key || c->client_ca_file ||
             c->client_ca || c->client_auth_named;
    snprintf(w->path, sizeof w->path, "tls_server_config");
    /* Checked with TLS off too, like every other value the file gives: versions that
     * contradict each other are a mistake whether or not a certificate follows. */
    if (c->min_version > c->max_version)
        return fail(w, root, "min_version %s is above max_version %s",
                    version_names[c->min_version], version_names[c->max_version]);
    if (!c->tls)
        return true;
    if ((c->cert_file != NULL) + (c->cert != NULL) != 1)
        return fail(w, root, c->cert_file ? "give cert_file or cert, not both"
                                          : "missing one of cert or cert_file");
    if ((c->key_file != NULL) + (c->key != NULL) != 1)
        return fail(w, root, c->key_file ? "give key_file or key, not both"
                                         : "missing one of key or key_file");
    if (c->client_ca_file && c->client_ca)
        return fail(w, root, "give client_ca_file or client_ca, not both");
    bool has_ca = c->client_ca_file || c->client_ca;
    if (has_ca && c->client_auth == WEB_CLIENT_AUTH_NONE)
        return fail(w, root, "client CA's have been configured without a Client Auth Policy "
                    "(client_auth_type)");
    /* A verifying policy without a CA verifies against the system's trusted CAs, and
     * client_allowed_sans apply to any certificate a client gives (none is asked for
     * under NoClientCert), as in exporter-toolkit; web_security.c does both. */
    return true;
}

struct web_config *web_config_parse(const char *text, size_t size, char *err, size_t err_size)
{
    struct web_config *config = calloc(1, sizeof *config);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (config == NULL || !yaml_parser_initialize(&parser)) {
        free(config);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    config->min_version = WEB_TLS12;
    config->max_version = WEB_TLS13;
    config->prefer_server_cipher_suites = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);
    bool ok = yaml_parser_load(&parser, &doc);
    if (!ok) {
        snprintf(err, err_size, "line %lu: not valid YAML: %s",
                 (unsigned long)parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "unknown error");
        yaml_parser_delete(&parser);
        web_config_free(config);
        return NULL;
    }
    struct walk w = { .doc = &doc, .config = config, .err = err, .err_size = err_size };
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    /* an empty file is an empty configuration: plain HTTP, no users */
    ok = root == NULL || (each_key(&w, root, "", top_key) && check_whole(&w, root));
    yaml_document_delete(&doc);
    if (ok) { /* a second document would be ignored by a reader that takes the first */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            snprintf(err, err_size, "line %lu: not valid YAML: %s",
                     (unsigned long)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "unknown error");
            ok = false;
        } else {
            if (yaml_document_get_root_node(&next) != NULL) {
                snprintf(err, err_size, "line %lu: a second YAML document; the file holds one",
                         (unsigned long)yaml_document_get_root_node(&next)->start_mark.line + 1);
                ok = false;
            }
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);
    if (!ok) {
        web_config_free(config);
        return NULL;
    }
    return config;
}

void web_config_free(struct web_config *config)
{
    if (config == NULL)
        return;
    free(config->cert_file);
    free(config->key_file);
    free(config->client_ca_file);
    free(config->cert);
    free(config->key);
    free(config->client_ca);
    for (size_t i = 0; i < config->allowed_san_count; i++)
        free(config->allowed_sans[i]);
    for (size_t i = 0; i < config->header_count; i++) {
        free(config->headers[i].name);
        free(config->headers[i].value);
    }
    for (size_t i = 0; i < config->user_count; i++) {
        free(config->users[i].name);
        free(config->users[i].hash);
    }
    free(config);
}
