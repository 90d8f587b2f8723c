/* The embedded HTTP server. One libmicrohttpd daemon per listen address, each with an
 * internal thread pool on poll(), so idle or slow clients cost a file descriptor and a
 * little memory, never a thread. Not epoll: libmicrohttpd 0.9.75 watches the listening
 * socket edge-triggered there, and once the connection limit had been reached it stopped
 * accepting for good (measured: every later request timed out); poll is level-triggered.
 * Sockets are ours (listen_socket_*.c) for the exclusive bind on Windows and readable
 * bind errors.
 *
 * What a hostile client could hold, and what bounds it:
 *   - an in-flight slot: only while its answer is being made (max_in_flight, then 503);
 *     a GET or HEAD announcing a body is refused at once, never waited for;
 *   - memory: every response body is charged to one budget (response_body.h); /metrics
 *     bodies are shared by concurrent scrapes (shared_render.h), sent without a copy;
 *   - a connection: capped per client address, with a deadline for the whole request
 *     head and a minimum average rate for reading the response (connection_guard.h).
 * Refusals go out on the handler's first call; answers on the second, once libmicrohttpd
 * knows the request has no body, which keeps the connection reusable. Shutdown closes the
 * listening sockets, waits (bounded) for the answers being made or sent, then stops. */
#include "http_server.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auth_verifier.h"
#include "connection_guard.h"
#include "http_counters.h"
#include "json.h"
#include "json_peers.h"
#include "process_id.h"
#include "label_text.h"
#include "listen_socket.h"
#include "live_page.h"
#include "negotiate.h"
#include "prometheus.h"
#include "response_body.h"
#include "shared_render.h"
#include "web_security.h"
#include "version.h"

#define MAX_DAEMONS 16
#define THREADS_PER_DAEMON 4
#define SHUTDOWN_GRACE_S 10
/* How long one /metrics render is served to later scrapes: Prometheus scrapes every 15 s or
 * more, so a second is invisible to it, and a burst of clients costs one render. */
#define SHARED_RENDER_MAX_AGE_S 1.0
/* Near the connection limit, a connection whose request head has not come in this long
 * makes room for a new one (connection_guard.h): far longer than any client's head takes,
 * far shorter than the head timeout an attacker would otherwise hold the place for. */
#define EVICT_AFTER_S 0.5
/* Credentials waiting for a bcrypt (auth_verifier.h): each holds an in-flight slot, so
 * a few, and the rest of the slots stay for scrapes the cache lets through at once. */
#define AUTH_QUEUE 4

/* *req_cls of a request: accepted and its answer being made (in flight), accepted and
 * answered (being sent), refused (answered at once). */
static char in_flight_marker;
static char accepted_marker;
static char answered_marker;

/* Where a request's credentials stand while its connection waits for the verifier. */
enum auth_state { AUTH_NONE, AUTH_PENDING, AUTH_GRANTED, AUTH_DENIED, AUTH_BUSY };

/* libmicrohttpd's socket context of each connection. */
struct client {
    struct guarded_connection *guarded;
    bool nul_in_request;             /* the unescaped path or a query value held a NUL */
    _Atomic int auth;                /* enum auth_state: the verifier's answer */
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
    atomic_uint in_flight;            /* answers being made */
    atomic_uint answering;            /* accepted and not yet completed: shutdown waits */
    atomic_uint_fast64_t scrapes;
    atomic_uint_fast64_t last_render_ns;
    atomic_uint_fast64_t rejected[HTTP_REJECT_COUNT];
    double started;
    struct response_budget budget;
    /* The size of recent /api/v1/processes and /api/v1/peers answers: what the next one
     * reserves before it is made (json_reserve). */
    atomic_size_t json_estimate[2];
    atomic_bool json_building;        /* one of them is being made (json_reserve) */
    struct shared_render *shared;
    struct metrics_renderer *renderer;   /* used by the shared render, one render at a time */
    struct connection_guard *guard;
    struct web_security *security;    /* NULL: no --web.config.file */
    struct auth_verifier *verifier;   /* bcrypt off the connection threads; with security */
    bool health_without_auth;
};

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_rejection(struct http_server *server, enum http_rejection reason)
{
    atomic_fetch_add_explicit(&server->rejected[reason], 1, memory_order_relaxed);
}

/* A copy of text (NULL for NULL, or when out of memory). */
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

/* ---- responses ---- */

