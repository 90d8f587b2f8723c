/* Render time of /metrics for N processes: the median of many renders into a renderer
 * that keeps its memory, as the server does. Prints one line:
 *   processes=N series=S bytes=B render_ms=M
 *
 * With --peers N PEERS [ROUNDS]: N processes talking to PEERS remote peers each (all of
 * them shown), rendered with --collector.peers and without it from the same table.
 * Issue 11 asks for the render with peers within 3x of the one without, per series; the
 * line gives ratios only, which hold from one machine to another:
 *   peers processes=N peers_per_process=P series_off=S0 series_on=S1 render_ratio=R
 *   per_series_ratio=Q within_3x=yes|no   */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prometheus.h"
#include "table_fill.h"

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

static size_t series_of(const struct text_buffer *out)
{
    size_t series = 0;
    for (size_t i = 0; i < out->length; i++) {
        if (out->data[i] == '\n' && i + 1 < out->length && out->data[i + 1] != '#')
            series++;
    }
    return series;
}

/* The median render time of options over rounds renders (ms); series of the last. */
static double median_render(const struct process_table *table,
                            const struct render_options *options, int rounds, size_t *series,
                            size_t *bytes)
{
    struct metrics_renderer *renderer = metrics_renderer_create();
    struct text_buffer out;
    text_buffer_init(&out);
    struct exporter_self self = { .version = "bench" };
    double *times = calloc((size_t)rounds, sizeof *times);
    if (renderer == NULL || times == NULL)
        exit(1);
    for (int r = 0; r < rounds; r++) {
        double start = now_ms();
        if (!metrics_render(renderer, table, options, &self, METRICS_FORMAT_TEXT, &out))
            exit(1);
        times[r] = now_ms() - start;
    }
    qsort(times, (size_t)rounds, sizeof *times, compare_doubles);
    double median = times[rounds / 2];
    *series = series_of(&out);
    *bytes = out.length;
    free(times);
    text_buffer_free(&out);
    metrics_renderer_destroy(renderer);
    return median;
}

static int rounds_of(const char *text)
{
    int rounds = text ? atoi(text) : 50;
    return rounds < 1 || rounds > 10000 ? 50 : rounds;
}

static int bench_processes(unsigned n, int rounds)
{
    struct process_table_config config = { .capacity = n + 64 };
    struct process_table *table = process_table_create(&config);
    fill_many(table, n);
    struct render_options options = { 0 };
    size_t series, bytes;
    double ms = median_render(table, &options, rounds, &series, &bytes);
    printf("processes=%u series=%zu bytes=%zu render_ms=%.3f\n", n, series, bytes, ms);
    process_table_destroy(table);
    return 0;
}

/* The same table rendered both ways, alternately, so both see the same machine state. */
static int bench_peers(unsigned n, unsigned peers, int rounds)
{
    unsigned capacity = n * peers < 256 ? 256 : n * peers;
    struct process_table_config config = {
        .capacity = n + 64, .peer_capacity = capacity, .peers_per_process = peers,
        .peers_shown = peers,
    };
    struct process_table *table = process_table_create(&config);
    if (table == NULL)
        return 1;
    fill_many_peers(table, n, peers);
    struct render_options off = { 0 }, on = { .peers = true };
    size_t series_off, series_on, bytes;
    double off_ms = 0, on_ms = 0;
    for (int pass = 0; pass < 3; pass++) { /* the best of three medians: less noise */
        double a = median_render(table, &off, rounds, &series_off, &bytes);
        double b = median_render(table, &on, rounds, &series_on, &bytes);
        off_ms = pass == 0 || a < off_ms ? a : off_ms;
        on_ms = pass == 0 || b < on_ms ? b : on_ms;
    }
    double per_series = (on_ms / (double)series_on) / (off_ms / (double)series_off);
    printf("peers processes=%u peers_per_process=%u series_off=%zu series_on=%zu "
           "render_ratio=%.2f per_series_ratio=%.2f within_3x=%s\n", n, peers, series_off,
           series_on, on_ms / off_ms, per_series, per_series <= 3.0 ? "yes" : "no");
    process_table_destroy(table);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--peers") == 0) {
        unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1000;
        unsigned peers = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 16;
        if (n == 0 || n > 100000 || peers == 0 || peers > PROCESS_TABLE_MAX_PEERS_PER_PROCESS)
            return 2;
        return bench_peers(n, peers, rounds_of(argc > 4 ? argv[4] : NULL));
    }
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
    return bench_processes(n, rounds_of(argc > 2 ? argv[2] : NULL));
}
