/* libFuzzer target: the web configuration parser (exporter/web_config.c, libyaml) and the
 * priority string built from what it accepts (exporter/tls_priority.c, GnuTLS), on
 * arbitrary bytes. The input sits in a heap block of exactly its size, so AddressSanitizer
 * sees any over-read. Besides no crash, UB or leak, it checks what holds for any input:
 *   - a refusal says why in one line, and never quotes what the file holds from a "$2" on
 *     (where a bcrypt hash, a user's secret, would start);
 *   - an accepted configuration keeps its invariants: TLS with exactly one certificate and
 *     one key, min_version <= max_version, indexes inside their tables, every user's hash
 *     60 characters;
 *   - the priority string of an accepted TLS configuration is either made or refused
 *     with a reason naming tls_server_config.
 * Built only with -Dfuzzing=true (clang). Seeds: tests/exporter/corpus-fuzz_web_config. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "tls_priority.h"
#include "web_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One line, and no "$2" but the two the messages themselves write: whatever the file put
 * from a "$2" on (where a hash starts) is never quoted. */
static void check_refusal(const char *err)
{
    if (err[0] == '\0' || strchr(err, '\n') != NULL || strchr(err, '\r') != NULL)
        abort();
    static const char *const own[] = { "($2y$, $2b$ or $2a$", "$2... (not shown)" };
    for (const char *p = strstr(err, "$2"); p != NULL; p = strstr(p + 1, "$2")) {
        bool ours = false;
        for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
            const char *at = strstr(err, own[i]);
            while (at != NULL && !ours) {
                ours = p >= at && p < at + strlen(own[i]);
                at = strstr(at + 1, own[i]);
            }
        }
        if (!ours)
            abort();
    }
}

static void check_config(const struct web_config *c)
{
    if (c->min_version > c->max_version || c->cipher_suite_count > WEB_CONFIG_MAX_LIST ||
        c->curve_count > WEB_CONFIG_MAX_LIST || c->user_count > WEB_CONFIG_MAX_LIST ||
        c->header_count > WEB_CONFIG_MAX_LIST)
        abort();
    if (c->tls && ((c->cert_file != NULL) + (c->cert != NULL) != 1 ||
                   (c->key_file != NULL) + (c->key != NULL) != 1))
        abort();
    for (size_t i = 0; i < c->cipher_suite_count; i++)
        if (c->cipher_suites[i] >= web_cipher_suite_count)
            abort();
    for (size_t i = 0; i < c->curve_count; i++)
        if (c->curves[i] >= web_curve_count)
            abort();
    for (size_t i = 0; i < c->user_count; i++)
        if (strlen(c->users[i].hash) != 60)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    char err[512] = "";
    struct web_config *c = web_config_parse(text, size, err, sizeof err);
    if (c == NULL) {
        check_refusal(err);
    } else {
        check_config(c);
        if (c->tls) {
            char priority[1024];
            err[0] = '\0';
            if (!tls_priority_string(c, priority, sizeof priority, err, sizeof err) &&
                strstr(err, "tls_server_config") == NULL)
                abort();
        }
        web_config_free(c);
    }
    free(text);
    return 0;
}