/* The web config's extra headers (Strict-Transport-Security...) go on every answer, each
 * once: one the answer has already (the live page's own Content-Security-Policy and
 * X-Content-Type-Options) gives way to the operator's, as Go's Header().Set does. */
static void add_configured_headers(struct http_server *server, struct MHD_Response *response)
{
    if (server->security == NULL)
        return;
    struct web_policy *policy = web_security_acquire(server->security);
    for (size_t i = 0; i < web_policy_header_count(policy); i++) {
        const struct web_header *h = web_policy_header(policy, i);
        const char *own = MHD_get_response_header(response, h->name);
        if (own != NULL)
            MHD_del_response_header(response, h->name, own);
        MHD_add_response_header(response, h->name, h->value);
    }
    web_policy_release(server->security, policy);
}

static enum MHD_Result queue(struct http_server *server, struct MHD_Connection *connection,
                             unsigned status, struct MHD_Response *response)
{
    if (response == NULL)
        return MHD_NO;   /* out of memory: libmicrohttpd closes the connection */
    add_configured_headers(server, response);
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static struct client *client_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info != NULL ? info->socket_context : NULL;
}

/* Tells the guard how many bytes the client now has to read, which sets its deadline. */
static void sending(struct http_server *server, struct MHD_Connection *connection,
                    uint64_t bytes)
{
    struct client *client = client_of(connection);
    if (client != NULL)
        connection_guard_sending(server->guard, client->guarded, bytes);
}

static void release_body(void *cls)
{
    response_body_release(cls);
}

