/* The per-process table: one writer, lock-free readers.
 *
 * Shared memory is an array of rows (plus one overflow row) and the name entries. Each row
 * carries a sequence counter (a seqlock) that is odd while the writer changes the row's
 * identity: a new instance in a free row, a rename, an exit, a retirement. Counter updates
 * between identity changes are plain atomic stores of old + delta (one writer, so no
 * read-modify-write) and leave the sequence alone: readers copy identity and counters
 * under the sequence check and retry when it moved, so they never pair one instance's
 * identity with another's counters, and since counters only grow in place they never see
 * one go down. Every shared field is _Atomic, which keeps ThreadSanitizer quiet without
 * suppressions and the C11 memory model satisfied: see get64/set64 below for the orders
 * used (Boehm, "Can seqlocks get along with programming language memory models?", 2012,
 * discusses the alternatives).
 *
 * Totals by name are the retired counters of the name entry plus the rows bearing that
 * name. Moving counters between the two (retirement, rename) happens under a table-wide
 * sequence that name readers check the same way; such moves are rare, so retries are too.
 *
 * The writer finds rows through a private pid index (process_table_index.h) and never
 * reads shared memory to look anything up; readers simply walk the rows. Nor does it load
 * the shared traffic counters it adds to: it keeps its own copy of them (struct traffic)
 * and only stores the sums, so readers copying rows cost it store-buffer time, not the
 * round trip of a cache line. */
#include "process_table.h"
#include "bytes.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "decode_net.h"
#include "seqlock.h"
#include "process_table_index.h"
#include "process_table_names.h"
#include "process_table_peers.h"
#include "process_table_services.h"

/* For the rare branches of the per-event path (a new pid, a record that is not a network
 * event): out of line, their locals do not make the hot path set up a stack frame. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NOINLINE
#define ALWAYS_INLINE inline
#endif

#define CACHE_LINE 64u
#define MAX_CAPACITY (UINT32_C(1) << 20)
#define MIN_NAME_CAPACITY 256u

enum { ROW_FREE = 0 }; /* row states besides enum process_state */
enum { ROW_NAMED = 1u, ROW_OVERFLOW = 2u };

/* 384 bytes: identity in the first cache line, the name in the second, then the counters,
 * IPv4 and IPv6 in two lines each, so one event dirties one line. */
struct row {
    _Atomic uint32_t seq;
    _Atomic uint32_t state;
    _Atomic uint32_t pid;
    _Atomic uint32_t parent_pid;
    _Atomic uint32_t name_id;
    _Atomic uint32_t flags;
    _Atomic uint64_t unique_key;
    _Atomic uint64_t instance_id;
    _Atomic uint64_t start_time;
    _Atomic uint64_t exit_time;
    _Atomic uint32_t service_set; /* process_table_services.h; only grows per instance */
    _Atomic uint32_t pad_;        /* the identity fills the first cache line exactly */
    name_words name;
    _Atomic uint64_t counters[FAMILY_COUNT][CTR_COUNT];
};
_Static_assert(sizeof(struct row) % CACHE_LINE == 0, "rows fill whole cache lines");
_Static_assert(sizeof(struct row) <= 1024, "at most 1 KiB per row");
_Static_assert(offsetof(struct row, name) == CACHE_LINE, "identity in the first line");

/* The writer's own copy of a row's traffic counters (bytes and events of TCP send and
 * receive and UDP send and receive, per family): the counters of nearly every event. The
 * writer adds into this copy and stores the sums into the shared row, and never loads the
 * shared counter lines on the hot path: a reader that just copied a row may have taken
 * its lines away from the writer's core, and a load would wait for them to come back
 * (measured by bench_table: about 60% of the lone rate with two scanning readers when
 * adding in place, over 90% with this copy). A store waits in the store buffer instead.
 * Kept in lines readers never touch, equal to the shared counters at every instant the
 * writer looks. The per-connection counters (connects, retransmits, ...) are rarer and
 * still add in place, which keeps this copy to 128 bytes a row. */
enum { TRAFFIC_SLOTS = 8 };
struct traffic {
    uint64_t v[FAMILY_COUNT][TRAFFIC_SLOTS];
};
_Static_assert(sizeof(struct traffic) % CACHE_LINE == 0, "one family per cache line");

struct shared_stats {
    _Atomic uint64_t events_by_type[EVT_TYPE_COUNT];
    _Atomic uint64_t dropped[DROP_REASON_COUNT];
    _Atomic uint64_t fails[FAMILY_COUNT][FAIL_CODE_SLOTS];
    _Atomic uint64_t lost_events;
    _Atomic uint64_t lost_buffers;
    _Atomic uint64_t processes_untracked;
    _Atomic uint64_t instances_retired;
    _Atomic uint64_t short_records;
    _Atomic uint64_t service_scans;
    _Atomic uint32_t rows_in_use;
};

/* Lines read by readers and written rarely, lines written on every event (stats), and the
 * writer's private state are kept apart so the hot path does not bounce readers' lines. */
struct process_table {
    /* immutable after creation */
    struct row *rows;              /* capacity rows, then the overflow row */
    uint32_t capacity;
    uint64_t retention;
    void *block;                   /* the one allocation everything is carved from */
    /* shared, rarely written */
    _Atomic uint32_t table_seq;
    struct name_table names;
    char pad_a_[CACHE_LINE];
    struct shared_stats stats;
    char pad_b_[CACHE_LINE];
    /* writer only */
    uint32_t last_pid;             /* one-entry cache in front of the index */
    uint32_t last_row;
    bool peers_on;                 /* peers.capacity != 0, beside what every event reads */
    struct pid_index index;
    uint32_t *free_rows;           /* stack of free row numbers */
    uint32_t free_count;
    uint32_t overflow_tracked;     /* index entries that point at the overflow row */
    uint32_t exited_count;         /* rows housekeeping may retire */
    uint64_t next_instance;
    uint32_t unknown_name;         /* name entry of UNKNOWN_PROCESS_NAME */
    struct traffic *traffic;       /* capacity + 1 entries, one per row */
    /* services: the tables (shared, see their header), the SystemConfig records of a trace
     * waiting to be applied together (writer only: a trace lists one service per record,
     * and applying them one by one would give a row every intermediate set), and the
     * latest SCM scan offered by another thread */
    struct service_tables services;
    struct service_pair *pending;  /* service_capacity entries */
    size_t pending_count;
    _Atomic(struct service_batch *) offered;
    /* remote peers (process_table_peers.h): per instance row, and per name entry when
     * aggregating by name; capacity 0 = off */
    struct peer_store peers;
    struct peer_store name_peers;
};

