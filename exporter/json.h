/* The JSON API: /api/v1/processes, /api/v1/services and /api/v1/status, built with cJSON
 * (/api/v1/peers: json_peers.h). Counters are 64-bit and cJSON numbers are doubles, so
 * counters are written as raw decimal text. */
#ifndef TCPIP_EXPORTER_JSON_H
#define TCPIP_EXPORTER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "render_types.h"

#define PROCESS_QUERY_MAX_LIMIT 1000000u
/* ?peers=N: no process keeps more (process_table_config.peers_per_process) */
#define PROCESS_QUERY_MAX_PEERS ((unsigned)PROCESS_TABLE_MAX_PEERS_PER_PROCESS)
#define PROCESS_SORT_TOTAL_BYTES "total_bytes"   /* sum of TCP and UDP bytes both ways */

/* Which instances a query selects: the filters /api/v1/processes and /api/v1/peers share
 * (render_options' include/exclude globs apply as well). */
struct process_filter {
    const char *name_glob;    /* NULL: every name */
    const char *service_glob; /* NULL: any; else a service the row hosts must match */
    bool has_pid;
    uint32_t pid;
};

/* Filters and order of /api/v1/processes. */
struct process_query {
    struct process_filter filter;
    int sort;                 /* -1 none (pid order), CTR_* or PROCESS_SORT_TOTAL */
    size_t limit;             /* 0: no limit */
    size_t peers;             /* each row's top N peers by bytes (json_peers.h); 0: none */
    unsigned seen;            /* parameters already set, to refuse duplicates */
};
enum { PROCESS_SORT_NONE = -1, PROCESS_SORT_TOTAL = 1000 };

void process_query_init(struct process_query *query);
/* Applies one query parameter; false with a message in err for an unknown key, a
 * duplicate or a bad value. */
bool process_query_set(struct process_query *query, const char *key, const char *value,
                       char *err, size_t err_size);

/* A JSON array of instances (filters of options apply too); malloc'ed, NULL when out of
 * memory. With query->peers and a table that keeps peers, the rows come from
 * process_table_foreach_peers, so each row's counters and its "peers" are one reading. */
char *json_render_processes(const struct process_table *table,
                            const struct render_options *options,
                            const struct process_query *query);

/* A JSON array of the services hosted now: name, display name, pid and the image name of
 * that pid's live row; malloc'ed, NULL when out of memory. */
char *json_render_services(const struct process_table *table);

struct status_input {
    const char *version;
    double uptime_seconds;
    uint32_t pid;             /* the exporter's own process id */
    bool has_source;
    struct source_info source;
    uint64_t scrapes;
    const char *config_json;  /* raw JSON of the config in effect, or NULL */
};
char *json_render_status(const struct process_table *table, const struct status_input *input);

/* {"error": message, "status": status}; malloc'ed, NULL when out of memory. */
char *json_render_error(int status, const char *message);

/* "2013-09-06T17:30:00.1234567Z" for a FILETIME (100 ns units since 1601 UTC). */
void format_filetime(uint64_t filetime, char *out, size_t out_size);

#endif