/* A response sent straight from body's memory; takes the caller's reference. */
static struct MHD_Response *body_response(struct response_body *body, const char *content_type)
{
    struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback_cls(
        body->length, body->data, release_body, body);
    if (response == NULL) {
        response_body_release(body);
        return NULL;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return response;
}

static enum MHD_Result queue_body(struct http_server *server, struct MHD_Connection *connection,
                                  unsigned status, struct MHD_Response *response, size_t length)
{
    sending(server, connection, length);
    return queue(server, connection, status, response);
}

/* Error answers are small and made even when the budget is full: they are what tells the
 * client to come back later. */
static enum MHD_Result send_error(struct http_server *server, struct MHD_Connection *connection,
                                  unsigned status, const char *message)
{
    char *text = json_render_error((int)status, message);
    if (text == NULL)
        return MHD_NO;
    size_t length = strlen(text);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(length, text, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json; charset=utf-8");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"tcpip_exporter\", charset=\"UTF-8\"");
    return queue_body(server, connection, status, response, length);
}

static enum MHD_Result refuse(struct http_server *server, struct MHD_Connection *connection,
                              enum http_rejection reason, unsigned status, const char *message)
{
    count_rejection(server, reason);
    return send_error(server, connection, status, message);
}

static enum MHD_Result refuse_json_memory(struct http_server *server,
                                          struct MHD_Connection *connection)
{
    return refuse(server, connection, HTTP_REJECT_RESPONSE_MEMORY,
                  MHD_HTTP_SERVICE_UNAVAILABLE,
                  "the memory for responses is in use by other clients; try again shortly");
}

/* A malloc'ed body made for one request (the JSON API): charged to the budget, or 503. */
static enum MHD_Result send_owned(struct http_server *server, struct MHD_Connection *connection,
                                  char *text, const char *content_type)
{
    if (text == NULL)
        return send_error(server, connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    size_t length = strlen(text);
    struct response_body *body =
        response_body_wrap(&server->budget, text, length, length + 1, true);
    if (body == NULL) {
        free(text);
        return refuse_json_memory(server, connection);
    }
    return queue_body(server, connection, MHD_HTTP_OK, body_response(body, content_type),
                      length);
}

static enum MHD_Result send_json(struct http_server *server, struct MHD_Connection *connection,
                                 char *text)
{
    return send_owned(server, connection, text, "application/json; charset=utf-8");
}

/* The JSON answers that grow with the table (every process, every peer) are made for each
 * request; there is no shared render as for /metrics. Each first reserves one and a half
 * times the size of the last answer of its kind (the text grows by doubling, and the rows
 * are copied out of the table first): when that does not fit it is refused before it
 * takes any memory or time, so sixteen clients asking at once cost about the budget, not
 * sixteen answers (http_hostile). The first answer of a kind reserves JSON_FIRST_ESTIMATE;
 * a small answer (a filtered query) lowers the estimate an eighth at a time, so the next
 * whole-table answer is not reserved as if it were small. And one is made at a time: the
 * others are refused at once rather than each holding a server thread and its own copy of
 * the rows, which is what kept scrapes waiting and memory past its bound (http_hostile, 16
 * clients asking without pause). */
enum json_answer { JSON_PROCESSES, JSON_PEERS };
#define JSON_FIRST_ESTIMATE ((size_t)64 << 10)

static bool json_reserve(struct http_server *server, enum json_answer kind, size_t *reserved)
{
    if (atomic_exchange(&server->json_building, true))
        return false;
    size_t estimate = atomic_load(&server->json_estimate[kind]);
    *reserved = estimate ? estimate + estimate / 2 : JSON_FIRST_ESTIMATE;
    if (response_budget_reserve(&server->budget, *reserved))
        return true;
    atomic_store(&server->json_building, false);
    return false;
}

static enum MHD_Result send_reserved_json(struct http_server *server,
                                          struct MHD_Connection *connection,
                                          enum json_answer kind, size_t reserved, char *text)
{
    atomic_store(&server->json_building, false);
    response_budget_give_back(&server->budget, reserved);
    if (text != NULL) {
        size_t size = strlen(text) + 1, before = atomic_load(&server->json_estimate[kind]);
        size_t floor = before - before / 8;
        atomic_store(&server->json_estimate[kind], size > floor ? size : floor);
    }
    return send_json(server, connection, text);
}

/* ---- /metrics ---- */

static void fill_source(struct http_server *server, bool *has_source, struct source_info *info)
{
    memset(info, 0, sizeof *info);
    *has_source = server->source_info != NULL;
    if (*has_source)
        server->source_info(server->source_context, info);
}

static void fill_http_counters(struct http_server *server, struct http_counters *out)
{
    memset(out, 0, sizeof *out);
    out->present = true;
    for (int i = 0; i < HTTP_REJECT_COUNT; i++)
        out->rejected[i] = atomic_load_explicit(&server->rejected[i], memory_order_relaxed);
    struct connection_guard_counts guard;
    connection_guard_counts(server->guard, &guard);
    out->connections = guard.open;
    out->rejected[HTTP_REJECT_PER_ADDRESS] = guard.refused_per_address;
    out->rejected[HTTP_REJECT_HEAD_TIMEOUT] = guard.head_timeouts;
    out->rejected[HTTP_REJECT_SLOW_READ] = guard.slow_sends;
    out->rejected[HTTP_REJECT_EVICTED] = guard.evicted;
    out->response_bytes = response_budget_held(&server->budget);
    out->response_bytes_cap = server->budget.cap;
    struct shared_render_counts shared;
    shared_render_counts(server->shared, &shared);
    out->renders = shared.renders;
    out->compressions = shared.compressions;
    out->stale_responses = shared.stale;
    if (server->security != NULL) {
        struct web_security_stats web;
        web_security_stats(server->security, &web);
        out->has_web_config = true;
        out->web_config_reloads = web.reloads;
        out->web_config_reload_failures = web.reload_failures;
        out->web_config_last_reload_ok = web.last_reload_ok;
        out->auth_bcrypt_runs = web.bcrypt_runs;
        out->auth_cache_hits = web.auth_cache_hits;
    }
}

/* The shared render's callback: one render at a time. */
static bool render_metrics(void *context, enum metrics_format format, struct text_buffer *out)
{
    struct http_server *server = context;
    struct exporter_self self = {
        .version = TCPIP_EXPORTER_VERSION,
        .scrapes = atomic_load(&server->scrapes),
        .last_render_seconds = (double)atomic_load(&server->last_render_ns) / 1e9,
    };
    fill_source(server, &self.has_source, &self.source);
    fill_http_counters(server, &self.http);
    double start = monotonic_seconds();
    bool ok = metrics_render(server->renderer, server->table, &server->render, &self, format,
                             out);
    atomic_store(&server->last_render_ns,
                 (uint_fast64_t)((monotonic_seconds() - start) * 1e9));
    return ok;
}

static enum MHD_Result serve_metrics(struct http_server *server,
                                     struct MHD_Connection *connection)
{
    const char *accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_ACCEPT);
    const char *encoding = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_ACCEPT_ENCODING);
    enum metrics_format format = negotiate_format(accept);
    atomic_fetch_add(&server->scrapes, 1);
    struct shared_render_result got =
        shared_render_get(server->shared, format, negotiate_gzip(encoding));
    if (got.outcome == SHARED_RENDER_NO_ROOM)
        return refuse(server, connection, HTTP_REJECT_RESPONSE_MEMORY,
                      MHD_HTTP_SERVICE_UNAVAILABLE,
                      "the memory for responses is in use by other clients; try again shortly");
    if (got.body == NULL)
        return send_error(server, connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "out of memory while rendering the metrics");
    size_t length = got.body->length;
    struct MHD_Response *response = body_response(got.body,
        format == METRICS_FORMAT_OPENMETRICS ? METRICS_CONTENT_TYPE_OPENMETRICS
                                             : METRICS_CONTENT_TYPE_TEXT);
    if (response == NULL)
        return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
    if (got.gzip)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return queue_body(server, connection, MHD_HTTP_OK, response, length);
}