/* ---- sizing: create and footprint share one layout, so the footprint is exact ---- */

struct layout {
    size_t rows, traffic, names, index, free_rows, name_slots, name_text, total;
    uint32_t capacity, name_capacity, index_entries;
};

static size_t align_up(size_t n)
{
    return (n + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

static uint32_t round_capacity(uint32_t capacity)
{
    if (capacity == 0)
        capacity = PROCESS_TABLE_DEFAULT_CAPACITY;
    if (capacity > MAX_CAPACITY)
        capacity = MAX_CAPACITY;
    uint32_t rounded = 1;
    while (rounded < capacity)
        rounded *= 2;
    return rounded;
}

static struct layout plan(uint32_t requested)
{
    struct layout l;
    l.capacity = round_capacity(requested);
    /* One name per row is plenty for the processes of one host (a few hundred distinct
     * images); a floor keeps small test tables from running out of names. */
    l.name_capacity = l.capacity > MIN_NAME_CAPACITY ? l.capacity : MIN_NAME_CAPACITY;
    /* A pid maps to its row, or to the overflow row: at most capacity of each. */
    l.index_entries = 2 * l.capacity;
    size_t at = align_up(sizeof(struct process_table));
    l.rows = at;
    at += align_up((size_t)(l.capacity + 1) * sizeof(struct row));
    l.traffic = at;
    at += align_up((size_t)(l.capacity + 1) * sizeof(struct traffic));
    l.names = at;
    at += align_up(name_table_entries_bytes(l.name_capacity));
    l.index = at;
    at += align_up((size_t)pid_index_slots_for(l.index_entries) * sizeof(struct pid_slot));
    l.free_rows = at;
    at += align_up((size_t)l.capacity * sizeof(uint32_t));
    l.name_slots = at;
    at += align_up(name_table_slots_bytes(l.name_capacity));
    l.name_text = at;
    at += align_up(name_table_text_bytes(l.name_capacity));
    l.total = at + CACHE_LINE; /* slack to align the block itself */
    return l;
}

size_t process_table_footprint(uint32_t capacity)
{
    return plan(capacity).total + service_tables_footprint(PROCESS_TABLE_DEFAULT_SERVICES) +
           PROCESS_TABLE_DEFAULT_SERVICES * sizeof(struct service_pair);
}

/* ---- small helpers: collector/seqlock.h ---- */

/* ---- creation ---- */

static void row_init(struct row *row)
{
    atomic_init(&row->seq, 0);
    atomic_init(&row->state, ROW_FREE);
    atomic_init(&row->pid, 0);
    atomic_init(&row->parent_pid, 0);
    atomic_init(&row->name_id, 0);
    atomic_init(&row->flags, 0);
    atomic_init(&row->unique_key, 0);
    atomic_init(&row->instance_id, 0);
    atomic_init(&row->start_time, 0);
    atomic_init(&row->exit_time, 0);
    atomic_init(&row->service_set, SERVICE_SET_EMPTY);
    atomic_init(&row->pad_, 0);
    for (int w = 0; w < NAME_WORDS; w++)
        atomic_init(&row->name[w], 0);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            atomic_init(&row->counters[f][c], 0);
}

static void stats_init(struct shared_stats *s)
{
    for (int i = 0; i < EVT_TYPE_COUNT; i++)
        atomic_init(&s->events_by_type[i], 0);
    for (int i = 0; i < DROP_REASON_COUNT; i++)
        atomic_init(&s->dropped[i], 0);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int i = 0; i < FAIL_CODE_SLOTS; i++)
            atomic_init(&s->fails[f][i], 0);
    atomic_init(&s->lost_events, 0);
    atomic_init(&s->lost_buffers, 0);
    atomic_init(&s->processes_untracked, 0);
    atomic_init(&s->instances_retired, 0);
    atomic_init(&s->short_records, 0);
    atomic_init(&s->service_scans, 0);
    atomic_init(&s->rows_in_use, 0);
}

static bool peers_init(struct process_table *t, const struct process_table_config *config)
{
    static const struct process_table_config off = {0};
    if (!config)
        config = &off;
    if (!peer_store_init(&t->peers, config, t->capacity + 1, false))
        return false;
    t->peers_on = t->peers.capacity != 0;
    return peer_store_init(&t->name_peers, config->peers_by_name ? config : &off,
                           t->names.capacity, true);
}

struct process_table *process_table_create(const struct process_table_config *config)
{
    struct layout l = plan(config ? config->capacity : 0);
    unsigned char *block = malloc(l.total);
    if (!block)
        return NULL;
    unsigned char *base = block + ((CACHE_LINE - (uintptr_t)block % CACHE_LINE) % CACHE_LINE);
    struct process_table *t = (struct process_table *)base;
    memset(t, 0, sizeof *t);
    t->block = block;
    t->capacity = l.capacity;
    t->retention = config ? config->retention : PROCESS_TABLE_DEFAULT_RETENTION;
    t->rows = (struct row *)(base + l.rows);
    for (uint32_t i = 0; i <= l.capacity; i++)
        row_init(&t->rows[i]);
    t->traffic = (struct traffic *)(base + l.traffic);
    memset(t->traffic, 0, (size_t)(l.capacity + 1) * sizeof(struct traffic));
    atomic_init(&t->table_seq, 0);
    name_table_init(&t->names, l.name_capacity, (struct name_entry *)(base + l.names),
                    (uint32_t *)(base + l.name_slots),
                    (char (*)[IMAGE_NAME_MAX])(base + l.name_text));
    stats_init(&t->stats);
    pid_index_init(&t->index, (struct pid_slot *)(base + l.index), l.index_entries);
    t->free_rows = (uint32_t *)(base + l.free_rows);
    /* Popped from the top: row 0 first, so a small table stays in few pages. */
    for (uint32_t i = 0; i < l.capacity; i++)
        t->free_rows[i] = l.capacity - 1 - i;
    t->free_count = l.capacity;
    t->last_row = PID_INDEX_NONE;
    t->next_instance = 1;
    t->unknown_name = name_table_intern(&t->names, UNKNOWN_PROCESS_NAME, SERVICE_SET_EMPTY);
    uint32_t services = config && config->service_capacity ? config->service_capacity
                                                           : PROCESS_TABLE_DEFAULT_SERVICES;
    atomic_init(&t->offered, NULL);
    t->pending = malloc(services * sizeof *t->pending);
    if (!t->pending || !service_tables_init(&t->services, services)) {
        free(t->pending);
        free(block);
        return NULL;
    }
    if (!peers_init(t, config)) {
        process_table_destroy(t);
        return NULL;
    }
    return t;
}

void process_table_destroy(struct process_table *table)
{
    if (!table)
        return;
    free(atomic_exchange(&table->offered, NULL));
    free(table->pending);
    service_tables_free(&table->services);
    peer_store_free(&table->peers);
    peer_store_free(&table->name_peers);
    free(table->block);
}

/* ---- writer: rows and instances ---- */

static inline struct row *overflow_row(struct process_table *t)
{
    return &t->rows[t->capacity];
}

static void index_put(struct process_table *t, uint32_t pid, uint32_t row)
{
    /* Cannot fail: at most capacity rows plus capacity overflow pids are indexed. */
    (void)pid_index_put(&t->index, pid, row);
    t->last_pid = pid;
    t->last_row = row;
}

static void index_forget(struct process_table *t, uint32_t pid)
{
    pid_index_remove(&t->index, pid);
    if (t->last_pid == pid)
        t->last_row = PID_INDEX_NONE;
}

struct identity {
    uint32_t pid, parent_pid;
    uint64_t unique_key;
    uint64_t start_time;
    bool named;
    const char *name;
};

/* Fill a free row with a new instance; PID_INDEX_NONE when there is none. */
static uint32_t row_open(struct process_table *t, const struct identity *id)
{
    if (t->free_count == 0)
        return PID_INDEX_NONE;
    uint32_t r = t->free_rows[--t->free_count];
    struct row *row = &t->rows[r];
    uint32_t set = services_of_pid(&t->services, id->pid);
    uint32_t name_id = name_table_intern(&t->names, id->named ? id->name : UNKNOWN_PROCESS_NAME,
                                         set);
    seq_begin(&row->seq);
    set32(&row->pid, id->pid);
    set32(&row->parent_pid, id->parent_pid);
    set32(&row->name_id, name_id);
    set32(&row->flags, id->named ? ROW_NAMED : 0);
    set64(&row->unique_key, id->unique_key);
    set64(&row->instance_id, t->next_instance++);
    set64(&row->start_time, id->start_time);
    set64(&row->exit_time, 0);
    set32(&row->service_set, set);
    name_words_store(row->name, id->named ? id->name : UNKNOWN_PROCESS_NAME);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            set64(&row->counters[f][c], 0);
    memset(&t->traffic[r], 0, sizeof t->traffic[r]);
    set32(&row->state, PROCESS_LIVE);
    /* Before the row is readable, so a reader of the new row finds its peers' header
     * already naming it (process_table_foreach_peers reads the two in turn). */
    peers_instance_begin(&t->peers, r, get64(&row->instance_id));
    seq_end(&row->seq);
    add_u32(&t->stats.rows_in_use, 1);
    return r;
}

/* The overflow row, made visible on first use; one more process counted as untracked. */
static uint32_t overflow_admit(struct process_table *t, uint64_t timestamp)
{
    struct row *row = overflow_row(t);
    if (get32(&row->state) == ROW_FREE) {
        uint32_t name_id = name_table_intern(&t->names, OVERFLOW_PROCESS_NAME, SERVICE_SET_EMPTY);
        seq_begin(&row->seq);
        set32(&row->name_id, name_id);
        set32(&row->flags, ROW_NAMED | ROW_OVERFLOW);
        set64(&row->instance_id, t->next_instance++);
        set64(&row->start_time, timestamp);
        name_words_store(row->name, OVERFLOW_PROCESS_NAME);
        set32(&row->state, PROCESS_LIVE);
        peers_instance_begin(&t->peers, t->capacity, get64(&row->instance_id));
        seq_end(&row->seq);
    }
    add_u64(&t->stats.processes_untracked, 1);
    return t->capacity;
}

/* A row for a new instance of id->pid: its own, or the overflow row. Indexed either way,
 * unless too many pids already share the overflow row (then each event of such a pid
 * tries again for a row of its own, and counts in the overflow row meanwhile). */
static uint32_t instance_begin(struct process_table *t, const struct identity *id)
{
    uint32_t r = row_open(t, id);
    if (r != PID_INDEX_NONE) {
        index_put(t, id->pid, r);
        return r;
    }
    if (t->overflow_tracked < t->capacity) {
        r = overflow_admit(t, id->start_time);
        t->overflow_tracked++;
        index_put(t, id->pid, r);
        return r;
    }
    return t->capacity;
}

static void instance_exit(struct process_table *t, uint32_t r, uint64_t timestamp)
{
    struct row *row = &t->rows[r];
    if (get32(&row->state) != PROCESS_LIVE)
        return; /* keep the first exit time */
    seq_begin(&row->seq);
    set64(&row->exit_time, timestamp);
    set32(&row->state, PROCESS_EXITED);
    seq_end(&row->seq);
    t->exited_count++;
}

/* Row r moves from name entry old_name to new_name (a rename, or new hosted services):
 * its counters so far move to the old entry's retired totals and are subtracted from the
 * new entry's (mod 2^64), so neither total changes at that instant, and later growth
 * counts under the new entry. Call inside the table sequence, which makes that instant
 * atomic for name readers. */
static void move_name_totals(struct process_table *t, const struct row *row, uint32_t old_name,
                             uint32_t new_name)
{
    struct name_entry *from = &t->names.entries[old_name];
    struct name_entry *to = &t->names.entries[new_name];
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++) {
            uint64_t v = get64(&row->counters[f][c]);
            add_u64(&from->retired[f][c], v);
            add_u64(&to->retired[f][c], (uint64_t)0 - v);
        }
}

