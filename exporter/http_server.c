/* The embedded HTTP server. One libmicrohttpd daemon per listen address, each with an
 * internal thread pool on poll(), so idle or slow clients cost a file descriptor and a
 * little memory, never a thread. Not epoll: libmicrohttpd 0.9.75 watches the listening
 * socket edge-triggered there, and once the connection limit had been reached it stopped
 * accepting for good (measured: every later request timed out); poll is level-triggered.
 * Sockets are ours (listen_socket_*.c) for the exclusive bind on Windows and readable
 * bind errors.
 *
 * Refusals (405, 503) go out on the handler's first call; answers on the second, once
 * libmicrohttpd knows the request has no body, which keeps the connection reusable.
 * Requests in flight are counted from the first call until libmicrohttpd reports the response
 * sent (NOTIFY_COMPLETED): beyond max_in_flight the answer is 503, and shutdown waits for
 * the count to reach zero after closing the listening sockets, so scrapes under way finish. */
#include "http_server.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "json.h"
#include "listen_socket.h"
#include "prometheus.h"
#include "negotiate.h"
#include "version.h"

#define MAX_DAEMONS 16
#define THREADS_PER_DAEMON 4
#define POOLED_RENDERERS_KEPT 4      /* more concurrent scrapes allocate and free their own */
#define SHUTDOWN_GRACE_S 10
#define RESPONSE_BLOCK_SIZE (256 * 1024)

/* The memory of one /metrics answer, reused by later scrapes once its response is gone. */
struct render_slot {
    struct metrics_renderer *renderer;
    struct text_buffer text;
    struct text_buffer gzip;
    const struct text_buffer *body;   /* text or gzip */
    struct http_server *server;
    struct render_slot *next;
};

struct http_server {
    struct MHD_Daemon *daemons[MAX_DAEMONS];
    size_t daemon_count;
    struct process_table *table;
    source_info_fn source_info;
    void *source_context;
    unsigned max_in_flight;
    char *telemetry_path;
    char *config_json;
    char **filters;                   /* include then exclude, copied */
    struct render_options render;
    atomic_uint in_flight;
    atomic_uint_fast64_t scrapes;
    atomic_uint_fast64_t last_render_ns;
    double started;
    pthread_mutex_t pool_lock;
    struct render_slot *pool;
    size_t pooled;
};

/* *req_cls of requests that count as in flight, and of requests already refused. */
static char in_flight_marker;
static char answered_marker;

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- responses ---- */

static enum MHD_Result queue(struct MHD_Connection *connection, unsigned status,
                             struct MHD_Response *response)
{
    if (response == NULL)
        return MHD_NO;   /* out of memory: libmicrohttpd closes the connection */
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

/* Takes ownership of body (malloc'ed). */
static struct MHD_Response *owned_response(char *body, const char *content_type)
{
    if (body == NULL)
        return NULL;
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(body);
        return NULL;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return response;
}

static struct MHD_Response *json_response(char *body)
{
    return owned_response(body, "application/json; charset=utf-8");
}

static enum MHD_Result send_error(struct MHD_Connection *connection, unsigned status,
                                  const char *message)
{
    struct MHD_Response *response = json_response(json_render_error((int)status, message));
    if (response != NULL && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (response != NULL && status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return queue(connection, status, response);
}

/* ---- /metrics ---- */

static struct render_slot *acquire_slot(struct http_server *server)
{
    pthread_mutex_lock(&server->pool_lock);
    struct render_slot *slot = server->pool;
    if (slot != NULL) {
        server->pool = slot->next;
        server->pooled--;
    }
    pthread_mutex_unlock(&server->pool_lock);
    if (slot != NULL)
        return slot;
    slot = calloc(1, sizeof *slot);
    if (slot == NULL)
        return NULL;
    slot->renderer = metrics_renderer_create();
    if (slot->renderer == NULL) {
        free(slot);
        return NULL;
    }
    text_buffer_init(&slot->text);
    text_buffer_init(&slot->gzip);
    slot->server = server;
    return slot;
}

static void free_slot(struct render_slot *slot)
{
    metrics_renderer_destroy(slot->renderer);
    text_buffer_free(&slot->text);
    text_buffer_free(&slot->gzip);
    free(slot);
}

/* libmicrohttpd's free callback of a /metrics response. */
static void release_slot(void *cls)
{
    struct render_slot *slot = cls;
    struct http_server *server = slot->server;
    pthread_mutex_lock(&server->pool_lock);
    bool keep = server->pooled < POOLED_RENDERERS_KEPT;
    if (keep) {
        slot->next = server->pool;
        server->pool = slot;
        server->pooled++;
    }
    pthread_mutex_unlock(&server->pool_lock);
    if (!keep)
        free_slot(slot);
}

static ssize_t read_slot(void *cls, uint64_t pos, char *buf, size_t max)
{
    const struct text_buffer *body = ((struct render_slot *)cls)->body;
    if (pos >= body->length)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = body->length - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, body->data + pos, n);
    return (ssize_t)n;
}

/* Level 1: metrics text repeats itself so much that it still shrinks ~10x, at a fraction
 * of the default level's time. */
static bool gzip_into(const struct text_buffer *in, struct text_buffer *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    text_buffer_reset(out);
    uLong bound = deflateBound(&z, (uLong)in->length);
    bool ok = text_buffer_reserve(out, bound);
    if (ok) {
        z.next_in = (Bytef *)in->data;
        z.avail_in = (uInt)in->length;
        z.next_out = (Bytef *)out->data;
        z.avail_out = (uInt)bound;
        ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
        out->length = z.total_out;
    }
    deflateEnd(&z);
    return ok;
}

static void fill_source(struct http_server *server, bool *has_source, struct source_info *info)
{
    memset(info, 0, sizeof *info);
    *has_source = server->source_info != NULL;
    if (*has_source)
        server->source_info(server->source_context, info);
}

static enum MHD_Result serve_metrics(struct http_server *server,
                                     struct MHD_Connection *connection)
{
    const char *accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_ACCEPT);
    const char *encoding = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_ACCEPT_ENCODING);
    enum metrics_format format = negotiate_format(accept);
    bool gzip = negotiate_gzip(encoding);