/* ---- JSON and HTML endpoints ---- */

/* The query parameters of one JSON request, through the endpoint's own parser. */
struct query_parse {
    bool (*set)(void *query, const char *key, const char *value, char *err, size_t err_size);
    void *query;
    bool failed;
    char err[256];
};

static enum MHD_Result take_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct query_parse *parse = cls;
    if (!parse->set(parse->query, key, value, parse->err, sizeof parse->err)) {
        parse->failed = true;
        return MHD_NO;   /* stop at the first problem */
    }
    return MHD_YES;
}

/* Typed for take_argument: the parsers take their own query type. */
static bool set_process_parameter(void *query, const char *key, const char *value, char *err,
                                  size_t err_size)
{
    return process_query_set(query, key, value, err, err_size);
}

static bool set_peer_parameter(void *query, const char *key, const char *value, char *err,
                               size_t err_size)
{
    return peer_query_set(query, key, value, err, err_size);
}

/* Every argument through the parser; false when one was refused (parse->err says why). */
static bool parse_arguments(struct MHD_Connection *connection, struct query_parse *parse)
{
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, take_argument, parse);
    return !parse->failed;
}

static enum MHD_Result serve_processes(struct http_server *server,
                                       struct MHD_Connection *connection)
{
    struct process_query query;
    process_query_init(&query);
    struct query_parse parse = { .set = set_process_parameter, .query = &query };
    if (!parse_arguments(connection, &parse))
        return send_error(server, connection, MHD_HTTP_BAD_REQUEST, parse.err);
    /* the path exists either way; only the parameter cannot be honoured */
    if (query.peers > 0 && !process_table_peers_enabled(server->table))
        return send_error(server, connection, MHD_HTTP_BAD_REQUEST, "peers: " PEERS_OFF_MESSAGE);
    size_t reserved;
    if (!json_reserve(server, JSON_PROCESSES, &reserved))
        return refuse_json_memory(server, connection);
    return send_reserved_json(server, connection, JSON_PROCESSES, reserved,
                              json_render_processes(server->table, &server->render, &query));
}

static enum MHD_Result serve_peers(struct http_server *server, struct MHD_Connection *connection)
{
    /* without the store there is no such resource, whatever the parameters say */
    if (!process_table_peers_enabled(server->table))
        return send_error(server, connection, MHD_HTTP_NOT_FOUND, PEERS_OFF_MESSAGE);
    struct peer_query query;
    peer_query_init(&query);
    struct query_parse parse = { .set = set_peer_parameter, .query = &query };
    if (!parse_arguments(connection, &parse))
        return send_error(server, connection, MHD_HTTP_BAD_REQUEST, parse.err);
    size_t reserved;
    if (!json_reserve(server, JSON_PEERS, &reserved))
        return refuse_json_memory(server, connection);
    return send_reserved_json(server, connection, JSON_PEERS, reserved,
                              json_render_peers(server->table, &server->render, &query));
}

static enum MHD_Result serve_status(struct http_server *server,
                                    struct MHD_Connection *connection)
{
    struct status_input input = {
        .version = TCPIP_EXPORTER_VERSION,
        .uptime_seconds = (double)(int64_t)((monotonic_seconds() - server->started) * 1000) / 1000,
        .scrapes = atomic_load(&server->scrapes),
        .config_json = server->config_json,
        .pid = process_id(),
    };
    fill_source(server, &input.has_source, &input.source);
    return send_json(server, connection, json_render_status(server->table, &input));
}

static enum MHD_Result serve_services(struct http_server *server,
                                      struct MHD_Connection *connection)
{
    return send_json(server, connection, json_render_services(server->table));
}

