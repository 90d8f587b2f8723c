/* Per-process TCP/IP counters: written by exactly one thread (the trace consumer or the
 * ETL replay), read concurrently by any number of others (HTTP renderers) without locks.
 *
 * Readers never see a row's identity (pid, start key, name) paired with another
 * instance's counters, and never see a counter go down while its series exists. */
#ifndef TCPIP_EXPORTER_PROCESS_TABLE_H
#define TCPIP_EXPORTER_PROCESS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "decode.h"

/* Per-process, per-family counters. Order is also the rendering order. */
enum counter {
    CTR_SENT_BYTES, CTR_SENT_EVENTS, CTR_RECV_BYTES, CTR_RECV_EVENTS,
    CTR_CONNECTS, CTR_ACCEPTS, CTR_DISCONNECTS,
    CTR_RETRANSMITS, CTR_RETRANSMIT_BYTES, CTR_RECONNECTS,
    CTR_COPIES, CTR_COPY_BYTES,
    CTR_UDP_SENT_BYTES, CTR_UDP_SENT_DATAGRAMS, CTR_UDP_RECV_BYTES, CTR_UDP_RECV_DATAGRAMS,
    CTR_COUNT
};

/* Why a record did not reach a process row as counted data. */
enum drop_reason {
    DROP_MALFORMED,   /* decode_record said DECODE_MALFORMED */
    DROP_UNKNOWN,     /* decode_record said DECODE_UNKNOWN */
    DROP_TABLE_FULL,  /* counted in the overflow row instead of a row of its own */
    DROP_REASON_COUNT
};

#define UNKNOWN_PROCESS_NAME "<unknown>"   /* events of a pid no process event named yet */
#define OVERFLOW_PROCESS_NAME "<overflow>" /* events of processes that found no free row */

enum process_state { PROCESS_LIVE = 1, PROCESS_EXITED = 2 };

/* A consistent copy of one row, as a reader sees it. */
struct process_view {
    uint32_t pid;
    uint32_t parent_pid;
    uint64_t unique_key;     /* 0 when unknown (no process event seen) */
    uint64_t instance_id;    /* table-wide sequence number of this instance, never reused */
    uint64_t start_time;     /* trace timestamp (100 ns since 1601) of Start/DCStart or first event */
    uint64_t exit_time;      /* 0 while live */
    enum process_state state;
    bool is_overflow;        /* the shared row for processes that found no free row */
    bool is_named;           /* false: name is UNKNOWN_PROCESS_NAME */
    uint32_t service_set;    /* the services it hosted: process_table_service_set() */
    char name[IMAGE_NAME_MAX];
    uint64_t counters[FAMILY_COUNT][CTR_COUNT];
};

/* Totals of every instance (live, exited, retired) that bore one image name. */
struct name_view {
    char name[IMAGE_NAME_MAX];
    uint32_t service_set;    /* one view per name and set of hosted services */
    uint32_t live_instances;
    uint64_t counters[FAMILY_COUNT][CTR_COUNT];
};

/* Table-wide numbers, each monotonic except the gauges marked so. */
struct table_stats {
    uint64_t events_by_type[EVT_TYPE_COUNT];
    uint64_t dropped[DROP_REASON_COUNT];
    uint64_t fails[FAMILY_COUNT][FAIL_CODE_SLOTS];
    uint64_t lost_events;          /* RT_LostEvent records seen */
    uint64_t lost_buffers;         /* RT_LostBuffer records seen */
    uint64_t processes_untracked;  /* instances that went to the overflow row */
    uint64_t instances_retired;
    uint64_t short_records;        /* network records without their trailing fields, counted
                                    * by PID and size all the same */
    uint32_t rows_in_use;          /* gauge */
    uint32_t capacity;             /* gauge: rows, fixed at creation */
    uint32_t services_known;       /* gauge: distinct service names seen */
    uint32_t services_hosted;      /* gauge: services hosted by a process now */
    uint32_t service_capacity;     /* gauge: services (and sets) the table can hold */
    uint64_t services_dropped;     /* services, sets or pairs that found no room */
    uint64_t service_scans;        /* complete service lists applied (live SCM scans) */
    uint32_t peers_in_use;         /* gauge: peers held for live and retained instances */
    uint32_t peer_capacity;        /* gauge: peers the store holds; 0 = peers off */
    uint64_t peers_evicted;        /* least recently active peers folded into `other` */
    uint64_t peers_refused;        /* events of a new peer counted in `other`: store full */
    uint64_t peer_swaps;           /* a busier peer took a shown place (top N for /metrics) */
};