/* Give row r a name (and the identity that came with it). */
static void instance_name(struct process_table *t, uint32_t r, const struct identity *id)
{
    struct row *row = &t->rows[r];
    uint32_t old_name = get32(&row->name_id);
    uint32_t new_name = id->named
        ? name_table_intern(&t->names, id->name, get32(&row->service_set)) : old_name;
    bool moves = new_name != old_name;
    if (moves) {
        seq_begin(&t->table_seq);
        move_name_totals(t, row, old_name, new_name);
    }
    seq_begin(&row->seq);
    set32(&row->parent_pid, id->parent_pid);
    set64(&row->unique_key, id->unique_key);
    if (id->named) {
        set32(&row->name_id, new_name);
        set32(&row->flags, get32(&row->flags) | ROW_NAMED);
        name_words_store(row->name, id->name);
    }
    seq_end(&row->seq);
    if (moves)
        seq_end(&t->table_seq);
}

/* Row r's instance hosts the services of `add` too: its set grows, and its name entry
 * becomes the one of (its name, the grown set). */
static void instance_services(struct process_table *t, uint32_t r, uint32_t add)
{
    struct row *row = &t->rows[r];
    uint32_t old_set = get32(&row->service_set);
    uint32_t set = services_set_union(&t->services, old_set, add);
    if (set == SERVICES_NONE || set == old_set)
        return;
    uint32_t old_name = get32(&row->name_id);
    uint32_t new_name = name_table_intern(&t->names, t->names.text[old_name], set);
    bool moves = new_name != old_name;
    if (moves) {
        seq_begin(&t->table_seq);
        move_name_totals(t, row, old_name, new_name);
    }
    seq_begin(&row->seq);
    set32(&row->service_set, set);
    set32(&row->name_id, new_name);
    seq_end(&row->seq);
    if (moves)
        seq_end(&t->table_seq);
}

