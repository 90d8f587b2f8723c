/* A stand-alone exporter for the HTTP tests and the benchmark: fills a table with made-up
 * processes, serves it with http_server_start, and stops when its standard input closes.
 * With --writer a second thread keeps applying events (the table's single writer) while
 * clients scrape, with numbers chosen so that a reader can check every row:
 *   process "w<pid>g<gen>.exe", tcp_sent_bytes == tcp_send_events * (pid + gen). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_server.h"
#include "bytes.h"
#include "table_fill.h"

#define MAX_LISTEN 8
#define MAX_FILTERS 8
#define WRITER_PIDS 200

struct settings {
    const char *listen[MAX_LISTEN];
    size_t listen_count;
    const char *include[MAX_FILTERS];
    size_t include_count;
    const char *exclude[MAX_FILTERS];
    size_t exclude_count;
    struct http_server_options http;
    uint32_t processes;
    uint32_t capacity;
    bool writer;
    bool weird;
    bool markup;                 /* image names that are HTML and script, for the page */
    unsigned source_delay_ms;
};

static atomic_bool stop_writer;
static atomic_uint_fast64_t writer_rounds;

static void sleep_ms(unsigned ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* Sleeps when asked to, so that a test can hold requests in flight. */
static void source_info(void *context, struct source_info *info)
{
    const struct settings *s = context;
    if (s->source_delay_ms)
        sleep_ms(s->source_delay_ms);
    info->kind = "etl";
    info->up = true;
    info->replay_done = true;
    info->events_lost = 5;
    info->buffers_lost = 1;
    info->restarts = 0;
    snprintf(info->reason, sizeof info->reason, "test server: \"made-up\" table");
}

static void *writer_main(void *context)
{
    struct process_table *table = context;
    uint32_t gen[WRITER_PIDS] = { 0 };
    uint64_t t = FILL_T0 + 1000 * FILL_SECOND;
    char name[64];
    for (uint32_t i = 0; i < WRITER_PIDS; i++) {
        uint32_t pid = 50000 + 4 * i;
        snprintf(name, sizeof name, "w%" PRIu32 "g0.exe", pid);
        fill_start(table, pid, name, pid, t);
    }
    uint64_t round = 0;
    while (!atomic_load(&stop_writer)) {
        for (uint32_t i = 0; i < WRITER_PIDS; i++) {
            uint32_t pid = 50000 + 4 * i;
            fill_net(table, NET_TCP_SEND, FAMILY_IPV4, pid, pid + gen[i], t);
            fill_net(table, NET_TCP_RECV, FAMILY_IPV4, pid, 1, t);
            /* now and then the process exits and its pid comes back as a new one */
            if ((round + i) % 97 == 0) {
                snprintf(name, sizeof name, "w%" PRIu32 "g%" PRIu32 ".exe", pid, gen[i]);
                fill_end(table, pid, name, pid, t);
                gen[i]++;
                snprintf(name, sizeof name, "w%" PRIu32 "g%" PRIu32 ".exe", pid, gen[i]);
                fill_start(table, pid, name, pid, t + 1);
            }
        }
        t += FILL_SECOND / 100;
        process_table_housekeep(table, t);
        atomic_store(&writer_rounds, ++round);
    }
    return NULL;
}

static bool parse(struct settings *s, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--writer") == 0) {
            s->writer = true;
            continue;
        }
        if (strcmp(flag, "--weird-names") == 0) {
            s->weird = true;
            continue;
        }
        if (strcmp(flag, "--markup-names") == 0) {
            s->markup = true;
            continue;
        }
        if (strcmp(flag, "--aggregate") == 0) {
            s->http.render.aggregate_by_name = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s needs a value\n", flag);
            return false;
        }
        const char *value = argv[++i];
        unsigned long number = strtoul(value, NULL, 10);
        if (strcmp(flag, "--listen") == 0 && s->listen_count < MAX_LISTEN)
            s->listen[s->listen_count++] = value;
        else if (strcmp(flag, "--include") == 0 && s->include_count < MAX_FILTERS)
            s->include[s->include_count++] = value;
        else if (strcmp(flag, "--exclude") == 0 && s->exclude_count < MAX_FILTERS)
            s->exclude[s->exclude_count++] = value;
        else if (strcmp(flag, "--processes") == 0)
            s->processes = (uint32_t)number;
        else if (strcmp(flag, "--capacity") == 0)
            s->capacity = (uint32_t)number;
        else if (strcmp(flag, "--telemetry-path") == 0)
            s->http.telemetry_path = value;
        else if (strcmp(flag, "--timeout") == 0)
            s->http.connection_timeout_s = (unsigned)number;
        else if (strcmp(flag, "--max-connections") == 0)
            s->http.max_connections = (unsigned)number;
        else if (strcmp(flag, "--per-ip") == 0)
            s->http.max_connections_per_ip = (unsigned)number;
        else if (strcmp(flag, "--max-in-flight") == 0)
            s->http.max_in_flight = (unsigned)number;
        else if (strcmp(flag, "--head-timeout") == 0)
            s->http.request_head_timeout_s = (unsigned)number;
        else if (strcmp(flag, "--min-send-rate") == 0)
            s->http.min_send_rate = number;
        else if (strcmp(flag, "--response-memory-mib") == 0)
            s->http.response_memory_bytes = (uint64_t)number << 20;
        else if (strcmp(flag, "--source-delay-ms") == 0)
            s->source_delay_ms = (unsigned)number;
        else if (strcmp(flag, "--config-json") == 0)
            s->http.config_json = value;
        else {
            fprintf(stderr, "unknown flag %s\n", flag);
            return false;
        }
    }
    return s->listen_count > 0;
}