static enum MHD_Result serve_health(struct http_server *server,
                                    struct MHD_Connection *connection)
{
    static const char body[] = "{\"status\":\"ok\"}";
    struct MHD_Response *response = MHD_create_response_from_buffer(
        sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (response != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8");
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    return queue_body(server, connection, MHD_HTTP_OK, response, sizeof body - 1);
}

/* ---- the live page ---- */

static void add_page_headers(struct MHD_Response *response)
{
    MHD_add_response_header(response, "Content-Security-Policy", LIVE_PAGE_SECURITY_POLICY);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result serve_page(struct http_server *server, struct MHD_Connection *connection)
{
    char *html = live_page_html(server->telemetry_path, TCPIP_EXPORTER_VERSION);
    if (html == NULL)
        return send_error(server, connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    size_t length = strlen(html);
    struct response_body *body =
        response_body_wrap(&server->budget, html, length, length + 1, true);
    if (body == NULL) {
        free(html);
        return refuse(server, connection, HTTP_REJECT_RESPONSE_MEMORY,
                      MHD_HTTP_SERVICE_UNAVAILABLE,
                      "the memory for responses is in use by other clients; try again shortly");
    }
    struct MHD_Response *response = body_response(body, "text/html; charset=utf-8");
    if (response != NULL)
        add_page_headers(response);
    return queue_body(server, connection, MHD_HTTP_OK, response, length);
}

/* The page's script and style: static, so they cost no memory of the budget. */
static enum MHD_Result serve_page_file(struct http_server *server,
                                       struct MHD_Connection *connection,
                                       const struct live_page_file *file)
{
    struct MHD_Response *response = MHD_create_response_from_buffer(
        file->size, (void *)file->data, MHD_RESPMEM_PERSISTENT);
    if (response != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, file->content_type);
        /* revalidated each time: an upgraded exe must not run with an old script */
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        add_page_headers(response);
    }
    return queue_body(server, connection, MHD_HTTP_OK, response, file->size);
}

/* ---- basic authentication ---- */

/* A bcrypt queued for the verifier: the connection is suspended until done. The
 * credentials are copies, wiped when done; the policy is held until then. */
struct auth_check {
    struct http_server *server;
    struct MHD_Connection *connection;
    struct client *client;
    struct web_policy *policy;
    char *user, *password;
};

static void free_secret(char *secret)
{
    if (secret != NULL) {
        memset(secret, 0, strlen(secret));
        free(secret);
    }
}

static void auth_check_free(struct auth_check *check)
{
    free_secret(check->user);
    free_secret(check->password);
    free(check);
}

static bool auth_check_work(void *context)
{
    struct auth_check *check = context;
    return web_policy_check_user(check->policy, check->user, check->password,
                                 monotonic_seconds());
}

/* On the verifier's thread. The connection may go on (and end) once resumed: nothing of it
 * is touched after. */
static void auth_check_done(void *context, bool granted)
{
    struct auth_check *check = context;
    struct MHD_Connection *connection = check->connection;
    atomic_store(&check->client->auth, granted ? AUTH_GRANTED : AUTH_DENIED);
    web_policy_release(check->server->security, check->policy);
    auth_check_free(check);
    MHD_resume_connection(connection);
}

/* Credentials the cache does not know go to the verifier, which takes the policy
 * (*taken); the connection waits suspended (AUTH_PENDING) and comes back with its answer.
 * A full queue: AUTH_BUSY, at once or (once suspended) on the next call. */
static enum auth_state verify_later(struct http_server *server, struct MHD_Connection *connection,
                                    struct web_policy *policy, const char *user,
                                    const char *password, bool *taken)
{
    struct client *client = client_of(connection);
    struct auth_check *check = client != NULL ? calloc(1, sizeof *check) : NULL;
    if (check == NULL)
        return AUTH_BUSY;
    *check = (struct auth_check){server, connection, client, policy, copy_string(user),
                                 copy_string(password)};
    if (check->user == NULL || check->password == NULL) {
        auth_check_free(check);
        return AUTH_BUSY;
    }
    atomic_store(&client->auth, AUTH_PENDING);
    /* Suspended before the job can finish: its resume always finds the connection
     * suspended. */
    MHD_suspend_connection(connection);
    struct auth_job job = {auth_check_work, auth_check_done, check};
    if (auth_verifier_submit(server->verifier, &job)) {
        *taken = true;
        return AUTH_PENDING;
    }
    atomic_store(&client->auth, AUTH_BUSY);
    auth_check_free(check);
    MHD_resume_connection(connection); /* called again at once, and answered 503 */
    return AUTH_PENDING;
}

/* May the request go on? Yes when the web config names no users, /health is open by flag,
 * or the credentials are a user's: known from the cache at once, else from the verifier
 * (AUTH_PENDING: this call returns and the next one, after the resume, has the answer).
 * Nothing of the credentials is ever logged. */
static enum auth_state authorize(struct http_server *server, struct MHD_Connection *connection,
                                 const char *url)
{
    if (server->security == NULL)
        return AUTH_GRANTED;
    struct client *client = client_of(connection);
    int answer = client != NULL ? atomic_exchange(&client->auth, AUTH_NONE) : AUTH_NONE;
    if (answer == AUTH_GRANTED || answer == AUTH_DENIED || answer == AUTH_BUSY)
        return (enum auth_state)answer;   /* resumed with the verifier's answer */
    struct web_policy *policy = web_security_acquire(server->security);
    bool taken = false;
    enum auth_state state = !web_policy_needs_auth(policy) ||
                                    (server->health_without_auth && strcmp(url, "/health") == 0)
                                ? AUTH_GRANTED
                                : AUTH_DENIED;
    if (state == AUTH_DENIED) {
        char *password = NULL;
        char *user = MHD_basic_auth_get_username_password(connection, &password);
        if (user != NULL && password != NULL) {
            if (web_policy_user_cached(policy, user, password, monotonic_seconds()))
                state = AUTH_GRANTED;
            else
                state = verify_later(server, connection, policy, user, password, &taken);
        }
        if (password != NULL) {
            memset(password, 0, strlen(password));
            MHD_free(password);
        }
        if (user != NULL)
            MHD_free(user);
    }
    if (!taken)
        web_policy_release(server->security, policy);
    return state;
}

/* ---- dispatch ---- */

static enum MHD_Result not_found(struct http_server *server, struct MHD_Connection *connection,
                                 const char *url)
{
    char shown[81], message[200];
    utf8_from_image_name(url, shown, sizeof shown);   /* whole characters, valid UTF-8 */
    snprintf(message, sizeof message, "no such path '%s' (see / for the endpoints)", shown);
    return send_error(server, connection, MHD_HTTP_NOT_FOUND, message);
}

static enum MHD_Result dispatch(struct http_server *server, struct MHD_Connection *connection,
                                const char *url)
{
    if (strcmp(url, server->telemetry_path) == 0)
        return serve_metrics(server, connection);
    if (strcmp(url, "/api/v1/processes") == 0)
        return serve_processes(server, connection);
    if (strcmp(url, "/api/v1/peers") == 0)
        return serve_peers(server, connection);
    if (strcmp(url, "/api/v1/status") == 0)
        return serve_status(server, connection);
    if (strcmp(url, "/api/v1/services") == 0)
        return serve_services(server, connection);
    if (strcmp(url, "/health") == 0)
        return serve_health(server, connection);
    if (strcmp(url, "/") == 0)
        return serve_page(server, connection);
    struct live_page_file file;
    if (live_page_file(url, &file))
        return serve_page_file(server, connection, &file);
    return not_found(server, connection, url);
}

/* A GET carries a body when it says so; we never read one (RFC 9110: no meaning), and
 * waiting for it is how sixteen trickling clients used to hold every slot. */
static bool has_body(struct MHD_Connection *connection)
{
    const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL && strspn(length, "0") != strlen(length))
        return true;
    return MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* The refusal for a request we will not answer, or NULL; *reason says which. */
static const char *refusal(struct MHD_Connection *connection, const char *method,
                           const char *version, enum http_rejection *reason, unsigned *status,
                           char *text, size_t text_size)
{
    struct client *client = client_of(connection);
    *status = MHD_HTTP_BAD_REQUEST;
    *reason = HTTP_REJECT_BAD_REQUEST;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *status = MHD_HTTP_METHOD_NOT_ALLOWED;
        *reason = HTTP_REJECT_METHOD;
        char shown[33];
        utf8_from_image_name(method, shown, sizeof shown);
        snprintf(text, text_size, "method %s is not allowed (use GET or HEAD)", shown);
        return text;
    }
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST) == NULL)
        return "an HTTP/1.1 request needs a Host header (RFC 9112, section 3.2)";
    if (client != NULL && client->nul_in_request)
        return "the path or query holds a NUL character (%00)";
    if (has_body(connection)) {
        *reason = HTTP_REJECT_REQUEST_BODY;
        return "a GET or HEAD request must not carry a body";
    }
    return NULL;
}