static void instance_revive(struct process_table *t, uint32_t r)
{
    struct row *row = &t->rows[r];
    if (get32(&row->state) != PROCESS_EXITED)
        return;
    seq_begin(&row->seq);
    set64(&row->exit_time, 0);
    set32(&row->state, PROCESS_LIVE);
    seq_end(&row->seq);
    t->exited_count--;
}

/* ---- writer: applying facts ---- */

struct net_counters {
    int8_t bytes;   /* counter that takes the size, or -1 */
    int8_t events;  /* counter that takes 1 */
    int8_t traffic; /* slot of the bytes in struct traffic (events at +1), or -1 */
};

static const struct net_counters NET_COUNTERS[] = {
    [NET_TCP_SEND] = {CTR_SENT_BYTES, CTR_SENT_EVENTS, 0},
    [NET_TCP_RECV] = {CTR_RECV_BYTES, CTR_RECV_EVENTS, 2},
    [NET_TCP_CONNECT] = {-1, CTR_CONNECTS, -1},
    [NET_TCP_DISCONNECT] = {-1, CTR_DISCONNECTS, -1},
    [NET_TCP_RETRANSMIT] = {CTR_RETRANSMIT_BYTES, CTR_RETRANSMITS, -1},
    [NET_TCP_ACCEPT] = {-1, CTR_ACCEPTS, -1},
    [NET_TCP_RECONNECT] = {-1, CTR_RECONNECTS, -1},
    [NET_TCP_COPY] = {CTR_COPY_BYTES, CTR_COPIES, -1},
    [NET_UDP_SEND] = {CTR_UDP_SENT_BYTES, CTR_UDP_SENT_DATAGRAMS, 4},
    [NET_UDP_RECV] = {CTR_UDP_RECV_BYTES, CTR_UDP_RECV_DATAGRAMS, 6},
};
#define NET_OP_COUNT ARRAY_SIZE(NET_COUNTERS)

/* A network event of a pid no row has: it begins a new unnamed instance. */
NOINLINE static uint32_t row_of_new_pid(struct process_table *t, uint32_t pid,
                                        uint64_t timestamp)
{
    struct identity id = {.pid = pid, .start_time = timestamp};
    return instance_begin(t, &id);
}

/* Row for a pid's network event: the cache, the index, or a new unnamed instance. */
static inline uint32_t row_of_pid(struct process_table *t, uint32_t pid, uint64_t timestamp)
{
    if (pid == t->last_pid && t->last_row != PID_INDEX_NONE)
        return t->last_row;
    uint32_t r = pid_index_find(&t->index, pid);
    if (r == PID_INDEX_NONE)
        return row_of_new_pid(t, pid, timestamp);
    t->last_pid = pid;
    t->last_row = r;
    return r;
}

/* The counters of one network event; op and family already checked. Returns its row.
 * Inlined into each per-event path, so none pays for a call and a frame of its own. */
static ALWAYS_INLINE uint32_t count_net(struct process_table *t, unsigned op, unsigned family,
                                 uint32_t pid, uint32_t size, uint64_t timestamp)
{
    uint32_t r = row_of_pid(t, pid, timestamp);
    if (r == t->capacity)
        add_u64(&t->stats.dropped[DROP_TABLE_FULL], 1);
    _Atomic uint64_t *counters = t->rows[r].counters[family];
    struct net_counters which = NET_COUNTERS[op];
    if (which.traffic >= 0) {
        uint64_t *mine = &t->traffic[r].v[family][which.traffic];
        uint64_t bytes = mine[0] + size, events = mine[1] + 1;
        mine[0] = bytes;
        mine[1] = events;
        set64(&counters[which.bytes], bytes);
        set64(&counters[which.events], events);
        return r;
    }
    if (which.bytes >= 0)
        add_u64(&counters[which.bytes], size);
    add_u64(&counters[which.events], 1);
    return r;
}

/* One store's part of a network event: the one-entry cache, else the lookup. */
static inline void feed_peer_store(struct peer_store *s, uint32_t row, unsigned op,
                                   unsigned family, uint32_t size,
                                   const struct trace_record *record)
{
    if (!peers_count_last(s, row, op, family, size, record))
        peers_count_record(s, row, op, family, size, record);
}

/* Aggregating by name, the event counts for the instance's peers and its name's. */
NOINLINE static void feed_name_peers(struct process_table *t, uint32_t r, unsigned op,
                                     unsigned family, uint32_t size,
                                     const struct trace_record *record)
{
    feed_peer_store(&t->peers, r, op, family, size, record);
    feed_peer_store(&t->name_peers, get32(&t->rows[r].name_id), op, family, size, record);
}

