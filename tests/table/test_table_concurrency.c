/* One writer applies millions of events to a process table (PID reuse, renames from
 * <unknown> and between names, exits, rundowns that revive, retirements) while reader
 * threads walk rows and names without pause. Every instance encodes its identity in what
 * readers can see, so a reader can tell when it was shown a mix of two instances:
 *
 *   unique_key == KEY(start_time) for every named row, 0 for an unnamed one;
 *   name == "p<pid>_k<unique_key % 2>_<variant>.exe" for a named row, "<unknown>" otherwise;
 *   sent bytes grow by SEND_SIZE(start_time) per send, received bytes by pid + 1 per receive,
 *   so each is a multiple of its step;
 *
 * and across reads, per instance_id: the pid and start time never change and no counter
 * goes down; per name and service set: no total goes down. Services come both ways the
 * service does it: SystemConfig-style records from the writer, and complete lists offered
 * by another thread (the SCM scanner's role); pid P only ever hosts "s<P>", so a row whose
 * set names another pid's service was shown a mix. Bounded by events and by wall time, so it also
 * finishes under ThreadSanitizer. Exit status 0 on success, 1 on any violation. */
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
    CAPACITY = 128,
    PIDS = 40,
    READERS = 3,
    MAX_EVENTS = 10000000,
    RING = 1 << 16,     /* per-reader memory of instances, by instance_id */
    MAX_NAMES = 512,
};
#define TIME_LIMIT_NS 3000000000ll
#define RETENTION 2000u /* timestamps advance by 1 per step */
#define T0 1000u

static uint64_t key_of(uint64_t start_time)
{
    return start_time * 2 + 0x5000000000ull;
}

static uint32_t send_size(uint64_t start_time)
{
    return 1000 + (uint32_t)((start_time * 2654435761u) % 997u);
}

static uint32_t pid_of(int i)
{
    return 4u * (uint32_t)(i + 1);
}

static atomic_bool stop;
static atomic_int failures;

