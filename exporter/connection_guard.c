/* Connection limits enforced beside libmicrohttpd (see connection_guard.h). One mutex
 * guards the list of connections and the per-address counts: every call holds it for a few
 * pointer updates, and the sweep for one pass over at most max-connections entries. */
#include "connection_guard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SWEEP_INTERVAL_MS 100
/* Near the limit: at most this fraction of the places left free (1/8, at least one). */
#define HEADROOM_DIVISOR 8u
#define ADDRESS_BUCKETS 256
#define NO_DEADLINE 1e300

enum phase { PHASE_HEAD, PHASE_HANDLING, PHASE_SENDING };

struct address_count {
    uint8_t bytes[16];
    size_t length;
    unsigned connections;
    struct address_count *next;
};

struct guarded_connection {
    listen_socket_t socket;
    struct address_count *address;   /* NULL when refused: it was never counted */
    enum phase phase;
    double phase_since;
    double deadline;
    bool cut;
    struct guarded_connection *prev, *next;
};

struct connection_guard {
    struct connection_guard_config config;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct guarded_connection *connections;
    struct address_count *buckets[ADDRESS_BUCKETS];
    uint64_t open;
    uint64_t live;                   /* open and not cut */
    atomic_uint_fast64_t refused, head_timeouts, slow_sends, evicted;
    bool stopping;
    bool has_thread;
    pthread_t thread;
};

static double real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- per-address counts ---- */

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static size_t bucket_of(const uint8_t *bytes, size_t length)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < length; i++)
        h = (h ^ bytes[i]) * 16777619u;
    return h % ADDRESS_BUCKETS;
}

/* The entry for address, made when missing; NULL when out of memory. Lock held. */
static struct address_count *address_entry(struct connection_guard *guard,
                                           const uint8_t *bytes, size_t length)
{
    if (length == 16 && memcmp(bytes, v4_mapped_prefix, 12) == 0) {
        bytes += 12;
        length = 4;
    } else if (length >= 8) {
        length = 8; /* an IPv6 address by its /64 */
    }
    size_t b = bucket_of(bytes, length);
    for (struct address_count *a = guard->buckets[b]; a != NULL; a = a->next)
        if (a->length == length && memcmp(a->bytes, bytes, length) == 0)
            return a;
    struct address_count *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    memcpy(a->bytes, bytes, length);
    a->length = length;
    a->next = guard->buckets[b];
    guard->buckets[b] = a;
    return a;
}

static void address_drop(struct connection_guard *guard, struct address_count *a)
{
    if (--a->connections > 0)
        return;
    struct address_count **link = &guard->buckets[bucket_of(a->bytes, a->length)];
    while (*link != a)
        link = &(*link)->next;
    *link = a->next;
    free(a);
}

/* ---- the list of connections ---- */

static void cut(struct connection_guard *guard, struct guarded_connection *c)
{
    if (!c->cut) {
        c->cut = true;
        guard->live--;
        connection_socket_cut(c->socket);
    }
}

static void link_connection(struct connection_guard *guard, struct guarded_connection *c)
{
    c->prev = NULL;
    c->next = guard->connections;
    if (c->next != NULL)
        c->next->prev = c;
    guard->connections = c;
    guard->open++;
    guard->live++;
}

static void unlink_connection(struct connection_guard *guard, struct guarded_connection *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        guard->connections = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    guard->open--;
    if (!c->cut)
        guard->live--;
}

static double now(const struct connection_guard *guard)
{
    return guard->config.now != NULL ? guard->config.now() : real_now();
}

/* ---- room near the limit ---- */

/* How many connections to cut so that the places libmicrohttpd has left stay free:
 * an eighth of them (at least one). Cut ones no longer count: they are closing. */
static uint64_t over_headroom(const struct connection_guard *guard)
{
    uint64_t limit = guard->config.connection_limit;
    if (limit == 0)
        return 0;
    uint64_t headroom = limit / HEADROOM_DIVISOR > 0 ? limit / HEADROOM_DIVISOR : 1;
    return guard->live + headroom > limit ? guard->live + headroom - limit : 0;
}