/* A network event for the peers: the instance's store, and its name's when aggregating by
 * name. */
static inline void feed_peers(struct process_table *t, uint32_t r, unsigned op, unsigned family,
                              uint32_t size, const struct trace_record *record)
{
    if (t->name_peers.capacity)
        feed_name_peers(t, r, op, family, size, record);
    else
        feed_peer_store(&t->peers, r, op, family, size, record);
}

static inline void apply_net(struct process_table *t, const struct net_fact *net,
                             uint64_t timestamp)
{
    if ((unsigned)net->op >= NET_OP_COUNT || (unsigned)net->family >= FAMILY_COUNT) {
        add_u64(&t->stats.dropped[DROP_UNKNOWN], 1);
        return;
    }
    uint32_t r = count_net(t, net->op, net->family, net->pid, net->size, timestamp);
    if (t->peers_on) {
        uint8_t payload[PEER_RECORD_BYTES];
        struct trace_record record = peers_record_of_fact(payload, net, timestamp);
        feed_peers(t, r, net->op, net->family, net->size, &record);
    }
}

/* Failure codes 1..6 have slots of their own; any other code shares slot 7. A protocol
 * other than AF_INET/AF_INET6 means the payload is not the layout we know: the fact is
 * counted as unknown rather than guessed into a family. */
static void apply_fail(struct process_table *t, const struct fail_fact *fail)
{
    int family;
    if (fail->proto == 2)
        family = FAMILY_IPV4;
    else if (fail->proto == 23)
        family = FAMILY_IPV6;
    else {
        add_u64(&t->stats.dropped[DROP_UNKNOWN], 1);
        return;
    }
    unsigned slot = fail->code >= 1 && fail->code <= 6 ? fail->code : FAIL_CODE_SLOTS - 1;
    add_u64(&t->stats.fails[family][slot], 1);
}

static void process_starts(struct process_table *t, const struct process_fact *p,
                           const struct identity *id, uint64_t timestamp)
{
    uint32_t r = pid_index_find(&t->index, p->pid);
    if (r == t->capacity) {
        /* A rundown of a pid living in the overflow row names nothing we can tell apart;
         * a Start is a new process, which may find a row of its own now. */
        if (p->op == PROC_DCSTART)
            return;
        index_forget(t, p->pid);
        t->overflow_tracked--;
        r = PID_INDEX_NONE;
    }
    if (r != PID_INDEX_NONE) {
        struct row *row = &t->rows[r];
        bool unnamed = (get32(&row->flags) & ROW_NAMED) == 0 && get64(&row->unique_key) == 0;
        if (unnamed && get32(&row->state) == PROCESS_LIVE) {
            /* Its events came before any process event: this is its name arriving. A
             * previous process of the same pid would have been named by its End. */
            instance_name(t, r, id);
            return;
        }
        if (p->op == PROC_DCSTART && get64(&row->unique_key) == p->unique_key) {
            /* The rundown of a restarted session: the same instance, keep its counters. */
            instance_revive(t, r);
            instance_name(t, r, id);
            return;
        }
        instance_exit(t, r, timestamp); /* the pid was reused */
        index_forget(t, p->pid);
    }
    /* A new process hosts nothing yet, whatever the pid's last holder did (its End may
     * have been lost); the next SCM scan says what it hosts. */
    if (p->op == PROC_START)
        services_forget_pid(&t->services, p->pid);
    instance_begin(t, id);
}

static void process_ends(struct process_table *t, const struct process_fact *p,
                         const struct identity *id, uint64_t timestamp)
{
    uint32_t r = pid_index_find(&t->index, p->pid);
    if (r == PID_INDEX_NONE)
        return; /* nothing counted for it; events_by_type still says it came */
    if (r == t->capacity) {
        index_forget(t, p->pid);
        t->overflow_tracked--;
        return;
    }
    struct row *row = &t->rows[r];
    bool unnamed = (get32(&row->flags) & ROW_NAMED) == 0 && get64(&row->unique_key) == 0;
    if (unnamed)
        instance_name(t, r, id);
    /* Exited instances stay indexed: late events of the pid still count to them until a
     * new instance takes the pid or the row retires. Its services are no longer hosted
     * by the pid, but the row keeps them; a DCEnd is the rundown of a session that stops,
     * not an exit, and the services still run. */
    if (p->op != PROC_DCEND)
        services_forget_pid(&t->services, p->pid);
    instance_exit(t, r, timestamp);
}

static void apply_process(struct process_table *t, const struct process_fact *p,
                          uint64_t timestamp)
{
    char name[IMAGE_NAME_MAX];
    name_copy(name, p->image_name);
    struct identity id = {
        .pid = p->pid,
        .parent_pid = p->parent_pid,
        .unique_key = p->unique_key,
        .start_time = timestamp,
        .named = name[0] != '\0', /* an empty image name names nothing */
        .name = name,
    };
    switch (p->op) {
    case PROC_START:
    case PROC_DCSTART:
        process_starts(t, p, &id, timestamp);
        break;
    case PROC_END:
    case PROC_DCEND:
    case PROC_DEFUNCT:
        process_ends(t, p, &id, timestamp);
        break;
    default:
        add_u64(&t->stats.dropped[DROP_UNKNOWN], 1);
        break;
    }
}

/* ---- writer: services ---- */

/* services_apply's report: pid hosts the services of set now; its live row takes them. */
static void pid_hosts(void *context, uint32_t pid, uint32_t set)
{
    struct process_table *t = context;
    uint32_t r = pid_index_find(&t->index, pid);
    if (r == PID_INDEX_NONE || r == t->capacity || get32(&t->rows[r].state) != PROCESS_LIVE)
        return;
    instance_services(t, r, set);
}

static void flush_pending_services(struct process_table *t)
{
    if (t->pending_count == 0)
        return;
    services_apply(&t->services, t->pending, t->pending_count, false, pid_hosts, t);
    t->pending_count = 0;
}

/* One pair for the pending list, or nothing for a service no process runs. */
static void pend_service(struct process_table *t, const struct service_fact *s)
{
    if (s->pid == 0 || s->state == SERVICE_STATE_STOPPED)
        return;
    uint32_t id = services_intern(&t->services, s->name, s->display_name);
    if (id == SERVICES_NONE)
        return;
    if (t->pending_count == t->services.service_capacity)
        flush_pending_services(t);
    t->pending[t->pending_count++] = (struct service_pair){.pid = s->pid, .service = id};
}

