/* The embedded HTTP server (libmicrohttpd): /metrics, /api/v1/processes, /api/v1/status,
 * /health and /. It only reads the table; it never blocks the writer. */
#ifndef TCPIP_EXPORTER_HTTP_SERVER_H
#define TCPIP_EXPORTER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../collector/process_table.h"

/* How the event source is doing, for self-metrics and /api/v1/status. */
struct source_info {
    const char *kind;          /* "etw" (live kernel session) or "etl" (replay) */
    bool up;                   /* 1 while events can flow (a finished replay stays up) */
    char reason[256];          /* why not up, or how it came up */
    uint64_t restarts;
    uint64_t events_lost;      /* reported by the kernel session or the file headers */
    uint64_t buffers_lost;
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
};

struct http_server_options {
    const char *const *listen;       /* "127.0.0.1:9731", "[::1]:9731", ":9731" */
    size_t listen_count;
    const char *telemetry_path;      /* "/metrics" */
    struct render_options render;
    unsigned connection_timeout_s;
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned max_in_flight;          /* requests being answered at once; 503 beyond */
    struct process_table *table;
    source_info_fn source_info;
    void *source_context;
    const char *config_json;         /* the config in effect, shown by /api/v1/status; may be NULL */
};

struct http_server;

/* Binds every listen address (exclusively on Windows) and starts serving.
 * NULL with one line in err when it cannot (bad address, port in use). */
struct http_server *http_server_start(const struct http_server_options *options,
                                      char *err, size_t err_size);
/* Stops accepting, lets in-flight requests finish, frees the server. */
void http_server_stop(struct http_server *server);

#endif
