/* The web configuration at run time: TLS credentials handed to each handshake, client
 * certificates checked against the client CA, basic authentication and the extra headers,
 * all from one snapshot (a web_policy) that a watcher thread replaces when the file or a
 * file it names changes. A change that does not load keeps the running snapshot and is
 * logged. So a rotated certificate is served without a restart.
 *
 * What the daemon fixes at start stays as it was until the next start: whether TLS is on,
 * and the protocol versions, cipher suites and curves (the GnuTLS priority string). A
 * change of those is logged, and the rest of the new file applies. */
#ifndef TCPIP_EXPORTER_WEB_SECURITY_H
#define TCPIP_EXPORTER_WEB_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>  /* gnutls_certificate_retrieve_function2 */
#include "../collector/collector_log.h"
#include "web_config.h"

struct web_security;
struct web_policy;

/* Read, parse and load the file (and the files it names); start the watcher. NULL with
 * one line in err ("FILE: line 3: tls_server_config.min_version: ...") when it cannot.
 * At most one per process serves TLS (GnuTLS's certificate callback has no context). */
struct web_security *web_security_open(const char *path, const struct collector_log *log,
                                       char *err, size_t err_size);
void web_security_close(struct web_security *security);

/* Load and check the file without keeping it: for the configuration's own checks. */
bool web_security_validate(const char *path, char *err, size_t err_size);

bool web_security_tls(const struct web_security *security);
/* The GnuTLS priority string the daemon was started with. */
const char *web_security_priority(const struct web_security *security);
/* For MHD_OPTION_HTTPS_CERT_CALLBACK: each handshake takes the certificate in force, and
 * asks for (and checks) a client certificate as client_auth_type says. */
gnutls_certificate_retrieve_function2 *web_security_cert_callback(void);

/* The snapshot in force, held until web_policy_release. */
struct web_policy *web_security_acquire(struct web_security *security);
void web_policy_release(struct web_security *security, struct web_policy *policy);

/* NULL when the file names no users: every request passes. */
bool web_policy_needs_auth(const struct web_policy *policy);
/* With a bcrypt when the credentials are not in the cache: slow, see auth_verifier.h. */
bool web_policy_check_user(struct web_policy *policy, const char *user, const char *password,
                           double now);
/* From the cache alone: fast, false when a bcrypt would be needed to say. */
bool web_policy_user_cached(struct web_policy *policy, const char *user, const char *password,
                            double now);
/* The configured response headers. */
size_t web_policy_header_count(const struct web_policy *policy);
const struct web_header *web_policy_header(const struct web_policy *policy, size_t i);

/* Reloads done and failed since the start, for the self-metrics. */
struct web_security_stats {
    unsigned long long reloads, reload_failures;
    bool last_reload_ok;
    unsigned long long bcrypt_runs, auth_cache_hits;
};
void web_security_stats(struct web_security *security, struct web_security_stats *stats);

#endif