/* First call: the head is in. Refusals go out now (libmicrohttpd closes the connection when
 * a body was announced); accepted requests are answered on the next call, once
 * libmicrohttpd knows there is no body, so the connection stays open for the next scrape. */
static enum MHD_Result first_call(struct http_server *server, struct MHD_Connection *connection,
                                  const char *method, const char *version, void **req_cls)
{
    struct client *client = client_of(connection);
    if (client != NULL)
        connection_guard_head_done(server->guard, client->guarded);
    enum http_rejection reason;
    unsigned status;
    char text[160];
    const char *why = refusal(connection, method, version, &reason, &status, text, sizeof text);
    *req_cls = &answered_marker;
    if (why != NULL)
        return refuse(server, connection, reason, status, why);
    if (atomic_fetch_add(&server->in_flight, 1) >= server->max_in_flight) {
        atomic_fetch_sub(&server->in_flight, 1);
        return refuse(server, connection, HTTP_REJECT_IN_FLIGHT, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "too many requests in flight; try again shortly");
    }
    atomic_fetch_add(&server->answering, 1);
    *req_cls = &in_flight_marker;
    return MHD_YES;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)upload_data;
    struct http_server *server = cls;
    if (*req_cls == NULL)
        return first_call(server, connection, method, version, req_cls);
    if (*upload_data_size != 0) {
        *upload_data_size = 0;   /* a refused request's body: discarded while closing */
        return MHD_YES;
    }
    if (*req_cls == &answered_marker || *req_cls == &accepted_marker)
        return MHD_YES;
    /* In flight only while the answer is being made (a bcrypt included): a client that
     * then reads slowly holds its connection and the body's memory (both capped), never a
     * slot. */
    enum auth_state auth = authorize(server, connection, url);
    if (auth == AUTH_PENDING)
        return MHD_YES;   /* suspended: called again with the answer */
    enum MHD_Result result =
        auth == AUTH_GRANTED
            ? dispatch(server, connection, url)
        : auth == AUTH_BUSY
            ? refuse(server, connection, HTTP_REJECT_AUTH_BUSY, MHD_HTTP_SERVICE_UNAVAILABLE,
                     "too many credentials waiting to be checked; try again shortly")
            : refuse(server, connection, HTTP_REJECT_UNAUTHORIZED, MHD_HTTP_UNAUTHORIZED,
                     "credentials needed: basic authentication with a user of the web config");
    *req_cls = &accepted_marker;
    atomic_fetch_sub(&server->in_flight, 1);
    return result;
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_server *server = cls;
    if (*req_cls == &in_flight_marker)   /* ended before its answer was made */
        atomic_fetch_sub(&server->in_flight, 1);
    if (*req_cls == &in_flight_marker || *req_cls == &accepted_marker)
        atomic_fetch_sub(&server->answering, 1);
    *req_cls = NULL;
    struct client *client = client_of(connection);
    if (client != NULL) {
        client->nul_in_request = false;
        connection_guard_request_done(server->guard, client->guarded);
    }
}

