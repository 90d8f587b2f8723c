/* Replay: the reader's records, in time order, into the table through the same entry
 * point the live session uses; the table is housekept on trace time as it would be live,
 * so retention behaves the same. */
#include "etl_replay.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>
#include "etl_reader.h"

/* Checking the clock costs more than a record; look at it every this many records. */
#define PROGRESS_CHECK_EVERY 65536u
/* Trace time between two housekeeping calls: once a second, as the live session does. */
#define HOUSEKEEP_INTERVAL 10000000ull

static void copy_counts(struct etl_replay_report *report, const struct etl_reader_counts *c)
{
    report->files = c->files;
    report->bytes_read = c->bytes_read;
    report->buffers = c->buffers;
    report->records = c->records;
    report->unknown_header_kinds = c->unknown_header_kinds;
    report->damaged_files = c->damaged_files;
    report->file_events_lost = c->file_events_lost;
}

static void print_progress(FILE *progress, const struct etl_reader_counts *c,
                           uint64_t records_fed, const char *end)
{
    unsigned percent = c->bytes_total ? (unsigned)(c->bytes_read * 100 / c->bytes_total) : 100;
    fprintf(progress, "\rreplay: %3u%% of %" PRIu64 " MB, %" PRIu64 " records, %" PRIu64
            " fed%s", percent, c->bytes_total >> 20, c->records, records_fed, end);
    fflush(progress);
}

static enum etl_replay_status open_failed(enum etl_reader_status st)
{
    switch (st) {
    case ETL_READER_NOT_ETL:
        return ETL_REPLAY_NOT_ETL;
    case ETL_READER_CANCELLED:
        return ETL_REPLAY_STOPPED;
    default:
        return ETL_REPLAY_IO_ERROR;
    }
}

enum etl_replay_status etl_replay_files(struct process_table *table, const char *const *paths,
                                        size_t count, const atomic_bool *cancel, FILE *progress,
                                        struct etl_replay_report *report)
{
    memset(report, 0, sizeof *report);
    struct etl_reader *reader;
    enum etl_reader_status st = etl_reader_open(paths, count, cancel, &reader, report->error,
                                                sizeof report->error);
    if (st != ETL_READER_OK) {
        report->files = count;
        if (st == ETL_READER_CANCELLED)
            snprintf(report->error, sizeof report->error, "stopped while opening the files");
        return open_failed(st);
    }

    const struct etl_record *r;
    struct etl_reader_counts counts;
    uint64_t next_housekeep = 0;
    uint64_t last_time = 0;
    time_t last_print = time(NULL);
    bool printed = false;
    while ((r = etl_reader_next(reader)) != NULL) {
        process_table_feed(table, &r->rec);
        report->records_fed++;
        last_time = r->rec.timestamp;
        if (last_time >= next_housekeep) {
            process_table_housekeep(table, last_time);
            next_housekeep = last_time + HOUSEKEEP_INTERVAL;
        }
        if (progress && report->records_fed % PROGRESS_CHECK_EVERY == 0) {
            time_t now = time(NULL);
            if (now != last_print) {
                last_print = now;
                etl_reader_counts(reader, &counts);
                print_progress(progress, &counts, report->records_fed, "");
                printed = true;
            }
        }
    }
    if (report->records_fed)
        process_table_housekeep(table, last_time);

    etl_reader_counts(reader, &counts);
    if (progress && printed)
        print_progress(progress, &counts, report->records_fed, "\n");
    copy_counts(report, &counts);
    const char *damage = etl_reader_error(reader);
    bool stopped = etl_reader_cancelled(reader);
    if (damage)
        snprintf(report->error, sizeof report->error, "%s", damage);
    else if (stopped)
        snprintf(report->error, sizeof report->error, "stopped before the end of the files");
    etl_reader_close(reader);
    if (damage)
        return ETL_REPLAY_DAMAGED;
    return stopped ? ETL_REPLAY_STOPPED : ETL_REPLAY_OK;
}