/* A client's head arrives in milliseconds; one that has waited evict_after_s is holding a
 * place, not using it. The longest waiting go first, count of them (UINT64_MAX: all);
 * kept-alive connections between requests wait for a head too: theirs reconnect. Returns
 * how many were cut. Lock held. */
static bool waited_for_head(const struct connection_guard *guard,
                            const struct guarded_connection *c, double t)
{
    return !c->cut && c->phase == PHASE_HEAD &&
           t - c->phase_since >= guard->config.evict_after_s;
}

static void evict(struct connection_guard *guard, struct guarded_connection *c)
{
    atomic_fetch_add(&guard->evicted, 1);
    cut(guard, c);
}

static size_t evict_waiting_heads(struct connection_guard *guard, uint64_t count, double t)
{
    size_t cuts = 0;
    if (count == UINT64_MAX) { /* every one that has waited: one pass */
        for (struct guarded_connection *c = guard->connections; c != NULL; c = c->next) {
            if (waited_for_head(guard, c, t)) {
                evict(guard, c);
                cuts++;
            }
        }
        return cuts;
    }
    for (; cuts < count; cuts++) {
        struct guarded_connection *oldest = NULL;
        for (struct guarded_connection *c = guard->connections; c != NULL; c = c->next) {
            if (!waited_for_head(guard, c, t))
                continue;
            if (oldest == NULL || c->phase_since < oldest->phase_since)
                oldest = c;
        }
        if (oldest == NULL)
            break;
        evict(guard, oldest);
    }
    return cuts;
}

struct guarded_connection *connection_guard_opened(struct connection_guard *guard,
                                                   listen_socket_t socket,
                                                   const uint8_t *address, size_t length)
{
    struct guarded_connection *c = calloc(1, sizeof *c);
    if (c == NULL) {
        connection_socket_cut(socket);
        return NULL;
    }
    c->socket = socket;
    c->phase = PHASE_HEAD;
    pthread_mutex_lock(&guard->lock);
    double t = now(guard);
    c->phase_since = t;
    c->deadline = t + guard->config.head_timeout_s;
    struct address_count *a = address_entry(guard, address, length);
    unsigned cap = guard->config.per_address_cap;
    if (a != NULL && (cap == 0 || a->connections < cap)) {
        a->connections++;
        c->address = a;
    } else {
        /* a is never new here: a new entry has no connections, below any cap */
        atomic_fetch_add(&guard->refused, 1);
        cut(guard, c);
    }
    link_connection(guard, c);
    /* The newcomer itself is too young to be cut. */
    evict_waiting_heads(guard, over_headroom(guard), t);
    pthread_mutex_unlock(&guard->lock);
    return c;
}

static void set_phase(struct connection_guard *guard, struct guarded_connection *c,
                      enum phase phase, double deadline_after)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&guard->lock);
    double t = now(guard);
    c->phase = phase;
    c->phase_since = t;
    c->deadline = deadline_after >= NO_DEADLINE ? NO_DEADLINE : t + deadline_after;
    pthread_mutex_unlock(&guard->lock);
}

void connection_guard_head_done(struct connection_guard *guard, struct guarded_connection *c)
{
    set_phase(guard, c, PHASE_HANDLING, NO_DEADLINE);
}

void connection_guard_sending(struct connection_guard *guard, struct guarded_connection *c,
                              uint64_t bytes)
{
    const struct connection_guard_config *cfg = &guard->config;
    if (cfg->min_send_rate <= 0) {
        set_phase(guard, c, PHASE_SENDING, NO_DEADLINE);
        return;
    }
    set_phase(guard, c, PHASE_SENDING, cfg->send_grace_s + (double)bytes / cfg->min_send_rate);
}

/* The next request on a kept-alive connection may wait the idle timeout before it starts
 * (libmicrohttpd closes it after that much silence), then has the head timeout to arrive. */
void connection_guard_request_done(struct connection_guard *guard,
                                   struct guarded_connection *c)
{
    set_phase(guard, c, PHASE_HEAD, guard->config.idle_timeout_s + guard->config.head_timeout_s);
}

