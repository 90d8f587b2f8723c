/* Replay throughput, meson benchmark('etl_replay'): two traces written by the test writer
 * (plain and LZ77-compressed buffers, N TcpIp send/receive records over 4 processors and
 * 1000 processes), each replayed end to end into a table. The time is split into reading
 * buffers, decompression, parsing + merging, and table update (decode + apply), and set
 * against a baseline measured in the same run: a plain sequential fread of the same file.
 *
 * Usage: bench_etl [RECORDS] (default 3000000). Numbers go to stdout; BENCH_ETL_KEEP=1
 * keeps the two trace files (bench_etl_plain.etl, bench_etl_compressed.etl) for profiling. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etl_file.h"
#include "etl_format.h"
#include "etl_reader.h"
#include "etl_replay.h"
#include "etl_scenarios.h"
#include "process_table.h"
#include "xca_lz77.h"

#define PROCESSES 1000u
#define PROCESSORS 4u
#define REPEATS 3

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_trace(const char *path, uint64_t records, bool compress)
{
    struct etl_writer_config c = { .compress = compress };
    struct etl_writer *w = etl_writer_create(&c);
    for (uint32_t p = 0; p < PROCESSES; p++) {
        char name[32];
        snprintf(name, sizeof name, "proc%u.exe", p);
        scenario_process(w, (uint16_t)(p % PROCESSORS), ETL_HDR_SYSTEM64, 8, 3, p, 1000 + 4 * p,
                         0xffff800000000000ull + p, name);
    }
    uint32_t seed = 1;
    for (uint64_t i = 0; i < records; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t pid = 1000 + 4 * ((seed >> 8) % PROCESSES);
        uint8_t opcode = (seed >> 20) & 1 ? 10 : 11;
        scenario_tcp(w, (uint16_t)(i % PROCESSORS), ETL_HDR_PERFINFO64, 8, opcode,
                     PROCESSES + i, pid, 64 + (seed >> 24));
    }
    if (!etl_writer_save(w, path)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    etl_writer_free(w);
}

/* Baseline: the whole file through fread, 1 MiB at a time. */
static double time_fread(const char *path, uint64_t *bytes)
{
    static char chunk[1 << 20];
    double t = now();
    FILE *f = fopen(path, "rb");
    size_t n;
    *bytes = 0;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        *bytes += n;
    if (f)
        fclose(f);
    return now() - t;
}

/* Reading and decompressing every buffer alone, timed apart. */
static void time_buffers(const char *path, double *read_s, double *decompress_s)
{
    struct etl_file f;
    char error[512];
    if (etl_file_open(&f, path, NULL, error, sizeof error) != ETL_OPEN_OK) {
        fprintf(stderr, "%s\n", error);
        exit(1);
    }
    uint8_t *raw = malloc(ETL_MAX_BUFFER_SIZE), *out = malloc(ETL_MAX_BUFFER_SIZE);
    FILE *fp = fopen(path, "rb");
    *read_s = *decompress_s = 0;
    double t = now();
    for (size_t i = 0; i < f.buffer_count; i++) {
        const struct etl_buffer_ref *b = &f.buffers[i];
        bool packed = b->flags & ETL_BUFFER_FLAG_COMPRESSED;
        uint32_t n = packed ? b->size : b->filled;
        if (fseeko(fp, (off_t)b->offset, SEEK_SET) != 0 || fread(raw, 1, n, fp) != n)
            exit(1);
        if (packed) {
            double d = now();
            size_t produced, at;
            xca_lz77_decompress(raw + ETL_BUFFER_HEADER_SIZE, b->size - ETL_BUFFER_HEADER_SIZE,
                                out, b->filled - ETL_BUFFER_HEADER_SIZE, &produced, &at);
            *decompress_s += now() - d;
        }
    }
    *read_s = now() - t - *decompress_s;
    fclose(fp);
    free(raw);
    free(out);
    etl_file_close(&f);
}

/* The reader alone: read, decompress, walk, merge; nothing decoded. */
static double time_reader(const char *path, uint64_t *records)
{
    const char *paths[] = { path };
    struct etl_reader *r;
    char error[512];
    double t = now();
    if (etl_reader_open(paths, 1, NULL, &r, error, sizeof error) != ETL_READER_OK)
        exit(1);
    uint64_t n = 0;
    while (etl_reader_next(r))
        n++;
    etl_reader_close(r);
    *records = n;
    return now() - t;
}

/* services_first: as the exporter replays, the SystemConfig services read first. */
static double time_replay(const char *path, bool services_first,
                          struct etl_replay_report *report)
{
    const char *paths[] = { path };
    struct process_table *table = process_table_create(NULL);
    struct etl_replay_options options = {.services_first = services_first};
    double t = now();
    if (etl_replay_run(table, paths, 1, &options, report) != ETL_REPLAY_OK) {
        fprintf(stderr, "replay failed: %s\n", report->error);
        exit(1);
    }
    t = now() - t;
    process_table_destroy(table);
    return t;
}

static double best(double a, double b) { return a < b ? a : b; }

static void bench(const char *label, const char *path, uint64_t tcp_records)
{
    double fread_s = 1e9, read_s = 1e9, decomp_s = 1e9, reader_s = 1e9, replay_s = 1e9,
           served_s = 1e9;
    uint64_t bytes = 0, fed = 0;
    struct etl_replay_report report;
    for (int i = 0; i < REPEATS; i++) {
        double r, d;
        fread_s = best(fread_s, time_fread(path, &bytes));
        time_buffers(path, &r, &d);
        read_s = best(read_s, r);
        decomp_s = best(decomp_s, d);
        reader_s = best(reader_s, time_reader(path, &fed));
        replay_s = best(replay_s, time_replay(path, false, &report));
        served_s = best(served_s, time_replay(path, true, &report));
    }
    double mb = (double)bytes / 1e6;
    double parse_s = reader_s - read_s - decomp_s;
    double table_s = replay_s - reader_s;
    printf("%s: %" PRIu64 " TcpIp records (+%u process), %.1f MB file, %" PRIu64 " buffers\n",
           label, tcp_records, PROCESSES, mb, report.buffers);
    printf("  baseline fread of the file:  %7.3f s  %8.0f MB/s\n", fread_s, mb / fread_s);
    printf("  reading buffers:             %7.3f s\n", read_s);
    printf("  decompression:               %7.3f s\n", decomp_s);
    printf("  parsing + merge:             %7.3f s\n", parse_s > 0 ? parse_s : 0);
    printf("  table update (decode+apply): %7.3f s\n", table_s > 0 ? table_s : 0);
    printf("  end to end:                  %7.3f s  %6.1f M records/s  %7.0f MB/s  "
           "(%.2fx the fread baseline's time)\n", replay_s, (double)fed / replay_s / 1e6,
           mb / replay_s, replay_s / fread_s);
    printf("  services read first (aggregate-by-name, paced or looping): %7.3f s  %6.1f M records/s  "
           "(%.2fx the time without)\n", served_s, (double)fed / served_s / 1e6,
           served_s / replay_s);
}

int main(int argc, char **argv)
{
    uint64_t records = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
    const char *plain = "bench_etl_plain.etl", *packed = "bench_etl_compressed.etl";
    write_trace(plain, records, false);
    write_trace(packed, records, true);
    bench("uncompressed", plain, records);
    bench("compressed", packed, records);
    if (!getenv("BENCH_ETL_KEEP")) {
        remove(plain);
        remove(packed);
    }
    return 0;
}
