/* One writer applies millions of network events with their endpoints to a table that keeps
 * peers in a store far too small for them (evictions into other, a full store, shown
 * places changing hands, PID reuse and retirement), while reader threads walk the peers
 * of every instance and name without pause. What readers can check, and do:
 *
 *   a peer's address names its instance: 10.<pid>.<start_time % 256>.<n>, so a peer shown
 *   under another instance is a mix; its sent and received bytes are multiples of
 *   SIZE(address), so counters shown with another peer's address are a mix too;
 *
 * and across reads, per instance_id: the covered counters (sums over peers and other) and
 * `other` as /metrics renders it (other, the peers not shown and what the shown ones had
 * counted when they took their places) never go down; per
 * peer_id: no counter goes down; per name: the sums never go down.
 * Bounded by events and wall time, so it also finishes under ThreadSanitizer. Exit status
 * 0 on success, 1 on any violation. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "process_table.h"

enum {
    CAPACITY = 64,
    PIDS = 24,
    READERS = 2,
    MAX_EVENTS = 6000000,
    RING = 1 << 14,
    MAX_NAMES = 256,
};
#define TIME_LIMIT_NS 3000000000ll
#define T0 1000u

static atomic_bool stop;
static atomic_int failures;

static void failure(const char *what, uint64_t a, uint64_t b)
{
    if (atomic_fetch_add(&failures, 1) < 10)
        fprintf(stderr, "peers_concurrency: %s (%" PRIu64 ", %" PRIu64 ")\n", what, a, b);
}

static uint32_t size_of(const uint8_t a[4])
{
    return 1 + (uint32_t)((a[1] * 131u + a[2] * 31u + a[3] * 7u) % 997u);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- writer ---- */

struct proc {
    uint32_t pid;
    uint64_t start;
    bool live;
};

static void apply_process(struct process_table *t, enum process_op op, struct proc *p,
                          uint64_t ts)
{
    struct trace_fact f;
    memset(&f, 0, sizeof f);
    f.kind = FACT_PROCESS;
    f.type = op == PROC_START ? EVT_PROCESS_START : EVT_PROCESS_END;
    f.u.process.op = op;
    f.u.process.pid = p->pid;
    f.u.process.unique_key = p->start + 1;
    snprintf(f.u.process.image_name, sizeof f.u.process.image_name, "p%u.exe",
             (unsigned)(p->pid % 5));
    process_table_apply(t, &f, ts);
}

static void apply_net(struct process_table *t, const struct proc *p, uint32_t n, int op,
                      uint64_t ts)
{
    struct trace_fact f;
    memset(&f, 0, sizeof f);
    f.kind = FACT_NET;
    f.u.net.op = op == 0 ? NET_TCP_SEND : op == 1 ? NET_TCP_RECV : NET_UDP_SEND;
    f.type = op == 0 ? EVT_TCP_SEND_V4 : op == 1 ? EVT_TCP_RECV_V4 : EVT_UDP_SEND_V4;
    f.u.net.family = FAMILY_IPV4;
    f.u.net.pid = p->pid;
    uint8_t remote[4] = {10, (uint8_t)p->pid, (uint8_t)(p->start % 256), (uint8_t)n};
    memcpy(f.u.net.daddr, remote, 4);
    f.u.net.saddr[0] = 192;
    f.u.net.dport = (uint16_t)(443 + n % 2);
    f.u.net.sport = 50000;
    f.u.net.size = size_of(remote);
    process_table_apply(t, &f, ts);
}

static void *writer_main(void *arg)
{
    struct process_table *t = arg;
    struct proc procs[PIDS];
    uint64_t ts = T0, rng = 42;
    for (int i = 0; i < PIDS; i++) {
        procs[i] = (struct proc){.pid = 4u * (uint32_t)(i + 1), .start = ts, .live = true};
        apply_process(t, PROC_START, &procs[i], ts);
    }
    int64_t deadline = now_ns() + TIME_LIMIT_NS;
    for (long e = 0; e < MAX_EVENTS; e++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(rng >> 33);
        struct proc *p = &procs[r % PIDS];
        ts++;
        if (r % 4096 == 0) {
            /* The pid is reused: a new instance with new addresses. */
            apply_process(t, PROC_END, p, ts);
            p->start = ts;
            apply_process(t, PROC_START, p, ts);
        } else if (r % 1024 == 1) {
            process_table_housekeep(t, ts);
        } else {
            /* Few busy peers and a long tail, so shown places change hands. */
            uint32_t n = (r >> 8) % 4 == 0 ? (r >> 12) % 40 : (r >> 12) % 3;
            apply_net(t, p, n, (int)((r >> 20) % 3), ts);
        }
        if ((e & 0xfff) == 0 && now_ns() > deadline)
            break;
    }
    atomic_store(&stop, true);
    return NULL;
}

/* ---- readers ---- */