void connection_guard_closed(struct connection_guard *guard, struct guarded_connection *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&guard->lock);
    unlink_connection(guard, c);
    if (c->address != NULL)
        address_drop(guard, c->address);
    pthread_mutex_unlock(&guard->lock);
    free(c);
}

size_t connection_guard_sweep(struct connection_guard *guard)
{
    size_t cuts = 0;
    pthread_mutex_lock(&guard->lock);
    double t = now(guard);
    for (struct guarded_connection *c = guard->connections; c != NULL; c = c->next) {
        if (c->cut || c->phase == PHASE_HANDLING || t < c->deadline)
            continue;
        atomic_fetch_add(c->phase == PHASE_HEAD ? &guard->head_timeouts : &guard->slow_sends, 1);
        cut(guard, c);
        cuts++;
    }
    /* Near or at the limit libmicrohttpd may accept no more, so no newcomer would make
     * room: the sweep does, and cuts every head that has waited, not just enough of them.
     * The backlog is first in, first out: a scrape queued behind a few hundred trickling
     * connections is accepted only once they all are, and each of those waits
     * evict_after_s before it may go (under Wine a scrape took 1.2 s behind 400 with just
     * enough cut each time). */
    if (over_headroom(guard) > 0)
        cuts += evict_waiting_heads(guard, UINT64_MAX, t);
    pthread_mutex_unlock(&guard->lock);
    return cuts;
}

void connection_guard_counts(struct connection_guard *guard,
                             struct connection_guard_counts *out)
{
    pthread_mutex_lock(&guard->lock);
    out->open = guard->open;
    pthread_mutex_unlock(&guard->lock);
    out->refused_per_address = atomic_load(&guard->refused);
    out->head_timeouts = atomic_load(&guard->head_timeouts);
    out->slow_sends = atomic_load(&guard->slow_sends);
    out->evicted = atomic_load(&guard->evicted);
}

/* ---- the watchdog ---- */

static void deadline_in_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);   /* pthread_cond_timedwait's default clock */
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void *watchdog_main(void *arg)
{
    struct connection_guard *guard = arg;
    for (;;) {
        pthread_mutex_lock(&guard->lock);
        struct timespec until;
        deadline_in_ms(&until, SWEEP_INTERVAL_MS);
        while (!guard->stopping &&
               pthread_cond_timedwait(&guard->wake, &guard->lock, &until) == 0) {
        }
        bool stopping = guard->stopping;
        pthread_mutex_unlock(&guard->lock);
        if (stopping)
            return NULL;
        connection_guard_sweep(guard);
    }
}

struct connection_guard *connection_guard_create(const struct connection_guard_config *config)
{
    struct connection_guard *guard = calloc(1, sizeof *guard);
    if (guard == NULL)
        return NULL;
    guard->config = *config;
    if (pthread_mutex_init(&guard->lock, NULL) != 0) {
        free(guard);
        return NULL;
    }
    if (pthread_cond_init(&guard->wake, NULL) != 0) {
        pthread_mutex_destroy(&guard->lock);
        free(guard);
        return NULL;
    }
    if (!config->no_watchdog) {
        if (pthread_create(&guard->thread, NULL, watchdog_main, guard) != 0) {
            connection_guard_destroy(guard);
            return NULL;
        }
        guard->has_thread = true;
    }
    return guard;
}

void connection_guard_destroy(struct connection_guard *guard)
{
    if (guard == NULL)
        return;
    if (guard->has_thread) {
        pthread_mutex_lock(&guard->lock);
        guard->stopping = true;
        pthread_cond_signal(&guard->wake);
        pthread_mutex_unlock(&guard->lock);
        pthread_join(guard->thread, NULL);
    }
    for (size_t b = 0; b < ADDRESS_BUCKETS; b++) {
        while (guard->buckets[b] != NULL) {
            struct address_count *a = guard->buckets[b];
            guard->buckets[b] = a->next;
            free(a);
        }
    }
    pthread_cond_destroy(&guard->wake);
    pthread_mutex_destroy(&guard->lock);
    free(guard);
}
