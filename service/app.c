/* The running exporter: the table, one event source writing it (a replay thread or the
 * live kernel session) and the HTTP server reading it.
 *
 * Start order is table, then whatever the HTTP server's source_info callback reads, then
 * the server, then (for a replay) the writer thread. So the callback never sees a field
 * being written: the replay thread publishes its outcome with one release store, and the
 * live session pointer is set before the server exists. Stop order is the reverse: no
 * scrape is running when the source and the table go away. */
#include "app.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector/etl_replay.h"
#include "../collector/file_open.h"
#include "../collector/live_session.h"
#include "../collector/process_table.h"
#include "../collector/service_scan.h"
#include "../collector/connection_scan.h"
#include "../exporter/http_server.h"
#include "exit_code.h"
#include "log.h"

/* The collector's log lines go to the service's sinks (stderr or the Event Log). */
_Static_assert(COLLECTOR_LOG_ERROR == (int)LOG_ERROR && COLLECTOR_LOG_WARN == (int)LOG_WARN &&
                   COLLECTOR_LOG_INFO == (int)LOG_INFO && COLLECTOR_LOG_DEBUG == (int)LOG_DEBUG,
               "collector and service log levels must line up");

static void collector_to_log(void *context, enum collector_log_level level, const char *message)
{
    (void)context;
    log_msg((enum log_level)level, "%s", message);
}

struct app {
    struct config config;            /* shallow copy: strings stay the caller's */
    struct process_table *table;
    char *config_json;
    struct http_server *http;

    bool is_replay;
    /* live source */
    struct live_session_claim *claim; /* held from before the port is bound until the end */
    /* Scrapes may come while the session is being started (the port is bound first), so
     * live and live_refusal are published by live_state (release), read after it (acquire). */
    struct live_session *live;
    struct service_scanner *services; /* live only: which services each process hosts */
    struct connection_cache connections; /* live only: open connections, read when scraped */
    bool has_connections;
    char live_refusal[256];          /* why live_session_start said no */
    atomic_int live_state;           /* LIVE_STARTING, LIVE_STARTED */
    /* replay source */
    pthread_t replay_thread;
    bool replay_thread_started;
    atomic_bool replay_finished;     /* release-stored after replay_status and report */
    atomic_bool replay_cancel;       /* set by app_stop: the replay ends within a buffer */
    atomic_uint_fast64_t replay_passes; /* passes ended, for the source's reason */
    double replay_speed;             /* 0: unpaced */
    enum etl_replay_status replay_status;
    struct etl_replay_report report;
};

