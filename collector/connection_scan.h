/* Open connections and listeners per process: a snapshot of the machine's TCP connections
 * and UDP endpoints with their owning process ids, aggregated into a compact form the
 * exporter renders at scrape time, and a cache that many scrape threads share.
 *
 * The rows come from IP Helper (GetExtendedTcpTable / GetExtendedUdpTable) on Windows
 * (connection_scan_win.c); elsewhere there is no live source and connection_scan_system
 * fails with the reason (connection_scan_posix.c). Everything else here is portable, so the
 * aggregation and the cache are tested natively with made-up rows.
 *
 * Process ids are kept as Windows reports them. Windows reports a TIME_WAIT connection (and
 * a few others whose socket is gone) as owned by pid 0, the idle process: such a connection
 * has no owner any more. Pid 0 stays pid 0 in the snapshot; the exporter decides which
 * bucket to show it in. */
#ifndef TCPIP_EXPORTER_CONNECTION_SCAN_H
#define TCPIP_EXPORTER_CONNECTION_SCAN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"   /* enum ip_family */

enum connection_protocol { CONN_TCP = 0, CONN_UDP = 1, CONN_PROTOCOL_COUNT = 2 };

/* The MIB_TCP_STATE numbering, so a Windows row's dwState is stored as it is. Slot 0 holds
 * every value outside 1..12: a future Windows state is counted, never indexed out of
 * bounds. */
enum tcp_state {
    TCP_STATE_OTHER = 0,
    TCP_STATE_CLOSED = 1,
    TCP_STATE_LISTEN = 2,
    TCP_STATE_SYN_SENT = 3,
    TCP_STATE_SYN_RCVD = 4,
    TCP_STATE_ESTABLISHED = 5,
    TCP_STATE_FIN_WAIT1 = 6,
    TCP_STATE_FIN_WAIT2 = 7,
    TCP_STATE_CLOSE_WAIT = 8,
    TCP_STATE_CLOSING = 9,
    TCP_STATE_LAST_ACK = 10,
    TCP_STATE_TIME_WAIT = 11,
    TCP_STATE_DELETE_TCB = 12,
    TCP_STATE_SLOTS = 13
};

/* The slot of a raw state value: the value itself for 1..12, TCP_STATE_OTHER otherwise. */
enum tcp_state tcp_state_slot(uint32_t raw_state);

/* Stable upper-case name of a slot, as Windows' netstat prints it, for metric labels:
 * "CLOSED", "LISTENING", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
 * "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "DELETE_TCB", and "OTHER"
 * for TCP_STATE_OTHER or any value out of range. */
const char *tcp_state_name(enum tcp_state slot);

/* One row of the system's tables, as a scan returns it. */
struct connection_row {
    uint32_t pid;                  /* the owner; 0 when Windows has none (TIME_WAIT) */
    uint32_t tcp_state;            /* raw MIB_TCP_STATE value; ignored for UDP */
    enum ip_family family;
    enum connection_protocol protocol;
    uint16_t local_port;           /* host byte order */
};

/* One process's connections. */
struct connection_pid_entry {
    uint32_t pid;
    uint32_t tcp[FAMILY_COUNT][TCP_STATE_SLOTS];   /* TCP connections by family and state */
    uint32_t udp[FAMILY_COUNT];                    /* UDP endpoints by family */
};

/* A bound port: every TCP LISTEN row and every UDP endpoint, one entry per distinct
 * (pid, protocol, family, port), with how many sockets share it (SO_REUSEADDR, one socket
 * per address on a multi-homed host). */
struct connection_listener {
    uint32_t pid;
    enum connection_protocol protocol;
    enum ip_family family;
    uint16_t port;                 /* host byte order */
    uint32_t sockets;
};

/* At most this many listener entries per snapshot unless the caller asks otherwise: a host
 * with tens of thousands of UDP sockets must not make a scrape that large. */
#define CONNECTION_LISTENER_CAP_DEFAULT 4096

struct connection_snapshot {
    uint64_t taken_at;             /* 100 ns units since 1601-01-01 UTC (a FILETIME) */
    struct connection_pid_entry *pids;     /* sorted by pid, pids unique */
    size_t pid_count;
    /* sorted by (pid, protocol, family, port); when over the cap, the first `cap` of
     * that order are kept */
    struct connection_listener *listeners;
    size_t listener_count;
    uint64_t listener_rows_dropped;        /* rows (sockets) of the entries the cap left out */
    uint64_t rows_seen[CONN_PROTOCOL_COUNT];   /* every row given, by protocol */
    atomic_uint references;                /* owned by connection_snapshot_release */
};

