/* Render time of /metrics for N processes: the median of many renders into a renderer
 * that keeps its memory, as the server does. Prints one line:
 *   processes=N series=S bytes=B render_ms=M   */
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

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    if (rounds < 1 || rounds > 10000)
        rounds = 50;
    struct process_table_config config = { .capacity = n + 64 };
    struct process_table *table = process_table_create(&config);
    fill_many(table, n);
    struct metrics_renderer *renderer = metrics_renderer_create();
    struct text_buffer out;
    text_buffer_init(&out);
    struct render_options options = { 0 };
    struct exporter_self self = { .version = "bench" };
    double *times = calloc((size_t)rounds, sizeof *times);
    for (int r = 0; r < rounds; r++) {
        double start = now_ms();
        if (!metrics_render(renderer, table, &options, &self, METRICS_FORMAT_TEXT, &out))
            return 1;
        times[r] = now_ms() - start;
    }
    qsort(times, (size_t)rounds, sizeof *times, compare_doubles);
    size_t series = 0;
    for (size_t i = 0; i < out.length; i++) {
        if (out.data[i] == '\n' && i + 1 < out.length && out.data[i + 1] != '#')
            series++;
    }
    printf("processes=%u series=%zu bytes=%zu render_ms=%.3f\n", n, series, out.length,
           times[rounds / 2]);
    free(times);
    text_buffer_free(&out);
    metrics_renderer_destroy(renderer);
    process_table_destroy(table);
    return 0;
}
