/* HTTP basic authentication against bcrypt hashes (nettle's blowfish_bcrypt_verify).
 *
 * bcrypt is slow on purpose (cost 10: tens of milliseconds), and Prometheus sends the same
 * credentials with every scrape. So a password that verified is remembered for
 * BASIC_AUTH_CACHE_SECONDS, not as itself but as an HMAC-SHA256 under a key drawn at
 * start, of the user, the hash and the password: a memory dump shows no password, and a
 * changed hash no longer matches. A wrong password is never remembered and always costs a
 * full bcrypt, one at a time, so guessing stays slow and cannot starve the CPU. Every
 * comparison of secrets takes the same time whatever the bytes. */
#ifndef TCPIP_EXPORTER_BASIC_AUTH_H
#define TCPIP_EXPORTER_BASIC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "web_config.h"

#define BASIC_AUTH_CACHE_SECONDS 60.0
#define BASIC_AUTH_CACHE_ENTRIES 64

struct basic_auth;

struct basic_auth_stats {
    uint64_t bcrypt_runs;      /* full verifications */
    uint64_t cache_hits;       /* requests answered from the cache */
};

/* Copies the users. NULL when out of memory or the random key cannot be drawn. */
struct basic_auth *basic_auth_create(const struct web_user *users, size_t count);
void basic_auth_destroy(struct basic_auth *auth);

/* True when user and password match one of the users. now: monotonic seconds. */
bool basic_auth_check(struct basic_auth *auth, const char *user, const char *password,
                      double now);
/* The same from the cache alone, without a bcrypt: false says "not known to be right". */
bool basic_auth_cached(struct basic_auth *auth, const char *user, const char *password,
                       double now);

void basic_auth_stats(struct basic_auth *auth, struct basic_auth_stats *stats);

#endif
