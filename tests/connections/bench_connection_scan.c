/* Aggregating a table of 10,000 connections (collector/connection_scan.h) into a snapshot:
 * the time per connection_snapshot_build, beside a baseline measured in the same run, a
 * plain copy of the same rows into a fresh allocation (what any scan must at least do with
 * its rows). The machine is noisy, so each figure is the best of several interleaved runs
 * and the ratio is the number to compare between runs. Exits 0 either way. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connection_scan.h"

enum { ROWS = 10000, PIDS = 300, RUNS = 7, ITERATIONS = 200 };

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint32_t rnd_state = 0x9E3779B9u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

/* Shaped like a busy server: most rows ESTABLISHED or TIME_WAIT (owned by pid 0), some
 * listeners, a fifth IPv6, a tenth UDP. */
static void make_rows(struct connection_row *rows)
{
    for (size_t i = 0; i < ROWS; i++) {
        uint32_t r = rnd();
        struct connection_row *row = &rows[i];
        row->pid = 4 * (1 + r % PIDS);
        row->family = (r >> 9) % 5 == 0 ? FAMILY_IPV6 : FAMILY_IPV4;
        row->local_port = (uint16_t)(1024 + (r >> 12) % 40000);
        row->protocol = (r >> 28) % 10 == 0 ? CONN_UDP : CONN_TCP;
        uint32_t kind = (r >> 20) % 10;
        row->tcp_state = kind < 5   ? TCP_STATE_ESTABLISHED
                         : kind < 8 ? TCP_STATE_TIME_WAIT
                         : kind < 9 ? TCP_STATE_LISTEN
                                    : 1 + (r >> 24) % 12;
        if (row->tcp_state == TCP_STATE_TIME_WAIT)
            row->pid = 0;
    }
}

static volatile uint64_t sink;

static int64_t time_copy(const struct connection_row *rows)
{
    int64_t start = now_ns();
    for (int i = 0; i < ITERATIONS; i++) {
        struct connection_row *copy = malloc(ROWS * sizeof *copy);
        if (copy == NULL)
            abort();
        memcpy(copy, rows, ROWS * sizeof *copy);
        sink += copy[i % ROWS].pid;
        free(copy);
    }
    return (now_ns() - start) / ITERATIONS;
}

static int64_t time_build(const struct connection_row *rows)
{
    int64_t start = now_ns();
    for (int i = 0; i < ITERATIONS; i++) {
        struct connection_snapshot *s = connection_snapshot_build(rows, ROWS, 0, 0);
        if (s == NULL)
            abort();
        sink += s->pid_count + s->listener_count;
        connection_snapshot_release(s);
    }
    return (now_ns() - start) / ITERATIONS;
}

int main(void)
{
    struct connection_row *rows = malloc(ROWS * sizeof *rows);
    if (rows == NULL)
        return 1;
    make_rows(rows);
    int64_t best_copy = INT64_MAX, best_build = INT64_MAX;
    for (int run = 0; run < RUNS; run++) {
        int64_t copy = time_copy(rows), built = time_build(rows);
        if (copy < best_copy)
            best_copy = copy;
        if (built < best_build)
            best_build = built;
    }
    struct connection_snapshot *s = connection_snapshot_build(rows, ROWS, 0, 0);
    if (s == NULL)
        return 1;
    printf("connection snapshot of %d rows: %zu pids, %zu listeners\n", ROWS, s->pid_count,
           s->listener_count);
    connection_snapshot_release(s);
    printf("copy (baseline): %8.1f us per table\n", (double)best_copy / 1000.0);
    printf("aggregate:       %8.1f us per table, %.1f ns per row, %.1fx the copy\n",
           (double)best_build / 1000.0, (double)best_build / ROWS,
           (double)best_build / (double)(best_copy > 0 ? best_copy : 1));
    free(rows);
    return 0;
}