    struct render_slot *slot = acquire_slot(server);
    if (slot == NULL)
        return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    struct exporter_self self = {
        .version = TCPIP_EXPORTER_VERSION,
        .scrapes = atomic_fetch_add(&server->scrapes, 1) + 1,
        .last_render_seconds = (double)atomic_load(&server->last_render_ns) / 1e9,
    };
    fill_source(server, &self.has_source, &self.source);

    double start = monotonic_seconds();
    bool ok = metrics_render(slot->renderer, server->table, &server->render, &self, format,
                             &slot->text);
    atomic_store(&server->last_render_ns,
                 (uint_fast64_t)((monotonic_seconds() - start) * 1e9));
    slot->body = &slot->text;
    if (ok && gzip) {
        ok = gzip_into(&slot->text, &slot->gzip);
        slot->body = &slot->gzip;
    }
    if (!ok) {
        release_slot(slot);
        return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "out of memory while rendering the metrics");
    }
    struct MHD_Response *response = MHD_create_response_from_callback(
        slot->body->length, RESPONSE_BLOCK_SIZE, read_slot, slot, release_slot);
    if (response == NULL) {
        release_slot(slot);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            format == METRICS_FORMAT_OPENMETRICS ?
                            METRICS_CONTENT_TYPE_OPENMETRICS : METRICS_CONTENT_TYPE_TEXT);
    MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (gzip)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return queue(connection, MHD_HTTP_OK, response);
}

/* ---- JSON and HTML endpoints ---- */

struct query_parse {
    struct process_query query;
    bool failed;
    char err[256];
};

static enum MHD_Result take_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct query_parse *parse = cls;
    if (!process_query_set(&parse->query, key, value, parse->err, sizeof parse->err)) {
        parse->failed = true;
        return MHD_NO;   /* stop at the first problem */
    }
    return MHD_YES;
}

static enum MHD_Result serve_processes(struct http_server *server,
                                       struct MHD_Connection *connection)
{
    struct query_parse parse = { .failed = false };
    process_query_init(&parse.query);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, take_argument, &parse);
    if (parse.failed)
        return send_error(connection, MHD_HTTP_BAD_REQUEST, parse.err);
    char *body = json_render_processes(server->table, &server->render, &parse.query);
    if (body == NULL)
        return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return queue(connection, MHD_HTTP_OK, json_response(body));
}

static enum MHD_Result serve_status(struct http_server *server,
                                    struct MHD_Connection *connection)
{
    struct status_input input = {
        .version = TCPIP_EXPORTER_VERSION,
        .uptime_seconds = (double)(int64_t)((monotonic_seconds() - server->started) * 1000) / 1000,
        .scrapes = atomic_load(&server->scrapes),
        .config_json = server->config_json,
    };
    fill_source(server, &input.has_source, &input.source);
    char *body = json_render_status(server->table, &input);
    if (body == NULL)
        return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return queue(connection, MHD_HTTP_OK, json_response(body));
}