/* Connections start and end here: the guard counts them per address and watches them. */
static void connection_notified(void *cls, struct MHD_Connection *connection,
                                void **socket_context, enum MHD_ConnectionNotificationCode code)
{
    struct http_server *server = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct client *client = *socket_context;
        if (client != NULL) {
            connection_guard_closed(server->guard, client->guarded);
            free(client);
        }
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct client *client = calloc(1, sizeof *client);
    if (fd == NULL || addr == NULL || client == NULL) {
        free(client);
        if (fd != NULL)
            connection_socket_cut((listen_socket_t)fd->connect_fd);
        *socket_context = NULL;
        return;
    }
    uint8_t bytes[16];
    size_t length = socket_address_bytes(addr->client_addr, bytes);
    client->guarded = connection_guard_opened(server->guard, (listen_socket_t)fd->connect_fd,
                                              bytes, length);
    *socket_context = client;
}

/* libmicrohttpd's own unescaping, noting a NUL that would cut the path or a value short. */
static size_t unescape(void *cls, struct MHD_Connection *connection, char *text)
{
    (void)cls;
    size_t length = MHD_http_unescape(text);
    if (memchr(text, '\0', length) != NULL) {
        struct client *client = client_of(connection);
        if (client != NULL)
            client->nul_in_request = true;
    }
    return length;
}

/* ---- life cycle ---- */

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
    server->render.connections = r->connections; /* the caller's, alive until the stop */
    server->render.peers = r->peers;
    server->table = options->table;
    server->source_info = options->source_info;
    server->source_context = options->source_context;
    server->max_in_flight = options->max_in_flight;
    return true;
}

