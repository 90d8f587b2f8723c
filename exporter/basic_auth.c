/* Basic authentication: user lookup, bcrypt, and the cache of verified credentials. */
#include "basic_auth.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/blowfish.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* bcrypt (cost 10) of 24 random bytes that were thrown away: an unknown user costs what a
 * known one does, so the time of an answer does not tell which user names exist. (A user
 * whose hash has another cost still differs; that is the hash's choice, not the name's.) */
static const char unknown_user_hash[] =
    "$2b$10$dxuJUQQdyikVWSJJzPRU9uGBhxDRDgl4xOMtI7c3htxXQC4jFnWsO";

struct cache_entry {
    uint8_t mac[SHA256_DIGEST_SIZE];
    double expires;            /* 0: empty */
};

struct basic_auth {
    struct web_user *users;
    size_t user_count;
    uint8_t key[32];
    pthread_mutex_t cache_lock;
    pthread_mutex_t bcrypt_lock; /* one bcrypt at a time */
    struct cache_entry cache[BASIC_AUTH_CACHE_ENTRIES];
    size_t next_slot;
    atomic_uint_fast64_t bcrypt_runs, cache_hits; /* read without the locks */
};

struct basic_auth *basic_auth_create(const struct web_user *users, size_t count)
{
    struct basic_auth *auth = calloc(1, sizeof *auth);
    if (auth == NULL)
        return NULL;
    pthread_mutex_init(&auth->cache_lock, NULL);
    pthread_mutex_init(&auth->bcrypt_lock, NULL);
    atomic_init(&auth->bcrypt_runs, 0);
    atomic_init(&auth->cache_hits, 0);
    auth->users = calloc(count ? count : 1, sizeof *auth->users);
    bool ok = auth->users != NULL &&
              gnutls_rnd(GNUTLS_RND_KEY, auth->key, sizeof auth->key) == 0;
    for (size_t i = 0; ok && i < count; i++) {
        auth->users[i].name = strdup(users[i].name);
        auth->users[i].hash = strdup(users[i].hash);
        auth->user_count = i + 1;
        ok = auth->users[i].name != NULL && auth->users[i].hash != NULL;
    }
    if (!ok) {
        basic_auth_destroy(auth);
        return NULL;
    }
    return auth;
}

void basic_auth_destroy(struct basic_auth *auth)
{
    if (auth == NULL)
        return;
    for (size_t i = 0; i < auth->user_count; i++) {
        free(auth->users[i].name);
        if (auth->users[i].hash != NULL)
            memset(auth->users[i].hash, 0, strlen(auth->users[i].hash));
        free(auth->users[i].hash);
    }
    free(auth->users);
    pthread_mutex_destroy(&auth->cache_lock);
    pthread_mutex_destroy(&auth->bcrypt_lock);
    memset(auth->key, 0, sizeof auth->key);
    free(auth);
}

/* Length-prefixed, so "ab"+"c" and "a"+"bc" differ. */
static void mac_part(struct hmac_sha256_ctx *ctx, const char *text)
{
    size_t n = strlen(text);
    uint8_t length[8];
    for (int i = 0; i < 8; i++)
        length[i] = (uint8_t)(n >> (8 * i));
    hmac_sha256_update(ctx, sizeof length, length);
    hmac_sha256_update(ctx, n, (const uint8_t *)text);
}

static void credential_mac(const struct basic_auth *auth, const char *user, const char *hash,
                           const char *password, uint8_t mac[SHA256_DIGEST_SIZE])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, sizeof auth->key, auth->key);
    mac_part(&ctx, user);
    mac_part(&ctx, hash);
    mac_part(&ctx, password);
    hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, mac);
    memset(&ctx, 0, sizeof ctx);
}

/* Every live entry is compared, whatever matched, so the time says nothing of where. */
static bool cache_has(struct basic_auth *auth, const uint8_t *mac, double now)
{
    bool found = false;
    pthread_mutex_lock(&auth->cache_lock);
    for (size_t i = 0; i < BASIC_AUTH_CACHE_ENTRIES; i++) {
        bool live = auth->cache[i].expires > now;
        found |= live & memeql_sec(auth->cache[i].mac, mac, SHA256_DIGEST_SIZE);
    }
    if (found)
        atomic_fetch_add_explicit(&auth->cache_hits, 1, memory_order_relaxed);
    pthread_mutex_unlock(&auth->cache_lock);
    return found;
}

static void cache_put(struct basic_auth *auth, const uint8_t *mac, double now)
{
    pthread_mutex_lock(&auth->cache_lock);
    struct cache_entry *e = &auth->cache[auth->next_slot];
    auth->next_slot = (auth->next_slot + 1) % BASIC_AUTH_CACHE_ENTRIES;
    memcpy(e->mac, mac, SHA256_DIGEST_SIZE);
    e->expires = now + BASIC_AUTH_CACHE_SECONDS;
    pthread_mutex_unlock(&auth->cache_lock);
}

static const struct web_user *find_user(const struct basic_auth *auth, const char *name)
{
    const struct web_user *found = NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < auth->user_count; i++) {
        const char *candidate = auth->users[i].name;
        if (strlen(candidate) == n && memeql_sec(candidate, name, n) && found == NULL)
            found = &auth->users[i];
    }
    return found;
}

/* The user's hash, or the unknown user's, and the credentials' MAC under it. */
static const struct web_user *credentials(struct basic_auth *auth, const char *user,
                                          const char *password,
                                          uint8_t mac[SHA256_DIGEST_SIZE], const char **hash)
{
    const struct web_user *known = find_user(auth, user);
    *hash = known != NULL ? known->hash : unknown_user_hash;
    credential_mac(auth, user, *hash, password, mac);
    return known;
}

bool basic_auth_cached(struct basic_auth *auth, const char *user, const char *password,
                       double now)
{
    const char *hash;
    uint8_t mac[SHA256_DIGEST_SIZE];
    return credentials(auth, user, password, mac, &hash) != NULL && cache_has(auth, mac, now);
}

bool basic_auth_check(struct basic_auth *auth, const char *user, const char *password,
                      double now)
{
    const char *hash;
    uint8_t mac[SHA256_DIGEST_SIZE];
    const struct web_user *known = credentials(auth, user, password, mac, &hash);
    if (known != NULL && cache_has(auth, mac, now))
        return true;
    pthread_mutex_lock(&auth->bcrypt_lock);
    int verified = blowfish_bcrypt_verify(strlen(password), (const uint8_t *)password,
                                          strlen(hash), (const uint8_t *)hash);
    pthread_mutex_unlock(&auth->bcrypt_lock);
    atomic_fetch_add_explicit(&auth->bcrypt_runs, 1, memory_order_relaxed);
    bool ok = verified == 1 && known != NULL;
    if (ok)
        cache_put(auth, mac, now);
    return ok;
}

void basic_auth_stats(struct basic_auth *auth, struct basic_auth_stats *stats)
{
    stats->cache_hits = atomic_load_explicit(&auth->cache_hits, memory_order_relaxed);
    stats->bcrypt_runs = atomic_load_explicit(&auth->bcrypt_runs, memory_order_relaxed);
}