static enum MHD_Result serve_health(struct MHD_Connection *connection)
{
    static const char body[] = "{\"status\":\"ok\"}";
    struct MHD_Response *response = MHD_create_response_from_buffer(
        sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (response != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8");
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    return queue(connection, MHD_HTTP_OK, response);
}

static void append_html_escaped(struct text_buffer *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<': text_buffer_append_str(out, "&lt;"); break;
        case '>': text_buffer_append_str(out, "&gt;"); break;
        case '&': text_buffer_append_str(out, "&amp;"); break;
        case '"': text_buffer_append_str(out, "&quot;"); break;
        default: text_buffer_append_char(out, *p); break;
        }
    }
}

static enum MHD_Result serve_landing(struct http_server *server,
                                     struct MHD_Connection *connection)
{
    struct text_buffer page;
    text_buffer_init(&page);
    text_buffer_append_str(&page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tcpip_exporter</title>"
        "</head>\n<body><h1>tcpip_exporter " TCPIP_EXPORTER_VERSION "</h1>\n"
        "<p>Per-process TCP/IP counters from Windows kernel trace events.</p>\n<ul>\n"
        "<li><a href=\"");
    append_html_escaped(&page, server->telemetry_path);
    text_buffer_append_str(&page, "\">");
    append_html_escaped(&page, server->telemetry_path);
    text_buffer_append_str(&page,
        "</a>: metrics for Prometheus (text 0.0.4, OpenMetrics 1.0)</li>\n"
        "<li><a href=\"/api/v1/processes\">/api/v1/processes</a>: process instances as JSON "
        "(<a href=\"/api/v1/processes?sort=total_bytes&amp;limit=10\">top 10 by bytes</a>)"
        "</li>\n"
        "<li><a href=\"/api/v1/status\">/api/v1/status</a>: event source, table and config"
        "</li>\n"
        "<li><a href=\"/health\">/health</a>: liveness</li>\n</ul>\n</body></html>\n");
    if (page.failed) {
        text_buffer_free(&page);
        return send_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return queue(connection, MHD_HTTP_OK, owned_response(page.data, "text/html; charset=utf-8"));
}

/* ---- dispatch ---- */

static enum MHD_Result dispatch(struct http_server *server, struct MHD_Connection *connection,
                                const char *url)
{
    if (strcmp(url, server->telemetry_path) == 0)
        return serve_metrics(server, connection);
    if (strcmp(url, "/api/v1/processes") == 0)
        return serve_processes(server, connection);
    if (strcmp(url, "/api/v1/status") == 0)
        return serve_status(server, connection);
    if (strcmp(url, "/health") == 0)
        return serve_health(connection);
    if (strcmp(url, "/") == 0)
        return serve_landing(server, connection);
    char message[200];
    snprintf(message, sizeof message, "no such path '%.80s' (see / for the endpoints)", url);
    return send_error(connection, MHD_HTTP_NOT_FOUND, message);
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    (void)upload_data;
    struct http_server *server = cls;
    if (*req_cls == NULL) {
        /* First call: the headers are in. Refusals go out now (and close the connection);
         * accepted requests are answered on the next call, once libmicrohttpd knows there is
         * no body, so that the connection can stay open for the next scrape. */
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
            strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
            char message[160];
            snprintf(message, sizeof message, "method %.32s is not allowed (use GET or HEAD)",
                     method);
            *req_cls = &answered_marker;
            return send_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED, message);
        }
        if (atomic_fetch_add(&server->in_flight, 1) >= server->max_in_flight) {
            atomic_fetch_sub(&server->in_flight, 1);
            *req_cls = &answered_marker;
            return send_error(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
                              "too many requests in flight; try again shortly");
        }
        *req_cls = &in_flight_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;   /* a body on GET means nothing to us: discard it */
        return MHD_YES;
    }
    if (*req_cls == &answered_marker)
        return MHD_YES;
    return dispatch(server, connection, url);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)connection;
    (void)toe;
    struct http_server *server = cls;
    if (*req_cls == &in_flight_marker)
        atomic_fetch_sub(&server->in_flight, 1);
    *req_cls = NULL;
}

/* ---- life cycle ---- */

static char *copy_string(const char *text)
{
    if (text == NULL)
        return NULL;
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    if (copy != NULL)
        memcpy(copy, text, size);
    return copy;
}

/* The server keeps its own copies, so the caller's config may go away after start. */
static bool copy_options(struct http_server *server, const struct http_server_options *options)
{
    const struct render_options *r = &options->render;
    size_t count = r->include_count + r->exclude_count;
    server->filters = calloc(count + 1, sizeof *server->filters);
    server->telemetry_path = copy_string(options->telemetry_path ? options->telemetry_path
                                                                 : "/metrics");
    server->config_json = copy_string(options->config_json);
    if (server->filters == NULL || server->telemetry_path == NULL ||
        (options->config_json != NULL && server->config_json == NULL))
        return false;
    for (size_t i = 0; i < count; i++) {
        const char *glob = i < r->include_count ? r->include[i] : r->exclude[i - r->include_count];
        if ((server->filters[i] = copy_string(glob)) == NULL)
            return false;
    }
    server->render.aggregate_by_name = r->aggregate_by_name;
    server->render.include = (const char *const *)server->filters;
    server->render.include_count = r->include_count;
    server->render.exclude = (const char *const *)server->filters + r->include_count;
    server->render.exclude_count = r->exclude_count;
    server->table = options->table;
    server->source_info = options->source_info;
    server->source_context = options->source_context;
    server->max_in_flight = options->max_in_flight;
    return true;
}