struct process_table_config {
    uint32_t capacity;             /* rows; rounded up to a power of two; 0 = default */
    uint64_t retention;            /* how long exited instances stay readable, 100 ns units */
    uint32_t service_capacity;     /* distinct services; 0 = PROCESS_TABLE_DEFAULT_SERVICES */
    /* Remote peers (collector/README.md, "Remote peers"): all zero = peers off */
    uint32_t peer_capacity;        /* peers in the whole store; 0 = off */
    uint32_t peers_per_process;    /* most a process keeps; 0 = PROCESS_TABLE_DEFAULT_PEERS_PER_PROCESS */
    uint32_t peers_shown;          /* top N per process marked shown; 0 = every peer */
    uint8_t peer_ipv4_prefix;      /* remote addresses kept to this prefix; 0 = 32 */
    uint8_t peer_ipv6_prefix;      /* 0 = 128 */
    bool peers_by_name;            /* also keep peers per image name (aggregate-by-name) */
    /* Mixed into the writer's peer hashes. A remote host chooses its own address (a UDP
     * sender any it likes), so with known hashes it could pick addresses that all land
     * together and make every lookup walk them: the service draws this at random at
     * start. Counts never depend on it, but for which connection a full set of the
     * bounded cache of exceptions to the port rule drops first; 0 (tests, replays) keeps
     * runs reproducible. */
    uint64_t peer_hash_seed;
};

/* Plain numbers: service/config.c turns them into the flags' default text. */
#define PROCESS_TABLE_DEFAULT_CAPACITY 4096
#define PROCESS_TABLE_DEFAULT_RETENTION_MINUTES 5
#define PROCESS_TABLE_DEFAULT_SERVICES 1024
#define PROCESS_TABLE_DEFAULT_PEERS 16384
#define PROCESS_TABLE_DEFAULT_PEERS_PER_PROCESS 64
#define PROCESS_TABLE_MAX_PEERS_PER_PROCESS 1024
#define PROCESS_TABLE_DEFAULT_PEERS_SHOWN 10
#define PROCESS_TABLE_DEFAULT_RETENTION \
    (PROCESS_TABLE_DEFAULT_RETENTION_MINUTES * 60ull * 10000000ull) /* 100 ns ticks */

struct process_table;

struct process_table *process_table_create(const struct process_table_config *config);
void process_table_destroy(struct process_table *table);

/* ---- writer side: one thread only ---- */

/* Decode one record and apply it: the single entry point both sources call. */
void process_table_feed(struct process_table *table, const struct trace_record *record);

/* Apply an already decoded fact (tests and benchmarks use it directly). */
void process_table_apply(struct process_table *table, const struct trace_fact *fact,
                         uint64_t timestamp);

/* A trace's services ahead of its events (etl_replay.c): each record as a service fact,
 * not counted as an event (the replay feeds the record again in its place), then the
 * flush that applies them to the pids' rows and to rows yet to come. */
void process_table_prime_service(struct process_table *table, const struct service_fact *fact);
void process_table_flush_services(struct process_table *table);

/* Count a record that never became a fact (decode failure, or a source-level problem). */
void process_table_count_drop(struct process_table *table, enum drop_reason reason);

/* Retire exited instances older than the retention, and apply services still pending.
 * Call at least once a second. */
void process_table_housekeep(struct process_table *table, uint64_t now);

/* ---- from any thread: a complete list of the running services (a live SCM scan) ---- */

/* Ownership of the batch passes to the table, which frees it (malloc'ed, items[count]).
 * The writer applies the latest batch offered at its next housekeeping; an older one not
 * applied yet is freed unread (every batch is complete, so the newest says it all). */
struct service_batch {
    size_t count;
    struct service_fact items[];
};
void process_table_offer_services(struct process_table *table, struct service_batch *batch);

/* ---- reader side: any thread, any number, concurrently with the writer ---- */

typedef void (*process_visit_fn)(const struct process_view *row, void *context);
typedef void (*name_visit_fn)(const struct name_view *totals, void *context);

/* Visit every live or retained instance, and the overflow row once it was used. */
void process_table_foreach(const struct process_table *table, process_visit_fn visit,
                           void *context);

/* Visit the totals per image name, including retired instances: never go down. */
void process_table_foreach_name(const struct process_table *table, name_visit_fn visit,
                                void *context);

void process_table_stats(const struct process_table *table, struct table_stats *stats);

/* The services of a set (process_view.service_set, name_view.service_set), sorted by name
 * case-insensitively; at most max, returns the count. The strings live as long as the
 * table and never change. */
struct service_ref {
    const char *name;
    const char *display_name;
};
size_t process_table_service_set(const struct process_table *table, uint32_t set,
                                 struct service_ref *out, size_t max);
enum { PROCESS_TABLE_SERVICES_PER_SET = 64 }; /* the most a set holds */

/* The services hosted now, with the pid of their process; at most max, returns the count. */
struct hosted_service {
    uint32_t pid;
    struct service_ref service;
};
size_t process_table_services_hosted(const struct process_table *table,
                                     struct hosted_service *out, size_t max);

/* The order of service names wherever they are listed: ASCII case-insensitive, as the SCM
 * compares them (and as sets and the `service` label sort them). */
int process_table_service_name_compare(const char *a, const char *b);

