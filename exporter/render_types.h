/* What every renderer (Prometheus text and OpenMetrics, the JSON API) is given besides
 * the table: which rows to show and how the event source is doing. Its own header, so a
 * renderer does not depend on the HTTP server that happens to call it. */
#ifndef TCPIP_EXPORTER_RENDER_TYPES_H
#define TCPIP_EXPORTER_RENDER_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../collector/process_table.h"
#include "../collector/connection_scan.h"

/* How the event source is doing, for self-metrics and /api/v1/status. */
struct source_info {
    const char *kind;          /* "etw" (live kernel session) or "etl" (replay) */
    bool up;                   /* 1 while events can flow (a finished replay stays up) */
    char reason[256];          /* why not up, or how it came up */
    uint64_t restarts;
    uint64_t events_lost;      /* reported by the kernel session or the file headers */
    uint64_t buffers_lost;
    bool has_buffers;          /* etw only: the figures below come from the session */
    uint64_t buffers_written;  /* counter */
    uint32_t buffers_allocated, buffers_free;   /* gauges, of the running session */
    uint32_t min_buffers, max_buffers;          /* what the session was started with */
    bool replay_done;          /* etl only: every file was read */
    bool replay_damaged;       /* etl only: a file ended in an error */
};
typedef void (*source_info_fn)(void *context, struct source_info *info);

/* Which rows appear, and how they are labelled. */
struct render_options {
    bool aggregate_by_name;          /* one series per image name, no pid label */
    const char *const *include;      /* image-name globs (* and ?, case-insensitive); none = all */
    size_t include_count;
    const char *const *exclude;
    size_t exclude_count;
    /* Open connections and listeners (live only; NULL: none). Scrapes share its scan. */
    struct connection_cache *connections;
    /* Remote peers on /metrics (--collector.peers): tcpip_peer_* families. The JSON API
     * serves peers whenever the table keeps them (process_table_peers_enabled). */
    bool peers;
};

#endif
