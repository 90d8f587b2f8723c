/* What the connection gauges add to a /metrics render: 1,000 processes, and a fake IP
 * Helper table of 10,000 connections and listeners over them, rescanned for every render
 * (the clock moves 2 s per call, past the 1 s cache), so the walk, the aggregation and the
 * gauges are all in the time. Prints the medians with and without, the difference (the
 * budget is 5 ms) and the ratio, both measured in this run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prometheus.h"
#include "table_fill.h"

enum { PROCESSES = 1000, CONNECTIONS = 10000, ROUNDS = 41 };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool fake_scan(void *context, struct connection_row **rows, size_t *count, char *error,
                      size_t error_size)
{
    (void)context;
    (void)error;
    (void)error_size;
    static const uint32_t states[] = { TCP_STATE_ESTABLISHED, TCP_STATE_ESTABLISHED,
                                       TCP_STATE_TIME_WAIT, TCP_STATE_CLOSE_WAIT,
                                       TCP_STATE_LISTEN, TCP_STATE_SYN_SENT };
    struct connection_row *r = malloc(CONNECTIONS * sizeof *r);
    if (!r)
        return false;
    for (uint32_t i = 0; i < CONNECTIONS; i++) {
        uint32_t state = states[i % 6];
        r[i] = (struct connection_row){
            .pid = state == TCP_STATE_TIME_WAIT ? 0 : 1000 + 4 * (i % PROCESSES),
            .tcp_state = state,
            .family = i % 3 == 0 ? FAMILY_IPV6 : FAMILY_IPV4,
            .protocol = i % 10 == 9 ? CONN_UDP : CONN_TCP,
            .local_port = (uint16_t)(state == TCP_STATE_LISTEN ? 1000 + i % 200 : 40000 + i % 20000),
        };
    }
    *rows = r;
    *count = CONNECTIONS;
    return true;
}

static uint64_t moving_clock(void *context)
{
    uint64_t *t = context;
    return *t += 2 * FILL_SECOND;
}

static double median_render(struct process_table *table, const struct render_options *options)
{
    struct metrics_renderer *renderer = metrics_renderer_create();
    struct text_buffer out;
    text_buffer_init(&out);
    struct exporter_self self = { .version = "bench" };
    double times[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double start = now_ms();
        if (!metrics_render(renderer, table, options, &self, METRICS_FORMAT_TEXT, &out))
            exit(1);
        times[r] = now_ms() - start;
    }
    qsort(times, ROUNDS, sizeof times[0], compare_doubles);
    text_buffer_free(&out);
    metrics_renderer_destroy(renderer);
    return times[ROUNDS / 2];
}

int main(void)
{
    struct process_table_config config = { .capacity = PROCESSES + 64 };
    struct process_table *table = process_table_create(&config);
    fill_many(table, PROCESSES);
    uint64_t clock = FILL_T0 + 3600 * FILL_SECOND; /* after every fill_many start */
    struct connection_cache cache;
    struct connection_cache_config cc = { .scan = fake_scan, .clock = moving_clock,
                                          .clock_context = &clock };
    char err[256];
    if (!connection_cache_init(&cache, &cc, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct render_options without = { 0 }, with = { .connections = &cache };
    /* interleaved twice, so a noisy moment hurts both alike */
    double a1 = median_render(table, &without), b1 = median_render(table, &with);
    double a2 = median_render(table, &without), b2 = median_render(table, &with);
    double base = (a1 + a2) / 2, gauges = (b1 + b2) / 2;
    struct connection_cache_stats stats = connection_cache_stats(&cache);
    printf("processes=%d connections=%d render_ms=%.3f with_connections_ms=%.3f "
           "added_ms=%.3f ratio=%.2f scans=%llu\n", PROCESSES, CONNECTIONS, base, gauges,
           gauges - base, gauges / base, (unsigned long long)stats.scans);
    connection_cache_destroy(&cache);
    process_table_destroy(table);
    return 0;
}