/* Copies what fits: the replay's error line may be longer than the status field. */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t len = strnlen(src, size - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void *replay_main(void *arg)
{
    struct app *app = arg;
    struct etl_replay_options options = {
        .speed = app->replay_speed,
        .loop = app->config.etl_loop,
        .cancel = &app->replay_cancel,
        .passes = &app->replay_passes,
        /* Read the trace's services first where it changes what scrapes see: totals by
         * name split by service from the first event, and labels right while a paced or
         * looping replay is watched. A replay at full speed ends at once with every row's
         * services known: there it would only cost a second read of the files. */
        .services_first = app->config.aggregate_by_name || app->replay_speed > 0 ||
                          app->config.etl_loop,
    };
    enum etl_replay_status status = etl_replay_run(app->table, app->config.etl_files,
                                                   app->config.etl_count, &options,
                                                   &app->report);
    app->replay_status = status;
    atomic_store_explicit(&app->replay_finished, true, memory_order_release);

    if (status == ETL_REPLAY_OK)
        log_msg(LOG_INFO, "replay finished: %" PRIu64 " records from %" PRIu64 " file(s)",
                app->report.records, app->report.files);
    else if (status == ETL_REPLAY_DAMAGED)
        log_msg(LOG_ERROR, "replay stopped at damage, data before it is served: %s",
                app->report.error);
    else if (status == ETL_REPLAY_STOPPED)
        log_msg(LOG_INFO, "replay stopped on request after %" PRIu64 " records",
                app->report.records);
    else
        log_msg(LOG_ERROR, "replay failed: %s", app->report.error);
    return NULL;
}

static void replay_info(struct app *app, struct source_info *info)
{
    info->kind = "etl";
    if (!atomic_load_explicit(&app->replay_finished, memory_order_acquire)) {
        info->up = true;
        if (app->config.etl_loop)
            snprintf(info->reason, sizeof info->reason, "replaying %zu file(s) in a loop, "
                     "pass %" PRIuFAST64, app->config.etl_count,
                     atomic_load_explicit(&app->replay_passes, memory_order_relaxed) + 1);
        else
            snprintf(info->reason, sizeof info->reason, "replaying %zu file(s)",
                     app->config.etl_count);
        return;
    }
    /* finished: nothing below changes any more */
    info->replay_done = true;
    info->events_lost = app->report.file_events_lost;
    switch (app->replay_status) {
    case ETL_REPLAY_OK:
        info->up = true;
        snprintf(info->reason, sizeof info->reason, "replayed %" PRIu64 " file(s)",
                 app->report.files);
        break;
    case ETL_REPLAY_STOPPED: /* only while stopping; served for completeness */
        info->up = true;
        copy_text(info->reason, sizeof info->reason, app->report.error);
        break;
    case ETL_REPLAY_DAMAGED:
        info->up = true; /* what was read before the damage is served */
        info->replay_damaged = true;
        copy_text(info->reason, sizeof info->reason, app->report.error);
        break;
    case ETL_REPLAY_NOT_ETL:
    case ETL_REPLAY_IO_ERROR:
        info->up = false;
        copy_text(info->reason, sizeof info->reason, app->report.error);
        break;
    }
}

enum { LIVE_STARTING = 0, LIVE_STARTED = 1 };

static void live_info(struct app *app, struct source_info *info)
{
    info->kind = "etw";
    if (atomic_load_explicit(&app->live_state, memory_order_acquire) != LIVE_STARTED) {
        info->up = false;
        snprintf(info->reason, sizeof info->reason, "starting");
        return;
    }
    if (app->live == NULL) {
        info->up = false;
        snprintf(info->reason, sizeof info->reason, "%s", app->live_refusal);
        return;
    }
    struct live_session_status status;
    live_session_status(app->live, &status);
    info->up = status.up;
    snprintf(info->reason, sizeof info->reason, "%s", status.reason);
    info->restarts = status.restarts;
    info->events_lost = status.events_lost;
    info->buffers_lost = status.buffers_lost;
    info->has_buffers = true;
    info->buffers_written = status.buffers_written;
    info->buffers_allocated = status.buffers_allocated;
    info->buffers_free = status.buffers_free;
    info->min_buffers = status.min_buffers;
    info->max_buffers = status.max_buffers;
}

static void source_info(void *context, struct source_info *info)
{
    struct app *app = context;
    memset(info, 0, sizeof *info);
    if (app->is_replay)
        replay_info(app, info);
    else
        live_info(app, info);
}

/* Fail fast on a mistyped file name instead of serving a source that is down. */
static bool check_files_readable(const struct config *config, char *err, size_t err_size)
{
    for (size_t i = 0; i < config->etl_count; i++) {
        char why[256];
        FILE *file = file_open_read(config->etl_files[i], why, sizeof why);
        if (file == NULL) {
            snprintf(err, err_size, "--etl: %s: %s", config->etl_files[i], why);
            return false;
        }
        fclose(file);
    }
    return true;
}

static void free_app(struct app *app)
{
    if (app->has_connections)
        connection_cache_destroy(&app->connections);
    live_session_release(app->claim);
    if (app->table != NULL)
        process_table_destroy(app->table);
    free(app->config_json);
    free(app);
}

static bool start_http(struct app *app, char *err, size_t err_size)
{
    const struct config *c = &app->config;
    struct http_server_options options = {
        .listen = c->listen,
        .listen_count = c->listen_count,
        .telemetry_path = c->telemetry_path,
        .render = {
            .aggregate_by_name = c->aggregate_by_name,
            .include = c->include,
            .include_count = c->include_count,
            .exclude = c->exclude,
            .exclude_count = c->exclude_count,
            .connections = app->has_connections ? &app->connections : NULL,
            .peers = c->peers,
        },
        .connection_timeout_s = c->connection_timeout_s,
        .max_connections = c->max_connections,
        .max_connections_per_ip = c->max_connections_per_ip,
        .max_in_flight = c->max_in_flight,
        .request_head_timeout_s = c->request_head_timeout_s,
        .min_send_rate = c->min_send_rate,
        .response_memory_bytes = (uint64_t)c->max_response_memory_mib << 20,
        .table = app->table,
        .source_info = source_info,
        .source_context = app,
        .config_json = app->config_json,
        .web_config_file = c->web_config_file,
        .health_without_auth = c->health_without_auth,
        .log = { .fn = collector_to_log },
    };
    app->http = http_server_start(&options, err, err_size);
    return app->http != NULL;
}

void app_table_config(const struct config *config, struct process_table_config *out)
{
    /* a summary prints instances, never names: no second store for it */
    bool peers = config->peers || (config->summary && config->summary_peers);
    *out = (struct process_table_config){
        .capacity = config->capacity,
        .retention = config->retention,
        .peer_capacity = peers ? config->peer_capacity : 0,
        .peers_per_process = config->peers_per_process,
        .peers_shown = config->peers_top,
        .peer_ipv4_prefix = (uint8_t)config->peer_ipv4_prefix, /* 1..32, checked */
        .peer_ipv6_prefix = (uint8_t)config->peer_ipv6_prefix, /* 1..128 */
        .peers_by_name = peers && config->aggregate_by_name && !config->summary,
    };
}

struct app *app_start(const struct config *config, char *err, size_t err_size)
{
    if (config->etl_count > 0 && !check_files_readable(config, err, err_size))
        return NULL;

    struct app *app = calloc(1, sizeof *app);
    if (app == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    app->config = *config;
    app->config.owned_strings = NULL; /* the caller's config keeps owning them */
    app->is_replay = config->etl_count > 0;
    atomic_init(&app->replay_finished, false);
    atomic_init(&app->replay_cancel, false);
    atomic_init(&app->replay_passes, 0);
    /* checked by the config already; without --etl.pace a loop runs in real time, so that
     * it shows live rates instead of spinning a core */
    app->replay_speed = config->etl_loop ? 1 : 0;
    if (config->etl_pace != NULL)
        etl_replay_parse_speed(config->etl_pace, &app->replay_speed);
    app->config_json = config_to_json(config);

    struct process_table_config table_config;
    app_table_config(config, &table_config);
    /* Live, remote hosts choose what is hashed: keyed at random (a replay's input is the
     * user's own, and stays reproducible). Without randomness, the fixed hash. */
    if (!app->is_replay && table_config.peer_capacity != 0 &&
        gnutls_rnd(GNUTLS_RND_NONCE, &table_config.peer_hash_seed,
                   sizeof table_config.peer_hash_seed) != 0) {
        log_msg(LOG_WARN, "peers: no random seed for the peer hash; using a fixed one");
        table_config.peer_hash_seed = 0;
    }
    app->table = process_table_create(&table_config);
    if (app->table == NULL) {
        snprintf(err, err_size, "cannot allocate a table of %" PRIu32 " rows and %" PRIu32
                 " peers", config->capacity, table_config.peer_capacity);
        free_app(app);
        return NULL;
    }

    struct live_session_config session = config->session;
    session.log = (struct collector_log){ .fn = collector_to_log };
    /* Claim, bind, then start the session: a second instance (on the same session or on a
     * busy port) must fail before it has touched the running one's kernel session. */
    if (!app->is_replay) {
        app->claim = live_session_claim(&session, err, err_size);
        if (app->claim == NULL) {
            free_app(app);
            return NULL;
        }
    }
    atomic_init(&app->live_state, LIVE_STARTING);
    if (!app->is_replay) {
        /* the connection gauges are the machine's now: meaningless beside a replay */
        struct connection_cache_config connections = { 0 };
        char why[256];
        app->has_connections = connection_cache_init(&app->connections, &connections, why,
                                                     sizeof why);
        if (!app->has_connections)
            log_msg(LOG_WARN, "no connection gauges: %s", why);
    }
    if (!start_http(app, err, err_size)) {
        free_app(app);
        return NULL;
    }
    if (!app->is_replay) {
        char why[sizeof app->live_refusal];
        app->live = live_session_start(app->table, &session, app->claim, why, sizeof why);
        if (app->live == NULL)
            snprintf(app->live_refusal, sizeof app->live_refusal, "%s", why);
        atomic_store_explicit(&app->live_state, LIVE_STARTED, memory_order_release);
        if (app->live == NULL)
            log_msg(LOG_WARN, "event source down, serving anyway: %s", app->live_refusal);
        char services_why[256];
        app->services = service_scanner_start(app->table, &session.log, services_why,
                                              sizeof services_why);
        if (app->services == NULL)
            log_msg(LOG_DEBUG, "no service names: %s", services_why);
    }

    if (app->is_replay) {
        int rc = pthread_create(&app->replay_thread, NULL, replay_main, app);
        if (rc != 0) {
            snprintf(err, err_size, "cannot start the replay thread: %s", strerror(rc));
            http_server_stop(app->http);
            free_app(app);
            return NULL;
        }
        app->replay_thread_started = true;
        log_msg(LOG_INFO, "replaying %zu ETL file(s)%s", config->etl_count,
                config->etl_loop ? " in a loop" : "");
    }
    return app;
}

int app_stop(struct app *app)
{
    if (app == NULL)
        return 0;
    /* the replay starts winding down now, so joining it below takes at most a buffer */
    atomic_store(&app->replay_cancel, true);
    /* readers first: after this no scrape touches the table or the source */
    http_server_stop(app->http);
    service_scanner_stop(app->services); /* it offers lists to the table: before the table */

    int exit_code = EXIT_OK;
    if (app->live != NULL && !live_session_stop(app->live)) {
        /* its consumer thread may still write the table: leave both to the process's end */
        log_msg(LOG_ERROR, "stopping: the live session did not end in time; exiting anyway");
        app->table = NULL;
        exit_code = EXIT_SYSTEM_ERROR;
    }
    if (app->replay_thread_started) {
        pthread_join(app->replay_thread, NULL);
        if (app->replay_status == ETL_REPLAY_DAMAGED)
            exit_code = EXIT_DAMAGED_TRACE;
        else if (app->replay_status != ETL_REPLAY_OK
                 && app->replay_status != ETL_REPLAY_STOPPED)
            exit_code = EXIT_BAD_TRACE; /* a replay cut short by the stop is a clean stop */
    }
    free_app(app);
    return exit_code;
}

const char *app_scheme(const struct app *app)
{
    return http_server_scheme(app->http);
}