static void free_server(struct http_server *server)
{
    if (server->filters != NULL) {
        for (size_t i = 0; server->filters[i] != NULL; i++)
            free(server->filters[i]);
        free(server->filters);
    }
    free(server->telemetry_path);
    free(server->config_json);
    while (server->pool != NULL) {
        struct render_slot *slot = server->pool;
        server->pool = slot->next;
        free_slot(slot);
    }
    pthread_mutex_destroy(&server->pool_lock);
    free(server);
}

static struct MHD_Daemon *start_daemon(struct http_server *server,
                                       const struct http_server_options *options,
                                       listen_socket_t socket)
{
    unsigned timeout = options->connection_timeout_s;
    unsigned limit = options->max_connections;
    /* libmicrohttpd splits the connection limit between the pool's threads and refuses to
     * start when there are more threads than connections. */
    unsigned threads = limit < THREADS_PER_DAEMON ? limit : THREADS_PER_DAEMON;
    return MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL, NULL, handle_request, server,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)socket,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, options->max_connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
        MHD_OPTION_END);
}

/* Closes the listening sockets first (no new connections), waits for the requests in
 * flight, then stops the daemons, which closes the idle keep-alive connections. */
static void stop_daemons(struct http_server *server)
{
    for (size_t i = 0; i < server->daemon_count; i++) {
        MHD_socket s = MHD_quiesce_daemon(server->daemons[i]);
        if (s != MHD_INVALID_SOCKET)
            listen_socket_close((listen_socket_t)s);
    }
    double deadline = monotonic_seconds() + SHUTDOWN_GRACE_S;
    while (atomic_load(&server->in_flight) > 0 && monotonic_seconds() < deadline) {
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    for (size_t i = 0; i < server->daemon_count; i++)
        MHD_stop_daemon(server->daemons[i]);
    server->daemon_count = 0;
}

struct http_server *http_server_start(const struct http_server_options *options,
                                      char *err, size_t err_size)
{
    if (options->listen_count == 0 || options->listen_count > MAX_DAEMONS) {
        snprintf(err, err_size, "between 1 and %d listen addresses are needed", MAX_DAEMONS);
        return NULL;
    }
    if (options->table == NULL) {
        snprintf(err, err_size, "http server: no process table");
        return NULL;
    }
    /* The defaults live in the option table (service/config.c), not here: a caller that
     * leaves a limit at 0 has forgotten it, and 0 would mean "no timeout" or "no request". */
    if (options->connection_timeout_s == 0 || options->max_connections == 0 ||
        options->max_in_flight == 0) {
        snprintf(err, err_size, "http server: connection timeout, connection limit and "
                 "requests in flight must all be set");
        return NULL;
    }
    if (options->telemetry_path != NULL && options->telemetry_path[0] != '/') {
        snprintf(err, err_size, "telemetry path '%.80s' must start with '/'",
                 options->telemetry_path);
        return NULL;
    }
    struct http_server *server = calloc(1, sizeof *server);
    if (server == NULL || pthread_mutex_init(&server->pool_lock, NULL) != 0) {
        free(server);
        snprintf(err, err_size, "http server: out of memory");
        return NULL;
    }
    server->started = monotonic_seconds();
    if (!copy_options(server, options)) {
        free_server(server);
        snprintf(err, err_size, "http server: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < options->listen_count; i++) {
        listen_socket_t socket;
        if (!listen_socket_open(options->listen[i], &socket, err, err_size)) {
            stop_daemons(server);
            free_server(server);
            return NULL;
        }
        struct MHD_Daemon *daemon = start_daemon(server, options, socket);
        if (daemon == NULL) {
            listen_socket_close(socket);
            stop_daemons(server);
            free_server(server);
            snprintf(err, err_size, "listen address '%s': the HTTP server did not start "
                     "(out of threads or memory?)", options->listen[i]);
            return NULL;
        }
        /* the daemon owns the socket now; stop_daemons takes it back to close it */
        server->daemons[server->daemon_count++] = daemon;
    }
    return server;
}

void http_server_stop(struct http_server *server)
{
    if (server == NULL)
        return;
    stop_daemons(server);
    free_server(server);
}
