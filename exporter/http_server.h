/* The embedded HTTP server (libmicrohttpd): /metrics, /api/v1/processes, /api/v1/status,
 * /health and /. It only reads the table; it never blocks the writer. */
#ifndef TCPIP_EXPORTER_HTTP_SERVER_H
#define TCPIP_EXPORTER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../collector/process_table.h"
#include "../collector/collector_log.h"
#include "render_types.h"

struct http_server_options {
    const char *const *listen;       /* "127.0.0.1:9731", "[::1]:9731", ":9731" */
    size_t listen_count;
    const char *telemetry_path;      /* "/metrics" */
    struct render_options render;
    unsigned connection_timeout_s;   /* every limit must be set: the defaults are the flags' */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned max_in_flight;          /* requests being answered at once; 503 beyond */
    unsigned request_head_timeout_s; /* for the whole request head, not reset by each byte */
    uint64_t min_send_rate;          /* bytes/s a response must average; 0 = no minimum */
    uint64_t response_memory_bytes;  /* bodies held for clients at once */
    struct process_table *table;
    source_info_fn source_info;
    void *source_context;
    const char *config_json;         /* the config in effect, shown by /api/v1/status; may be NULL */
    const char *web_config_file;     /* TLS, basic auth and headers (web_security.h); NULL: none */
    bool health_without_auth;        /* /health answers without credentials */
    struct collector_log log;        /* reloads of the web config are logged here */
};

struct http_server;

/* Binds every listen address (exclusively on Windows) and starts serving.
 * NULL with one line in err when it cannot (bad address, port in use). */
struct http_server *http_server_start(const struct http_server_options *options,
                                      char *err, size_t err_size);
/* "https" when the web config turned TLS on, else "http". */
const char *http_server_scheme(const struct http_server *server);
/* Stops accepting, lets in-flight requests finish, frees the server. */
void http_server_stop(struct http_server *server);

#endif