static void failure(const char *what, const struct process_view *v)
{
    if (atomic_fetch_add(&failures, 1) < 10)
        fprintf(stderr, "violation: %s (pid %" PRIu32 ", instance %" PRIu64 ", name %s, key %"
                PRIx64 ", start %" PRIu64 ")\n", what, v ? v->pid : 0, v ? v->instance_id : 0,
                v ? v->name : "-", v ? v->unique_key : 0, v ? v->start_time : 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- readers ---- */

struct seen_instance {
    uint64_t instance_id;
    uint32_t pid;
    uint64_t start_time;
    uint64_t counters[4];
};

struct seen_name {
    char name[IMAGE_NAME_MAX];
    uint32_t service_set;
    uint64_t counters[4];
};

struct reader {
    pthread_t thread;
    struct seen_instance *instances; /* RING entries */
    struct seen_name names[MAX_NAMES];
    size_t name_count;
    uint64_t row_scans, name_scans, rows_checked, rows_with_services;
    const struct process_table *table;
};

static void counters_of(const uint64_t c[FAMILY_COUNT][CTR_COUNT], uint64_t out[4])
{
    out[0] = c[FAMILY_IPV4][CTR_SENT_BYTES];
    out[1] = c[FAMILY_IPV4][CTR_SENT_EVENTS];
    out[2] = c[FAMILY_IPV6][CTR_RECV_BYTES];
    out[3] = c[FAMILY_IPV6][CTR_RECV_EVENTS];
}

static void check_identity(const struct process_view *v)
{
    if (v->state == PROCESS_LIVE ? v->exit_time != 0 : v->exit_time < v->start_time)
        failure("exit time does not match state", v);
    if (v->is_overflow) {
        failure("overflow row used although the writer keeps rows free", v);
        return;
    }
    if (!v->is_named) {
        if (strcmp(v->name, UNKNOWN_PROCESS_NAME) != 0 || v->unique_key != 0)
            failure("unnamed row with a name or key", v);
    } else {
        unsigned pid, k;
        char variant;
        if (sscanf(v->name, "p%u_k%u_%c.exe", &pid, &k, &variant) != 3 || pid != v->pid ||
            k != v->unique_key % 2)
            failure("name of another instance", v);
        if (v->unique_key != key_of(v->start_time))
            failure("key of another instance", v);
    }
    const uint64_t *c4 = v->counters[FAMILY_IPV4];
    const uint64_t *c6 = v->counters[FAMILY_IPV6];
    if (c4[CTR_SENT_BYTES] % send_size(v->start_time) != 0)
        failure("sent bytes of another instance", v);
    if (c6[CTR_RECV_BYTES] % (v->pid + 1) != 0)
        failure("received bytes of another pid", v);
}

static void check_monotonic(struct reader *r, const struct process_view *v)
{
    struct seen_instance *s = &r->instances[v->instance_id & (RING - 1)];
    uint64_t now[4];
    counters_of(v->counters, now);
    if (s->instance_id == v->instance_id) {
        if (s->pid != v->pid || s->start_time != v->start_time)
            failure("instance changed pid or start time", v);
        for (int i = 0; i < 4; i++)
            if (now[i] < s->counters[i])
                failure("counter went down", v);
    }
    s->instance_id = v->instance_id;
    s->pid = v->pid;
    s->start_time = v->start_time;
    memcpy(s->counters, now, sizeof now);
}

static void check_services(struct reader *r, const struct process_view *v)
{
    struct service_ref refs[PROCESS_TABLE_SERVICES_PER_SET];
    size_t n = process_table_service_set(r->table, v->service_set, refs,
                                         PROCESS_TABLE_SERVICES_PER_SET);
    char mine[32];
    snprintf(mine, sizeof mine, "s%u", (unsigned)v->pid);
    if (n > 1 || (n == 1 && strcmp(refs[0].name, mine) != 0))
        failure("services of another pid", v);
    r->rows_with_services += n;
}

static void visit_row(const struct process_view *v, void *context)
{
    struct reader *r = context;
    check_identity(v);
    check_services(r, v);
    check_monotonic(r, v);
    r->rows_checked++;
}

static void visit_name(const struct name_view *n, void *context)
{
    struct reader *r = context;
    uint64_t now[4];
    counters_of(n->counters, now);
    struct seen_name *s = NULL;
    for (size_t i = 0; i < r->name_count; i++)
        if (strcmp(r->names[i].name, n->name) == 0 && r->names[i].service_set == n->service_set)
            s = &r->names[i];
    if (!s) {
        if (r->name_count == MAX_NAMES) {
            failure("more names than the writer can make", NULL);
            return;
        }
        s = &r->names[r->name_count++];
        memcpy(s->name, n->name, IMAGE_NAME_MAX);
        s->service_set = n->service_set;
    } else {
        for (int i = 0; i < 4; i++)
            if (now[i] < s->counters[i]) {
                if (atomic_fetch_add(&failures, 1) < 10)
                    fprintf(stderr, "violation: total of %s went down (%" PRIu64 " < %" PRIu64
                            ")\n", n->name, now[i], s->counters[i]);
            }
    }
    memcpy(s->counters, now, sizeof now);
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(&stop)) {
        process_table_foreach(r->table, visit_row, r);
        r->row_scans++;
        process_table_foreach_name(r->table, visit_name, r);
        r->name_scans++;
    }
    return NULL;
}

/* ---- the writer and its model of what the table holds ---- */

enum model_state { NONE, UNNAMED, NAMED, EXITED };

struct model {
    enum model_state state;
    uint64_t start_time;
    uint64_t exit_time;
    char variant;
};

struct writer {
    struct process_table *table;
    struct model pids[PIDS];
    uint64_t ts;
    uint64_t events, sent_bytes, recv_bytes, renames, reuses, exits;
};

static void apply_net(struct writer *w, int i, bool send)
{
    struct trace_fact f;
    memset(&f, 0, sizeof f);
    f.kind = FACT_NET;
    f.type = send ? EVT_TCP_SEND_V4 : EVT_TCP_RECV_V6;
    f.u.net.op = send ? NET_TCP_SEND : NET_TCP_RECV;
    f.u.net.family = send ? FAMILY_IPV4 : FAMILY_IPV6;
    f.u.net.pid = pid_of(i);
    f.u.net.size = send ? send_size(w->pids[i].start_time) : pid_of(i) + 1;
    process_table_apply(w->table, &f, w->ts);
    if (send)
        w->sent_bytes += f.u.net.size;
    else
        w->recv_bytes += f.u.net.size;
}

static void apply_process(struct writer *w, int i, enum process_op op, enum event_type type)
{
    struct model *m = &w->pids[i];
    uint64_t key = key_of(m->start_time);
    struct trace_fact f;
    memset(&f, 0, sizeof f);
    f.kind = FACT_PROCESS;
    f.type = type;
    f.u.process.op = op;
    f.u.process.pid = pid_of(i);
    f.u.process.unique_key = key;
    snprintf(f.u.process.image_name, IMAGE_NAME_MAX, "p%u_k%u_%c.exe", (unsigned)pid_of(i),
             (unsigned)(key % 2), m->variant);
    process_table_apply(w->table, &f, w->ts);
}

static void apply_service(struct writer *w, int i)
{
    struct trace_fact f;
    memset(&f, 0, sizeof f);
    f.kind = FACT_SERVICE;
    f.type = EVT_SYSCONFIG_SERVICES;
    f.u.service.pid = pid_of(i);
    f.u.service.state = 4;
    snprintf(f.u.service.name, sizeof f.u.service.name, "s%u", (unsigned)pid_of(i));
    snprintf(f.u.service.display_name, sizeof f.u.service.display_name, "record");
    process_table_apply(w->table, &f, w->ts);
}

/* The SCM scanner's part: complete lists from another thread, as fast as it can. */
static atomic_ulong offers;
static void *offerer_main(void *arg)
{
    struct process_table *table = arg;
    uint32_t rnd = 0x9E3779B9u;
    while (!atomic_load(&stop)) {
        struct service_batch *b = malloc(sizeof *b + PIDS * sizeof b->items[0]);
        if (!b)
            return NULL;
        b->count = 0;
        for (int i = 0; i < PIDS; i++) {
            rnd ^= rnd << 13;
            rnd ^= rnd >> 17;
            rnd ^= rnd << 5;
            if (rnd % 4 != 0)
                continue;
            struct service_fact *s = &b->items[b->count++];
            memset(s, 0, sizeof *s);
            s->pid = pid_of(i);
            s->state = 4;
            snprintf(s->name, sizeof s->name, "s%u", (unsigned)pid_of(i));
            snprintf(s->display_name, sizeof s->display_name, "offered");
        }
        process_table_offer_services(table, b);
        atomic_fetch_add(&offers, 1);
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static bool room_for_instance(const struct writer *w)
{
    struct table_stats s;
    process_table_stats(w->table, &s);
    return s.rows_in_use < CAPACITY;
}

/* One step: mostly network events, sometimes a process event. The model mirrors the
 * table's rules, so the sizes and keys the writer uses match what readers check. */
static void writer_step(struct writer *w, uint32_t rnd)
{
    int i = (int)(rnd % PIDS);
    struct model *m = &w->pids[i];
    uint32_t action = (rnd >> 8) % 1000;
    w->ts++;
    if (action < 960) {
        if (m->state == NONE) {
            if (!room_for_instance(w))
                return;
            m->state = UNNAMED;
            m->start_time = w->ts;
        }
        apply_net(w, i, action % 2 == 0);
    } else if (action < 970) {
        /* Start: names an unnamed instance, else is a new instance (PID reuse). */
        if (m->state != UNNAMED) {
            if (!room_for_instance(w))
                return;
            m->start_time = w->ts;
            w->reuses += m->state != NONE;
        } else {
            w->renames++;
        }
        m->variant = 'a';
        m->state = NAMED;
        apply_process(w, i, PROC_START, EVT_PROCESS_START);
    } else if (action < 980) {
        /* Rundown: names, renames (another variant) or revives the same instance. */
        if (m->state == NONE) {
            if (!room_for_instance(w))
                return;
            m->start_time = w->ts;
        }
        m->variant = m->variant == 'a' ? 'b' : 'a';
        m->state = NAMED;
        w->renames++;
        apply_process(w, i, PROC_DCSTART, EVT_PROCESS_DCSTART);
    } else if (action < 995) {
        if (m->state != UNNAMED && m->state != NAMED)
            return;
        if (m->state == UNNAMED)
            m->variant = 'a';
        m->state = EXITED;
        m->exit_time = w->ts;
        w->exits++;
        apply_process(w, i, action % 2 ? PROC_END : PROC_DCEND,
                      action % 2 ? EVT_PROCESS_END : EVT_PROCESS_DCEND);
    } else {
        apply_service(w, i);
    }
}

static void writer_housekeep(struct writer *w)
{
    process_table_housekeep(w->table, w->ts);
    for (int i = 0; i < PIDS; i++) {
        struct model *m = &w->pids[i];
        if (m->state == EXITED && w->ts - m->exit_time >= RETENTION)
            m->state = NONE;
    }
}

static uint64_t sum_names(const struct process_table *t, int which);

int main(void)
{
    struct process_table_config config = {.capacity = CAPACITY, .retention = RETENTION};
    struct writer *w = calloc(1, sizeof *w);
    struct reader *readers = calloc(READERS, sizeof *readers);
    if (!w || !readers)
        return 1;
    w->table = process_table_create(&config);
    if (!w->table)
        return 1;
    w->ts = T0;
    for (int i = 0; i < READERS; i++) {
        readers[i].table = w->table;
        readers[i].instances = calloc(RING, sizeof *readers[i].instances);
        if (!readers[i].instances || pthread_create(&readers[i].thread, NULL, reader_main,
                                                    &readers[i]) != 0)
            return 1;
    }

    pthread_t offerer;
    if (pthread_create(&offerer, NULL, offerer_main, w->table) != 0)
        return 1;
    int64_t started = now_ns();
    uint32_t rnd = 0x2545F491u;
    for (w->events = 0; w->events < MAX_EVENTS; w->events++) {
        rnd ^= rnd << 13; /* xorshift32 */
        rnd ^= rnd >> 17;
        rnd ^= rnd << 5;
        writer_step(w, rnd);
        if (w->events % 256 == 0)
            writer_housekeep(w);
        if (w->events % 4096 == 0 && now_ns() - started > TIME_LIMIT_NS)
            break;
    }
    int64_t elapsed = now_ns() - started;
    atomic_store(&stop, true);
    pthread_join(offerer, NULL);
    uint64_t row_scans = 0, name_scans = 0, rows_checked = 0, with_services = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(readers[i].thread, NULL);
        row_scans += readers[i].row_scans;
        name_scans += readers[i].name_scans;
        rows_checked += readers[i].rows_checked;
        with_services += readers[i].rows_with_services;
        free(readers[i].instances);
    }

    /* Quiescent: the name totals account for every byte the writer applied. */
    if (sum_names(w->table, 0) != w->sent_bytes || sum_names(w->table, 1) != w->recv_bytes)
        failure("name totals differ from the bytes applied", NULL);
    struct table_stats s;
    process_table_stats(w->table, &s);
    printf("%" PRIu64 " events in %.2f s (%" PRIu64 " renames, %" PRIu64 " pid reuses, %"
           PRIu64 " exits, %" PRIu64 " retired); readers: %" PRIu64 " row scans (%" PRIu64
           " rows checked, %" PRIu64 " with a service), %" PRIu64 " name scans; %" PRIu64
           " service lists applied of %lu offered\n",
           w->events, (double)elapsed / 1e9, w->renames, w->reuses, w->exits,
           s.instances_retired, row_scans, rows_checked, with_services, name_scans,
           s.service_scans, (unsigned long)atomic_load(&offers));
    if (w->events < 100000 || s.instances_retired < 100 || w->renames < 100 ||
        row_scans < 10 * READERS || name_scans < 10 * READERS || s.service_scans < 10 ||
        with_services < 100)
        failure("too little work to say anything", NULL);
    process_table_destroy(w->table);
    free(w);
    free(readers);
    int bad = atomic_load(&failures);
    if (bad)
        fprintf(stderr, "%d violations\n", bad);
    return bad ? 1 : 0;
}

struct name_sum {
    int which;
    uint64_t total;
};

static void add_name(const struct name_view *n, void *context)
{
    struct name_sum *s = context;
    s->total += s->which == 0 ? n->counters[FAMILY_IPV4][CTR_SENT_BYTES]
                              : n->counters[FAMILY_IPV6][CTR_RECV_BYTES];
}

static uint64_t sum_names(const struct process_table *t, int which)
{
    struct name_sum s = {which, 0};
    process_table_foreach_name(t, add_name, &s);
    return s.total;
}