/* The response budget, the shared render and the connection guard. */
static bool make_parts(struct http_server *server, const struct http_server_options *options)
{
    response_budget_init(&server->budget, options->response_memory_bytes);
    server->renderer = metrics_renderer_create();
    struct shared_render_config shared = {
        .budget = &server->budget,
        .max_age_s = SHARED_RENDER_MAX_AGE_S,
        .render = render_metrics,
        .context = server,
    };
    server->shared = server->renderer != NULL ? shared_render_create(&shared) : NULL;
    struct connection_guard_config guard = {
        .per_address_cap = options->max_connections_per_ip,
        .connection_limit = options->max_connections * (unsigned)options->listen_count,
        .evict_after_s = EVICT_AFTER_S,
        .head_timeout_s = options->request_head_timeout_s,
        .idle_timeout_s = options->connection_timeout_s,
        .min_send_rate = (double)options->min_send_rate,
        .send_grace_s = options->request_head_timeout_s,
    };
    server->guard = server->shared != NULL ? connection_guard_create(&guard) : NULL;
    return server->guard != NULL;
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
    shared_render_destroy(server->shared);
    metrics_renderer_destroy(server->renderer);
    connection_guard_destroy(server->guard);
    auth_verifier_destroy(server->verifier);
    web_security_close(server->security);
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
    bool tls = server->security != NULL && web_security_tls(server->security);
    /* With TLS, each handshake asks web_security for the certificate in force, so a
     * rotated one is served without restarting the daemon. (An option array, so that the
     * plain daemon gets no TLS option at all.) */
    struct MHD_OptionItem tls_options[] = {
        { MHD_OPTION_HTTPS_CERT_CALLBACK, 0, NULL },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    if (tls) {
        /* a function pointer through libmicrohttpd's void *, as its manual says to pass it */
        tls_options[0].ptr_value = (void *)web_security_cert_callback();
        tls_options[1].ptr_value = (void *)web_security_priority(server->security);
    } else {
        tls_options[0].option = MHD_OPTION_END;
    }
    return MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
            (tls ? MHD_USE_TLS : 0), 0, NULL, NULL,
        handle_request, server,
        MHD_OPTION_ARRAY, tls_options,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)socket,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, connection_notified, server,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, server,
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
    while (atomic_load(&server->answering) > 0 && monotonic_seconds() < deadline) {
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    /* libmicrohttpd must not be stopped with a connection suspended: the verifier runs
     * what is queued and resumes every one. */
    auth_verifier_destroy(server->verifier);
    server->verifier = NULL;
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
        options->max_in_flight == 0 || options->request_head_timeout_s == 0 ||
        options->response_memory_bytes == 0) {
        snprintf(err, err_size, "http server: connection timeout, connection limit, "
                 "requests in flight, head timeout and response memory must all be set");
        return NULL;
    }
    if (options->telemetry_path != NULL && options->telemetry_path[0] != '/') {
        snprintf(err, err_size, "telemetry path '%.80s' must start with '/'",
                 options->telemetry_path);
        return NULL;
    }
    struct http_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        snprintf(err, err_size, "http server: out of memory");
        return NULL;
    }
    server->started = monotonic_seconds();
    if (!copy_options(server, options) || !make_parts(server, options)) {
        free_server(server);
        snprintf(err, err_size, "http server: out of memory");
        return NULL;
    }
    server->health_without_auth = options->health_without_auth;
    if (options->web_config_file != NULL) {
        server->security = web_security_open(options->web_config_file, &options->log, err,
                                             err_size);
        if (server->security == NULL) {
            free_server(server);
            return NULL;
        }
        server->verifier = auth_verifier_create(AUTH_QUEUE);
        if (server->verifier == NULL) {
            free_server(server);
            snprintf(err, err_size, "http server: out of memory or threads");
            return NULL;
        }
        if (web_security_tls(server->security) &&
            MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
            free_server(server);
            snprintf(err, err_size, "%s: TLS is configured, but this libmicrohttpd has no "
                     "HTTPS certificate callback", options->web_config_file);
            return NULL;
        }
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

const char *http_server_scheme(const struct http_server *server)
{
    return server->security != NULL && web_security_tls(server->security) ? "https" : "http";
}

void http_server_stop(struct http_server *server)
{
    if (server == NULL)
        return;
    stop_daemons(server);
    free_server(server);
}