/* The latest complete list offered by the SCM scan replaces what the table knew. */
static void apply_offered_services(struct process_table *t)
{
    struct service_batch *batch = atomic_exchange(&t->offered, NULL);
    if (!batch)
        return;
    flush_pending_services(t);
    for (size_t i = 0; i < batch->count; i++)
        pend_service(t, &batch->items[i]);
    /* pend_service flushes when full, and adding is not replacing: a scan too large for
     * the tables replaces with what fits (the rest is counted as dropped) */
    services_apply(&t->services, t->pending, t->pending_count, true, pid_hosts, t);
    t->pending_count = 0;
    free(batch);
    add_u64(&t->stats.service_scans, 1);
}

void process_table_prime_service(struct process_table *table, const struct service_fact *fact)
{
    pend_service(table, fact);
}

void process_table_flush_services(struct process_table *table)
{
    flush_pending_services(table);
}

void process_table_offer_services(struct process_table *table, struct service_batch *batch)
{
    free(atomic_exchange(&table->offered, batch));
}

static void apply_lost(struct process_table *t, const struct lost_fact *lost)
{
    /* LOST_FILE has no counter of its own beyond events_by_type[EVT_LOST_FILE]. */
    if (lost->op == LOST_EVENT)
        add_u64(&t->stats.lost_events, 1);
    else if (lost->op == LOST_BUFFER)
        add_u64(&t->stats.lost_buffers, 1);
}

static inline void apply(struct process_table *t, const struct trace_fact *fact,
                         uint64_t timestamp)
{
    if ((unsigned)fact->type < EVT_TYPE_COUNT)
        add_u64(&t->stats.events_by_type[fact->type], 1);
    /* A trace's run of service records has ended. Not on network facts: most of those
     * take process_table_feed's fast path, which does not look, and both paths agree. */
    if (fact->kind != FACT_SERVICE && fact->kind != FACT_NET)
        flush_pending_services(t);
    switch (fact->kind) {
    case FACT_NET:
        apply_net(t, &fact->u.net, timestamp);
        break;
    case FACT_FAIL:
        apply_fail(t, &fact->u.fail);
        break;
    case FACT_PROCESS:
        apply_process(t, &fact->u.process, timestamp);
        break;
    case FACT_LOST:
        apply_lost(t, &fact->u.lost);
        break;
    case FACT_SERVICE:
        pend_service(t, &fact->u.service);
        break;
    default:
        add_u64(&t->stats.dropped[DROP_UNKNOWN], 1);
        break;
    }
}

void process_table_apply(struct process_table *table, const struct trace_fact *fact,
                         uint64_t timestamp)
{
    apply(table, fact, timestamp);
}

/* Everything but a well-formed network event: rare, so a full decode is fine. */
NOINLINE static void feed_slow(struct process_table *table, const struct trace_record *record)
{
    struct trace_fact fact;
    switch (decode_record(record, &fact)) {
    case DECODE_OK:
        apply(table, &fact, record->timestamp);
        break;
    case DECODE_UNKNOWN:
        add_u64(&table->stats.dropped[DROP_UNKNOWN], 1);
        break;
    default:
        add_u64(&table->stats.dropped[DROP_MALFORMED], 1);
        break;
    }
}

/* The same with peers: out of line, so the path without them stays as it was (the fields
 * by value: a pointer to the caller's net_head would keep it out of registers). An event
 * of the same connection as the one before costs a few compares more here. */
NOINLINE static void feed_with_peers(struct process_table *table, unsigned op, unsigned family,
                                     uint32_t pid, uint32_t size,
                                     const struct trace_record *record)
{
    uint32_t r = count_net(table, op, family, pid, size, record->timestamp);
    feed_peers(table, r, op, family, size, record);
}

/* Network events, nearly all of the stream, take the inlined decoder of decode_net.h
 * (the one decode_record uses too) and go straight to the counters, without a fact. Its
 * descriptor tables only hold valid ops and families, so count_net needs no check. */
void process_table_feed(struct process_table *table, const struct trace_record *record)
{
    struct net_head h;
    if (decode_net_head(record, &h) != DECODE_OK) {
        feed_slow(table, record);
        return;
    }
    add_u64(&table->stats.events_by_type[h.type], 1);
    if (h.truncated)
        add_u64(&table->stats.short_records, 1);
    if (table->peers_on) {
        feed_with_peers(table, h.op, h.family, h.pid, h.size, record);
        return;
    }
    count_net(table, h.op, h.family, h.pid, h.size, record->timestamp);
}

void process_table_count_drop(struct process_table *table, enum drop_reason reason)
{
    if ((unsigned)reason < DROP_REASON_COUNT)
        add_u64(&table->stats.dropped[reason], 1);
}

/* ---- writer: housekeeping ---- */

static bool expired(const struct process_table *t, const struct row *row, uint64_t now)
{
    if (get32(&row->state) != PROCESS_EXITED)
        return false;
    uint64_t exit_time = get64(&row->exit_time);
    return now >= exit_time && now - exit_time >= t->retention;
}

/* The row's counters join its name's retired totals and the row becomes free. */
static void retire(struct process_table *t, uint32_t r)
{
    struct row *row = &t->rows[r];
    struct name_entry *name = &t->names.entries[get32(&row->name_id)];
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            add_u64(&name->retired[f][c], get64(&row->counters[f][c]));
    seq_begin(&row->seq);
    set32(&row->state, ROW_FREE);
    seq_end(&row->seq);
    peers_instance_end(&t->peers, r);
    uint32_t pid = get32(&row->pid);
    if (pid_index_find(&t->index, pid) == r)
        index_forget(t, pid);
    t->free_rows[t->free_count++] = r;
    t->exited_count--;
    add_u32(&t->stats.rows_in_use, (uint32_t)-1);
    add_u64(&t->stats.instances_retired, 1);
}

/* A scan of every row: at most once a second, and cheaper than keeping the exits
 * ordered when trace timestamps arrive slightly out of order. All retirements of one
 * call share one table-sequence window, so name readers retry at most once for it. */