/* ---- remote peers: any thread, like the rows ---- */

enum peer_protocol { PEER_TCP = 0, PEER_UDP = 1, PEER_PROTOCOL_COUNT = 2 };

/* Which side's port names the peer: the remote port of a connection the process opened,
 * or the local port of one it accepted (or of a port it accepted on before). */
enum peer_direction { PEER_OUTBOUND = 0, PEER_INBOUND = 1 };

/* Per peer. For UDP, "sent"/"received" are datagrams and their bytes; the connection
 * counters stay zero. Order is also the rendering order. */
enum peer_counter {
    PEER_SENT_BYTES, PEER_SENT_EVENTS, PEER_RECV_BYTES, PEER_RECV_EVENTS,
    PEER_CONNECTS, PEER_ACCEPTS, PEER_DISCONNECTS,
    PEER_RETRANSMITS, PEER_RETRANSMIT_BYTES, PEER_RECONNECTS,
    PEER_CTR_COUNT
};

/* The process counter (enum counter) a peer counter of this protocol adds to, or -1. For
 * every live or retained instance and every family, the sum over its peers and `other`
 * of a peer counter equals that process counter (copies have no peer: CTR_COPIES and
 * CTR_COPY_BYTES stay process-only). */
int peer_process_counter(enum peer_protocol protocol, enum peer_counter counter);

struct peer_view {
    uint64_t peer_id;          /* store-wide, never reused */
    uint8_t family;            /* enum ip_family */
    uint8_t protocol;          /* enum peer_protocol */
    uint8_t direction;         /* enum peer_direction */
    bool shown;                /* one of its process's top peers (--collector.peers.top) */
    uint16_t port;             /* the port that names the service (see enum peer_direction) */
    uint16_t local_port;       /* of the latest connection seen with this peer */
    uint16_t remote_port;
    uint8_t address[16];       /* remote, network order, masked to the prefix; 4 B for IPv4 */
    uint64_t first_seen;       /* trace timestamps, 100 ns since 1601 */
    uint64_t last_seen;        /* of its latest event */
    uint64_t counters[PEER_CTR_COUNT]; /* since first seen: never reset while it exists */
    /* Shown peers: its counters when it took its shown place (0 when shown from its first
     * event). A series of it shows counters - shown_from, and other as /metrics renders
     * it adds shown_from: the counts before are where they were rendered, in other. 0 for
     * peers not shown. */
    uint64_t shown_from[PEER_CTR_COUNT];
};

/* One instance with its peers, all from one consistent reading: process->counters are
 * the sums of peers and other (so they may be a few events ahead of, or behind, a
 * separate process_table_foreach), and no peer is seen both folded and on its own. */
struct process_peers {
    const struct process_view *process;
    const struct peer_view *peers;
    size_t count;
    /* peers folded (the least recently active, at the per-process limit or with the store
     * full), events of new peers the full store had no room for, and records without
     * endpoints. Sums over peers' counters and other are the process's counters. */
    uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
};
typedef void (*peers_visit_fn)(const struct process_peers *entry, void *context);

/* Sets the counters that peers cover (peer_process_counter) to the sums over peers and
 * other of one reading; the others (copies) are left as they are. foreach_peers does it
 * for its process views; a name's renderer does it with its name_peers, so a name's
 * series and its peers' come from one reading too. */
void peer_covered_sums(uint64_t counters[FAMILY_COUNT][CTR_COUNT], const struct peer_view *peers,
                       size_t count,
                       const uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT]);

bool process_table_peers_enabled(const struct process_table *table);

/* The prefix remote addresses of this family are kept to: 32 / 128 when not masked. */
unsigned process_table_peer_prefix(const struct process_table *table, enum ip_family family);

/* Visit every live or retained instance (and the overflow row once used) with its peers;
 * nothing when peers are off. false: out of memory, nothing visited. */
bool process_table_foreach_peers(const struct process_table *table, peers_visit_fn visit,
                                 void *context);

/* The same per image name, for aggregate-by-name: every event also counts in its name's
 * peers (a second store of the same capacity, kept with peers_by_name), which never retire,
 * so a name's peer series never go down. A name's covered counters (name_view) equal the
 * sums over its peers and other once the writer is idle; peer_covered_sums gives them from
 * this reading. Nothing when peers_by_name is off. */
struct name_peers {
    const char *name;              /* image name */
    uint32_t service_set;          /* as name_view.service_set */
    const struct peer_view *peers;
    size_t count;
    uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
};
typedef void (*name_peers_visit_fn)(const struct name_peers *entry, void *context);
bool process_table_foreach_name_peers(const struct process_table *table,
                                      name_peers_visit_fn visit, void *context);

/* Memory held by a table of this capacity, for the footprint the docs quote. */
size_t process_table_footprint(uint32_t capacity);

/* Memory the peer store adds for these peer settings (config as given to create). */
size_t process_table_peers_footprint(const struct process_table_config *config);

#endif
