/* libFuzzer target: an arbitrary file through the whole replay path (reader, LZ77,
 * record walker, merge, decoder, table, summary), plus the LZ77 decoder alone on the raw
 * input. Any crash, leak or sanitizer report is a bug; garbage must end in a clean error.
 * Built only with -Dfuzzing=true (clang). Seeds: tests/etl/corpus. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "etl_replay.h"
#include "process_table.h"
#include "summary.h"
#include "xca_lz77.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static FILE *sink;

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
    /* A small table, so the overflow row is reached too. */
    struct process_table_config config = { .capacity = 16, .retention = 10000000 };
    struct process_table *table = process_table_create(&config);
    if (!table)
        abort();
    const char *paths[] = { path, path }; /* the same file twice: the merge of two files */
    struct etl_replay_report report;
    enum etl_replay_status st =
        etl_replay_files(table, paths, 1 + (size & 1), NULL, NULL, &report);
    if (st == ETL_REPLAY_OK || st == ETL_REPLAY_DAMAGED)
        summary_print(sink, table, &report);
    process_table_destroy(table);
    return 0;
}