void process_table_housekeep(struct process_table *table, uint64_t now)
{
    flush_pending_services(table);
    apply_offered_services(table);
    peers_housekeep(&table->peers);
    peers_housekeep(&table->name_peers);
    if (table->exited_count == 0)
        return;
    bool open = false;
    for (uint32_t r = 0; r < table->capacity; r++) {
        if (!expired(table, &table->rows[r], now))
            continue;
        if (!open) {
            seq_begin(&table->table_seq);
            open = true;
        }
        retire(table, r);
    }
    if (open)
        seq_end(&table->table_seq);
}

/* ---- readers ---- */

/* Copy one row consistently; false when the row is free. */
static bool row_read(const struct row *row, struct process_view *v)
{
    for (;;) {
        uint32_t begun = seq_read_begin(&row->seq);
        uint32_t state = get32(&row->state);
        if (state == ROW_FREE)
            return false;
        uint32_t flags = get32(&row->flags);
        v->pid = get32(&row->pid);
        v->parent_pid = get32(&row->parent_pid);
        v->unique_key = get64(&row->unique_key);
        v->instance_id = get64(&row->instance_id);
        v->start_time = get64(&row->start_time);
        v->exit_time = get64(&row->exit_time);
        v->state = state == PROCESS_EXITED ? PROCESS_EXITED : PROCESS_LIVE;
        v->is_overflow = (flags & ROW_OVERFLOW) != 0;
        v->is_named = (flags & ROW_NAMED) != 0;
        v->service_set = get32(&row->service_set);
        name_words_load(row->name, v->name);
        for (int f = 0; f < FAMILY_COUNT; f++)
            for (int c = 0; c < CTR_COUNT; c++)
                v->counters[f][c] = get64(&row->counters[f][c]);
        if (!seq_read_retry(&row->seq, begun))
            return true;
    }
}

void process_table_foreach(const struct process_table *table, process_visit_fn visit,
                           void *context)
{
    struct process_view view;
    for (uint32_t r = 0; r <= table->capacity; r++)
        if (row_read(&table->rows[r], &view))
            visit(&view, context);
}

/* A row's name and counters, as name aggregation needs them. */
static bool row_read_totals(const struct row *row, uint32_t *name_id, bool *live,
                            uint64_t counters[FAMILY_COUNT][CTR_COUNT])
{
    for (;;) {
        uint32_t begun = seq_read_begin(&row->seq);
        uint32_t state = get32(&row->state);
        if (state == ROW_FREE)
            return false;
        *live = state == PROCESS_LIVE;
        *name_id = get32(&row->name_id);
        for (int f = 0; f < FAMILY_COUNT; f++)
            for (int c = 0; c < CTR_COUNT; c++)
                counters[f][c] = get64(&row->counters[f][c]);
        if (!seq_read_retry(&row->seq, begun))
            return true;
    }
}

struct name_sums {
    uint32_t live;
    uint64_t counters[FAMILY_COUNT][CTR_COUNT];
};

static void sums_load_retired(const struct name_table *names, struct name_sums *sums,
                              uint32_t from, uint32_t to)
{
    for (uint32_t n = from; n < to; n++) {
        sums[n].live = 0;
        for (int f = 0; f < FAMILY_COUNT; f++)
            for (int c = 0; c < CTR_COUNT; c++)
                sums[n].counters[f][c] = get64(&names->entries[n].retired[f][c]);
    }
}

#define NAMES_NEED_ROOM UINT32_MAX

/* Retired totals plus every row, all inside one table-sequence window, so no retirement
 * or rename is seen half done: a name's total is exact and never goes down. Returns the
 * number of names summed, or NAMES_NEED_ROOM when names were added beyond `room` while
 * it ran (the caller grows sums and calls again). */
static uint32_t sum_names(const struct process_table *t, struct name_sums *sums, uint32_t room)
{
    const struct name_table *names = &t->names;
    for (;;) {
        uint32_t begun = seq_read_begin(&t->table_seq);
        uint32_t count = atomic_load_explicit(&names->count, memory_order_acquire);
        if (count > room)
            return NAMES_NEED_ROOM;
        sums_load_retired(names, sums, 0, count);
        uint64_t counters[FAMILY_COUNT][CTR_COUNT];
        for (uint32_t r = 0; r <= t->capacity; r++) {
            uint32_t name_id;
            bool live;
            if (!row_read_totals(&t->rows[r], &name_id, &live, counters))
                continue;
            if (name_id >= count) {
                /* The row's name was added after we read the count: take the new ones. */
                uint32_t more = atomic_load_explicit(&names->count, memory_order_acquire);
                if (more > room)
                    return NAMES_NEED_ROOM;
                if (name_id >= more)
                    continue; /* cannot happen (names publish before rows use them) */
                sums_load_retired(names, sums, count, more);
                count = more;
            }
            sums[name_id].live += live;
            for (int f = 0; f < FAMILY_COUNT; f++)
                for (int c = 0; c < CTR_COUNT; c++)
                    sums[name_id].counters[f][c] += counters[f][c];
        }
        if (!seq_read_retry(&t->table_seq, begun))
            return count;
    }
}

void process_table_foreach_name(const struct process_table *table, name_visit_fn visit,
                                void *context)
{
    /* Sized to the names that exist plus some slack, not to the capacity: a scrape of a
     * large table should not allocate for names it does not have. */
    struct name_sums *sums = NULL;
    uint32_t count = NAMES_NEED_ROOM;
    while (count == NAMES_NEED_ROOM) {
        uint32_t room = atomic_load_explicit(&table->names.count, memory_order_acquire) + 16;
        if (room > table->names.capacity)
            room = table->names.capacity;
        free(sums);
        sums = malloc((size_t)room * sizeof *sums);
        if (!sums)
            return;
        count = sum_names(table, sums, room);
    }
    struct name_view view;
    for (uint32_t n = 0; n < count; n++) {
        name_words_load(table->names.entries[n].text, view.name);
        view.service_set = get32(&table->names.entries[n].service_set);
        view.live_instances = sums[n].live;
        memcpy(view.counters, sums[n].counters, sizeof view.counters);
        visit(&view, context);
    }
    free(sums);
}