/* Aggregates `count` rows. `listener_cap` 0 means CONNECTION_LISTENER_CAP_DEFAULT. The
 * snapshot comes back with one reference, the caller's. NULL when out of memory (or given
 * more than 2^32 rows, which no host has). */
struct connection_snapshot *connection_snapshot_build(const struct connection_row *rows,
                                                      size_t count, uint64_t taken_at,
                                                      size_t listener_cap);

/* The entry of `pid` (binary search), or NULL when the snapshot has no row of it. */
const struct connection_pid_entry *connection_snapshot_find(
    const struct connection_snapshot *snapshot, uint32_t pid);

/* Takes one more reference, for a reader that keeps the snapshot. */
struct connection_snapshot *connection_snapshot_retain(struct connection_snapshot *snapshot);

/* Drops one reference; the last one frees the snapshot. NULL is ignored. This is the only
 * way to free a snapshot, built directly or handed out by the cache. */
void connection_snapshot_release(struct connection_snapshot *snapshot);

/* ---- the platform's source ---- */

/* Reads the system's TCP connections and UDP endpoints, both families, into a new array
 * of rows that the caller frees with free(). False, with a one-line reason in `error`, if
 * any table cannot be read; nothing is allocated then. Windows only: elsewhere it always
 * fails with "open connections are read from IP Helper, on Windows only". */
bool connection_scan_system(struct connection_row **rows, size_t *count, char *error,
                            size_t error_size);

/* The system's wall clock in 100 ns units since 1601 (a FILETIME). */
uint64_t connection_clock_system(void *context);

/* ---- the cache ---- */

/* A scan as the cache calls it: connection_scan_system's contract, plus a context. */
typedef bool (*connection_scan_fn)(void *context, struct connection_row **rows,
                                   size_t *count, char *error, size_t error_size);
/* 100 ns units since 1601. */
typedef uint64_t (*connection_clock_fn)(void *context);

#define CONNECTION_MAX_AGE_DEFAULT 10000000u   /* 1 s in 100 ns units */
#define CONNECTION_ERROR_SIZE 256

struct connection_cache_config {
    connection_scan_fn scan;       /* NULL: connection_scan_system */
    void *scan_context;
    connection_clock_fn clock;     /* NULL: connection_clock_system */
    void *clock_context;
    uint64_t max_age;              /* 100 ns units; 0: CONNECTION_MAX_AGE_DEFAULT */
    size_t listener_cap;           /* 0: CONNECTION_LISTENER_CAP_DEFAULT */
};

/* The latest snapshot, or the latest failure, for max_age. The fields are private to
 * connection_scan.c; a caller only allocates the struct. */
struct connection_cache {
    struct connection_cache_config config;
    pthread_mutex_t lock;
    pthread_cond_t scan_done;
    bool scanning;                 /* one thread is scanning, the others wait for it */
    bool attempted;                /* a scan has finished (well or not) at attempted_at */
    uint64_t attempted_at;
    uint64_t generation;           /* scans finished: a waiter's scan is the next one */
    struct connection_snapshot *latest;    /* the cache's reference; NULL after a failure */
    char error[CONNECTION_ERROR_SIZE];     /* the latest failure's reason */
    uint64_t scans, failed_scans;
};

/* Counters for self-metrics. */
struct connection_cache_stats {
    uint64_t scans;                /* scans the cache ran, failed ones included */
    uint64_t failed_scans;
};

/* False (with the reason) only if the mutex or condition variable cannot be created. */
bool connection_cache_init(struct connection_cache *cache,
                           const struct connection_cache_config *config, char *error,
                           size_t error_size);

/* Releases the cache's snapshot. No thread may be inside connection_cache_get; snapshots
 * that readers still hold stay valid until they release them. */
void connection_cache_destroy(struct connection_cache *cache);

/* A snapshot no older than max_age, with a reference the caller drops with
 * connection_snapshot_release. Safe from any number of threads: when the latest result is
 * too old, one thread scans and the others wait for its result. A clock that went back
 * makes the latest result too old. NULL when the scan failed (the reason in `error`); a
 * failure is remembered for max_age like a snapshot, so a failing API is asked once per
 * max_age, not once per scrape. */
struct connection_snapshot *connection_cache_get(struct connection_cache *cache,
                                                 char *error, size_t error_size);

struct connection_cache_stats connection_cache_stats(struct connection_cache *cache);

#endif