struct instance_memory {
    uint64_t instance_id;
    uint64_t covered[FAMILY_COUNT][CTR_COUNT];
    uint64_t rendered_other[PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
};

struct peer_memory {
    uint64_t peer_id;
    uint64_t counters[PEER_CTR_COUNT];
};

struct reader {
    struct process_table *table;
    struct instance_memory *instances; /* RING, by instance_id */
    struct peer_memory *peers;         /* RING, by peer_id */
    uint64_t name_sums[MAX_NAMES];
    char names[MAX_NAMES][IMAGE_NAME_MAX];
    unsigned name_count;
    uint64_t visits;
};

static void check_peer_identity(const struct process_peers *e, const struct peer_view *p)
{
    const struct process_view *v = e->process;
    if (v->is_overflow || !v->is_named)
        return;
    if (p->family != FAMILY_IPV4 || p->address[0] != 10 || p->address[1] != (uint8_t)v->pid ||
        p->address[2] != (uint8_t)(v->unique_key - 1))
        failure("peer address of another instance", v->instance_id, p->peer_id);
    uint32_t size = size_of(p->address);
    if (p->counters[PEER_SENT_BYTES] % size != 0 || p->counters[PEER_RECV_BYTES] % size != 0)
        failure("peer counters of another address", p->counters[PEER_SENT_BYTES], size);
}

/* A peer's counters are everything since it was first seen: they only grow. */
static void check_peer_growth(struct reader *r, const struct peer_view *p)
{
    struct peer_memory *m = &r->peers[p->peer_id % RING];
    if (m->peer_id != p->peer_id) {
        m->peer_id = p->peer_id;
        memcpy(m->counters, p->counters, sizeof m->counters);
        return;
    }
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        if (p->counters[c] < m->counters[c])
            failure("a peer's counter went down", p->counters[c], m->counters[c]);
        if (p->shown_from[c] > p->counters[c])
            failure("a series below zero", p->shown_from[c], p->counters[c]);
        m->counters[c] = p->counters[c];
    }
}

static void check_instance(struct reader *r, const struct process_peers *e)
{
    uint64_t other[PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
    for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
        for (int c = 0; c < PEER_CTR_COUNT; c++)
            other[p][c] = e->other[FAMILY_IPV4][p][c];
    for (size_t i = 0; i < e->count; i++)
        for (int c = 0; c < PEER_CTR_COUNT; c++)
            other[e->peers[i].protocol][c] += e->peers[i].shown ? e->peers[i].shown_from[c]
                                                                 : e->peers[i].counters[c];
    struct instance_memory *m = &r->instances[e->process->instance_id % RING];
    if (m->instance_id == e->process->instance_id) {
        for (int f = 0; f < FAMILY_COUNT; f++)
            for (int c = 0; c < CTR_COUNT; c++)
                if (e->process->counters[f][c] < m->covered[f][c])
                    failure("a covered counter went down", e->process->counters[f][c],
                            m->covered[f][c]);
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
            for (int c = 0; c < PEER_CTR_COUNT; c++)
                if (other[p][c] < m->rendered_other[p][c])
                    failure("other went down", other[p][c], m->rendered_other[p][c]);
    }
    m->instance_id = e->process->instance_id;
    memcpy(m->covered, e->process->counters, sizeof m->covered);
    memcpy(m->rendered_other, other, sizeof other);
}

static void visit_instance(const struct process_peers *e, void *context)
{
    struct reader *r = context;
    r->visits++;
    for (size_t i = 0; i < e->count; i++) {
        check_peer_identity(e, &e->peers[i]);
        check_peer_growth(r, &e->peers[i]);
    }
    check_instance(r, e);
}

static void visit_name(const struct name_peers *e, void *context)
{
    struct reader *r = context;
    uint64_t sum = 0;
    for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
        for (int c = 0; c < PEER_CTR_COUNT; c++)
            sum += e->other[FAMILY_IPV4][p][c];
    for (size_t i = 0; i < e->count; i++)
        for (int c = 0; c < PEER_CTR_COUNT; c++)
            sum += e->peers[i].counters[c];
    unsigned at = 0;
    while (at < r->name_count && strcmp(r->names[at], e->name) != 0)
        at++;
    if (at == r->name_count) {
        if (at == MAX_NAMES)
            return;
        snprintf(r->names[at], IMAGE_NAME_MAX, "%s", e->name);
        r->name_count++;
        r->name_sums[at] = 0;
    }
    if (sum < r->name_sums[at])
        failure("a name's peer sums went down", sum, r->name_sums[at]);
    r->name_sums[at] = sum;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(&stop)) {
        process_table_foreach_peers(r->table, visit_instance, r);
        process_table_foreach_name_peers(r->table, visit_name, r);
    }
    return NULL;
}

int main(void)
{
    struct process_table_config config = {
        .capacity = CAPACITY, .retention = 500, .peer_capacity = 256, .peers_per_process = 12,
        .peers_shown = 3, .peers_by_name = true,
    };
    struct process_table *t = process_table_create(&config);
    if (!t)
        return 1;
    static struct reader readers[READERS];
    pthread_t threads[READERS + 1];
    for (int i = 0; i < READERS; i++) {
        readers[i].table = t;
        readers[i].instances = calloc(RING, sizeof *readers[i].instances);
        readers[i].peers = calloc(RING, sizeof *readers[i].peers);
        if (!readers[i].instances || !readers[i].peers)
            return 1;
        pthread_create(&threads[i], NULL, reader_main, &readers[i]);
    }
    pthread_create(&threads[READERS], NULL, writer_main, t);
    for (int i = 0; i <= READERS; i++)
        pthread_join(threads[i], NULL);
    struct table_stats s;
    process_table_stats(t, &s);
    uint64_t visits = 0;
    for (int i = 0; i < READERS; i++) {
        visits += readers[i].visits;
        free(readers[i].instances);
        free(readers[i].peers);
    }
    printf("peers_concurrency: %" PRIu64 " instance visits, %" PRIu64 " evicted, %" PRIu64
           " refused, %" PRIu64 " swaps, %" PRIu64 " retired, %d failures\n",
           visits, s.peers_evicted, s.peers_refused, s.peer_swaps, s.instances_retired,
           atomic_load(&failures));
    /* The run must have exercised what it checks. */
    bool exercised = s.peers_evicted > 0 && s.peer_swaps > 0 && s.instances_retired > 0 &&
                     visits > 0;
    if (!exercised)
        fprintf(stderr, "peers_concurrency: the run did not evict, swap and retire\n");
    process_table_destroy(t);
    return atomic_load(&failures) == 0 && exercised ? 0 : 1;
}