void process_table_stats(const struct process_table *table, struct table_stats *out)
{
    const struct shared_stats *s = &table->stats;
    for (int i = 0; i < EVT_TYPE_COUNT; i++)
        out->events_by_type[i] = get64(&s->events_by_type[i]);
    for (int i = 0; i < DROP_REASON_COUNT; i++)
        out->dropped[i] = get64(&s->dropped[i]);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int i = 0; i < FAIL_CODE_SLOTS; i++)
            out->fails[f][i] = get64(&s->fails[f][i]);
    out->lost_events = get64(&s->lost_events);
    out->lost_buffers = get64(&s->lost_buffers);
    out->processes_untracked = get64(&s->processes_untracked);
    out->instances_retired = get64(&s->instances_retired);
    out->short_records = get64(&s->short_records);
    out->rows_in_use = get32(&s->rows_in_use);
    out->capacity = table->capacity;
    const struct service_tables *services = &table->services;
    out->services_known = get32(&services->service_count);
    out->services_hosted = get32(&services->hosting_count);
    out->service_capacity = services->service_capacity;
    out->services_dropped = get64(&services->dropped);
    out->service_scans = get64(&s->service_scans);
    const struct peer_store *peers = &table->peers;
    out->peer_capacity = peers->capacity;
    out->peers_in_use = peers->capacity ? get32(&peers->in_use) : 0;
    out->peers_evicted = peers->capacity ? get64(&peers->evicted) : 0;
    out->peers_refused = peers->capacity ? get64(&peers->refused) : 0;
    out->peer_swaps = peers->capacity ? get64(&peers->swaps) : 0;
}

static struct service_ref service_ref_of(const struct service_entry *e)
{
    return (struct service_ref){.name = e->name, .display_name = e->display_name};
}

size_t process_table_service_set(const struct process_table *table, uint32_t set,
                                 struct service_ref *out, size_t max)
{
    const struct service_set_entry *e = services_set(&table->services, set);
    size_t n = 0;
    for (uint32_t i = 0; i < e->count && n < max; i++) {
        const struct service_entry *svc = services_entry(&table->services, e->ids[i]);
        if (svc)
            out[n++] = service_ref_of(svc);
    }
    return n;
}

size_t process_table_services_hosted(const struct process_table *table,
                                     struct hosted_service *out, size_t max)
{
    struct service_pair *pairs = malloc((max ? max : 1) * sizeof *pairs);
    if (!pairs)
        return 0;
    size_t n = services_hosting_copy(&table->services, pairs, max), kept = 0;
    for (size_t i = 0; i < n; i++) {
        const struct service_entry *svc = services_entry(&table->services, pairs[i].service);
        if (svc)
            out[kept++] = (struct hosted_service){.pid = pairs[i].pid,
                                                  .service = service_ref_of(svc)};
    }
    free(pairs);
    return kept;
}

/* ---- readers: peers ---- */

static bool other_is_zero(const uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT])
{
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
            for (int c = 0; c < PEER_CTR_COUNT; c++)
                if (other[f][p][c])
                    return false;
    return true;
}

bool process_table_peers_enabled(const struct process_table *table)
{
    return table->peers.capacity != 0;
}

unsigned process_table_peer_prefix(const struct process_table *table, enum ip_family family)
{
    if (!table->peers.capacity)
        return family == FAMILY_IPV6 ? 128 : 32;
    return table->peers.prefix[family == FAMILY_IPV6 ? FAMILY_IPV6 : FAMILY_IPV4];
}

size_t process_table_peers_footprint(const struct process_table_config *config)
{
    uint32_t capacity = round_capacity(config->capacity);
    uint32_t names = capacity > MIN_NAME_CAPACITY ? capacity : MIN_NAME_CAPACITY;
    return peer_store_footprint(config, capacity + 1) +
           (config->peers_by_name ? peer_store_footprint(config, names) : 0);
}

void peer_covered_sums(uint64_t counters[FAMILY_COUNT][CTR_COUNT], const struct peer_view *peers,
                       size_t count,
                       const uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT])
{
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
            for (int c = 0; c < PEER_CTR_COUNT; c++) {
                int to = peer_process_counter((enum peer_protocol)p, (enum peer_counter)c);
                if (to >= 0)
                    counters[f][to] = other[f][p][c];
            }
    for (size_t i = 0; i < count; i++)
        for (int c = 0; c < PEER_CTR_COUNT; c++) {
            int to = peer_process_counter((enum peer_protocol)peers[i].protocol,
                                          (enum peer_counter)c);
            if (to >= 0)
                counters[peers[i].family][to] += peers[i].counters[c];
        }
}

bool process_table_foreach_peers(const struct process_table *table, peers_visit_fn visit,
                                 void *context)
{
    const struct peer_store *s = &table->peers;
    if (!s->capacity)
        return true;
    struct peer_view *peers = malloc(s->per_process * sizeof *peers);
    if (!peers)
        return false;
    struct process_view view;
    struct process_peers entry = {.process = &view, .peers = peers};
    for (uint32_t r = 0; r <= table->capacity; r++) {
        /* The row and its peers of one instance: read again if it changed in between. */
        bool read;
        while ((read = row_read(&table->rows[r], &view)) &&
               !peers_read_row(s, r, view.instance_id, peers, &entry.count, entry.other))
            ;
        if (!read)
            continue;
        peer_covered_sums(view.counters, peers, entry.count, entry.other);
        visit(&entry, context);
    }
    free(peers);
    return true;
}

bool process_table_foreach_name_peers(const struct process_table *table,
                                      name_peers_visit_fn visit, void *context)
{
    const struct peer_store *s = &table->name_peers;
    if (!s->capacity)
        return true;
    struct peer_view *peers = malloc(s->per_process * sizeof *peers);
    if (!peers)
        return false;
    char name[IMAGE_NAME_MAX];
    struct name_peers entry = {.name = name, .peers = peers};
    uint32_t count = atomic_load_explicit(&table->names.count, memory_order_acquire);
    for (uint32_t n = 0; n < count; n++) {
        (void)peers_read_row(s, n, (uint64_t)n + 1, peers, &entry.count, entry.other);
        if (entry.count == 0 && other_is_zero(entry.other))
            continue; /* a name nothing was counted under */
        name_words_load(table->names.entries[n].text, name);
        entry.service_set = get32(&table->names.entries[n].service_set);
        visit(&entry, context);
    }
    free(peers);
    return true;
}