int main(int argc, char **argv)
{
    static struct settings s;
    /* The server has no defaults of its own; these are the test server's (the exporter's
     * defaults, but a longer idle timeout), overridden by the flags above. */
    s.http.connection_timeout_s = 30;
    s.http.max_connections = 1024;
    s.http.max_connections_per_ip = 16;
    s.http.max_in_flight = 16;
    s.http.request_head_timeout_s = 5;
    s.http.min_send_rate = 65536;
    s.http.response_memory_bytes = (uint64_t)64 << 20;
    if (!parse(&s, argc, argv)) {
        fprintf(stderr, "usage: %s --listen ADDR [--processes N] [--writer] ...\n", argv[0]);
        return 2;
    }
    struct process_table_config config = {
        .capacity = s.capacity ? s.capacity : s.processes + 2 * WRITER_PIDS + 64,
        .retention = 2 * FILL_SECOND,
    };
    struct process_table *table = process_table_create(&config);
    if (table == NULL) {
        fprintf(stderr, "cannot create the table\n");
        return 1;
    }
    fill_many(table, s.processes);
    if (s.weird) {
        /* quote, backslash, newline, Latin-1, UTF-8, and a name that only differs in case */
        const char *names[] = { "say \"hi\".exe", "back\\slash.exe", "new\nline.exe",
                                "caf\xe9.exe", "\xe6\x97\xa5\xe6\x9c\xac.exe", "PROC0.EXE" };
        for (uint32_t i = 0; i < ARRAY_SIZE(names); i++) {
            fill_start(table, 30000 + 4 * i, names[i], 30000 + i, FILL_T0);
            fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 30000 + 4 * i, 10 + i, FILL_T0);
        }
    }
    if (s.markup) {
        const char *names[] = { "<img src=x onerror=console.error(1)>.exe",
                                "</td><script>console.error(2)</script>.exe",
                                "\"'><b>&amp;.exe" };
        for (uint32_t i = 0; i < ARRAY_SIZE(names); i++) {
            fill_start(table, 40000 + 4 * i, names[i], 40000 + i, FILL_T0);
            fill_net(table, NET_TCP_SEND, FAMILY_IPV4, 40000 + 4 * i, 1000000 + i, FILL_T0);
        }
    }
    s.http.listen = s.listen;
    s.http.listen_count = s.listen_count;
    s.http.render.include = s.include;
    s.http.render.include_count = s.include_count;
    s.http.render.exclude = s.exclude;
    s.http.render.exclude_count = s.exclude_count;
    s.http.table = table;
    s.http.source_info = source_info;
    s.http.source_context = &s;

    char err[512];
    struct http_server *server = http_server_start(&s.http, err, sizeof err);
    if (server == NULL) {
        fprintf(stderr, "error: %s\n", err);
        process_table_destroy(table);
        return 1;
    }
    pthread_t writer;
    if (s.writer && pthread_create(&writer, NULL, writer_main, table) != 0) {
        fprintf(stderr, "cannot start the writer\n");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (getchar() != EOF) {
    }
    http_server_stop(server);
    if (s.writer) {
        atomic_store(&stop_writer, true);
        pthread_join(writer, NULL);
    }
    printf("stopped after %" PRIu64 " writer rounds\n", (uint64_t)atomic_load(&writer_rounds));
    fflush(stdout);
    process_table_destroy(table);
    return 0;
}
