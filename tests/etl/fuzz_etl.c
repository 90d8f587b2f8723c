/* libFuzzer target: an arbitrary file through the whole replay path (reader, LZ77,
 * record walker, merge, decoder, table and its peer stores, summary with peers), plus the
 * LZ77 decoder alone on the raw input. The peers' sums must equal the rows' counters. Any crash, leak or sanitizer report is a bug; garbage must end in a clean error.
 * Built only with -Dfuzzing=true (clang). Seeds: tests/etl/corpus. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl_replay.h"
#include "process_table.h"
#include "summary.h"
#include "xca_lz77.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *sink;

/* Totals over every instance, from the rows and from the peers' readings: equal once the
 * writer is done (the peers reading gives covered counters as sums over peers and other). */
struct totals {
    uint64_t v[FAMILY_COUNT][CTR_COUNT];
};

static void add_row(const struct process_view *row, void *context)
{
    struct totals *t = context;
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            t->v[f][c] += row->counters[f][c];
}

static void add_peers(const struct process_peers *entry, void *context)
{
    add_row(entry->process, context);
}

static void count_name(const struct name_peers *entry, void *context)
{
    *(size_t *)context += entry->count;
}

static void check_peer_sums(const struct process_table *table)
{
    struct totals rows = {{{0}}}, peers = {{{0}}};
    process_table_foreach(table, add_row, &rows);
    if (!process_table_foreach_peers(table, add_peers, &peers))
        abort();
    if (memcmp(&rows, &peers, sizeof rows) != 0)
        abort();
    size_t named = 0;
    process_table_foreach_name_peers(table, count_name, &named);
}

static void decompress_alone(const uint8_t *data, size_t size)
{
    static uint8_t out[1 << 16];
    size_t produced = 0, at = 0;
    /* The first two bytes pick an output size, so short outputs overflow too. */
    size_t cap = size >= 2 ? (size_t)(data[0] | data[1] << 8) : sizeof out;
    (void)xca_lz77_decompress(data, size, out, cap < sizeof out ? cap : sizeof out,
                              &produced, &at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz_etl_%ld.etl", (long)getpid());
        sink = fopen("/dev/null", "w");
    }
    decompress_alone(data, size);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    /* A small table, so the overflow row is reached too, and a small peer store, so
     * evictions, refusals and shown places changing hands are. */
    struct process_table_config config = {
        .capacity = 16, .retention = 10000000, .peer_capacity = 32, .peers_per_process = 4,
        .peers_shown = 2, .peer_ipv4_prefix = size & 2 ? 24 : 32, .peers_by_name = true,
    };
    struct process_table *table = process_table_create(&config);
    if (!table)
        abort();
    const char *paths[] = { path, path }; /* the same file twice: the merge of two files */
    struct etl_replay_report report;
    enum etl_replay_status st =
        etl_replay_files(table, paths, 1 + (size & 1), NULL, NULL, &report);
    if (st == ETL_REPLAY_OK || st == ETL_REPLAY_DAMAGED) {
        struct summary_options options = { .peers = true };
        summary_print_with(sink, table, &report, &options);
    }
    check_peer_sums(table);
    process_table_destroy(table);
    return 0;
}
