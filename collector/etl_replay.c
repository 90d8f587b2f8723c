/* Replay: the reader's records, in time order, into the table through the same entry
 * point the live session uses; the table is housekept on trace time as it would be live,
 * so retention behaves the same.
 *
 * Paced, the replay waits until the wall clock reaches each record's place in the trace
 * (scaled by the speed), so rates look as they did when it was recorded. Looping, each
 * pass is more of the same run: its timestamps move on by the length of the trace, so
 * trace time never goes back, and its process records do not begin new instances. */
#include "etl_replay.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "decode.h"
#include "etl_reader.h"
#include "replay_clock.h"

/* Checking the clock costs more than a record; look at it every this many records. */
#define PROGRESS_CHECK_EVERY 65536u
/* Trace time between two housekeeping calls: once a second, as the live session does. */
#define HOUSEKEEP_INTERVAL 10000000ull
/* A loop's period is the trace's span, but at least this (100 ns ticks): a trace of one
 * instant must not become a loop that spins. */
#define MIN_LOOP_PERIOD 10000000ull
/* Paced: a record this close to its time is fed at once (ns); the longest single sleep,
 * so that a stop is seen within it. */
#define PACE_SLACK_NS 1000000ull
#define PACE_SLEEP_MAX_NS 100000000ull

struct pacer {
    double ns_per_tick;      /* 100 / speed */
    bool started;
    uint64_t trace_origin;   /* first record's (shifted) timestamp */
    uint64_t wall_origin;    /* replay_clock_now_ns when it was fed */
    uint64_t latest;         /* latest timestamp waited for: earlier ones need no wait */
};

struct run {
    struct process_table *table;
    const struct etl_replay_options *options;
    struct etl_replay_report *report;
    struct pacer pacer;
    unsigned pass;           /* 0 for the first */
    uint64_t offset;         /* added to every timestamp of this pass */
    uint64_t first_min, first_max; /* raw timestamps seen in the first pass */
    uint64_t pass_fed;
    uint64_t next_housekeep;
    uint64_t last_time;
    bool paced_stop;         /* the pacer saw the cancel while waiting */
};

static bool cancelled(const atomic_bool *cancel)
{
    return cancel != NULL && atomic_load(cancel);
}

/* Wait until the wall clock reaches the record's place in the trace; false when a stop
 * came meanwhile. */
static bool pace(struct pacer *p, uint64_t timestamp, const atomic_bool *cancel)
{
    if (!p->started) {
        p->started = true;
        p->trace_origin = p->latest = timestamp;
        p->wall_origin = replay_clock_now_ns();
        return true;
    }
    if (timestamp <= p->latest)
        return true; /* slightly out of order, or the same instant: already waited for */
    p->latest = timestamp;
    uint64_t due = p->wall_origin
                   + (uint64_t)((double)(timestamp - p->trace_origin) * p->ns_per_tick);
    for (;;) {
        uint64_t now = replay_clock_now_ns();
        if (now + PACE_SLACK_NS >= due)
            return true;
        if (cancelled(cancel))
            return false;
        uint64_t wait = due - now;
        replay_clock_sleep_ns(wait < PACE_SLEEP_MAX_NS ? wait : PACE_SLEEP_MAX_NS);
    }
}

static void add_counts(struct etl_replay_report *report, const struct etl_reader_counts *c)
{
    report->files = c->files;
    report->bytes_read += c->bytes_read;
    report->buffers += c->buffers;
    report->records += c->records;
    report->unknown_header_kinds += c->unknown_header_kinds;
    report->damaged_files += c->damaged_files;
    report->file_events_lost += c->file_events_lost;
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

/* In a loop no process exits (it runs again in the next pass), and passes after the first
 * begin no instance (the first pass's instances go on counting). True when the record
 * was applied or skipped here; false leaves it to process_table_feed. */
static bool loop_process_record(struct run *run, const struct trace_record *rec)
{
    struct trace_fact fact;
    if (rec->event_class != TRACE_CLASS_PROCESS || decode_record(rec, &fact) != DECODE_OK
        || fact.kind != FACT_PROCESS)
        return false;
    enum process_op op = fact.u.process.op;
    bool starts = op == PROC_START || op == PROC_DCSTART;
    if (!starts || run->pass > 0) {
        run->report->process_records_skipped++;
        return true;
    }
    process_table_apply(run->table, &fact, rec->timestamp);
    return true;
}

static void feed(struct run *run, const struct trace_record *raw)
{
    struct trace_record rec = *raw;
    rec.timestamp += run->offset;
    if (!run->options->loop || !loop_process_record(run, &rec))
        process_table_feed(run->table, &rec);
    run->report->records_fed++;
    run->pass_fed++;
    run->last_time = rec.timestamp;
    if (rec.timestamp >= run->next_housekeep) {
        process_table_housekeep(run->table, rec.timestamp);
        run->next_housekeep = rec.timestamp + HOUSEKEEP_INTERVAL;
    }
}

static void note_first_pass_time(struct run *run, uint64_t raw)
{
    if (run->pass > 0)
        return;
    if (run->pass_fed == 0 || raw < run->first_min)
        run->first_min = raw;
    if (run->pass_fed == 0 || raw > run->first_max)
        run->first_max = raw;
}

/* The files opened for one pass; else the report says why. */
static enum etl_replay_status open_pass(struct run *run, const char *const *paths,
                                        size_t count, struct etl_reader **reader)
{
    struct etl_replay_report *report = run->report;
    enum etl_reader_status st = etl_reader_open(paths, count, run->options->cancel, reader,
                                                report->error, sizeof report->error);
    if (st == ETL_READER_OK)
        return ETL_REPLAY_OK;
    report->files = count;
    if (st == ETL_READER_CANCELLED)
        snprintf(report->error, sizeof report->error, "stopped while opening the files");
    return open_failed(st);
}

/* The services a trace says run are in its SystemConfig records, which WPR, xperf and
 * PerfView write at its end, after every event. Read first, they name the services of
 * each process from its first event on, as the live session's scan of the SCM does:
 * otherwise a svchost.exe would count its whole trace under no service, and by name
 * (aggregate mode) under service="" alone. A process the trace starts anew still starts
 * with none (its Start says so), and the records apply once more at the end as they come.
 * Only the records' class is looked at before one is decoded. */
static enum etl_replay_status prescan_services(struct run *run, const char *const *paths,
                                               size_t count)
{
    struct etl_replay_report *report = run->report;
    struct etl_reader *reader;
    enum etl_replay_status opened = open_pass(run, paths, count, &reader);
    if (opened != ETL_REPLAY_OK)
        return opened;
    const struct etl_record *r;
    while ((r = etl_reader_next(reader)) != NULL) {
        struct trace_fact fact;
        if (r->rec.event_class == TRACE_CLASS_SYSCONFIG &&
            decode_record(&r->rec, &fact) == DECODE_OK && fact.kind == FACT_SERVICE)
            process_table_prime_service(run->table, &fact.u.service);
    }
    process_table_flush_services(run->table);
    bool stopped = etl_reader_cancelled(reader);
    etl_reader_close(reader);
    if (stopped) {
        snprintf(report->error, sizeof report->error, "stopped before the end of the files");
        return ETL_REPLAY_STOPPED;
    }
    /* Damage shows in the pass that follows, which replays up to it. */
    return ETL_REPLAY_OK;
}

/* One pass over the files. */
static enum etl_replay_status replay_pass(struct run *run, const char *const *paths,
                                          size_t count)
{
    const struct etl_replay_options *o = run->options;
    struct etl_replay_report *report = run->report;
    struct etl_reader *reader;
    enum etl_replay_status opened = open_pass(run, paths, count, &reader);
    if (opened != ETL_REPLAY_OK)
        return opened;

    const struct etl_record *r;
    struct etl_reader_counts counts;
    time_t last_print = time(NULL);
    bool printed = false;
    run->pass_fed = 0;
    while ((r = etl_reader_next(reader)) != NULL) {
        if (o->speed > 0 && !pace(&run->pacer, r->rec.timestamp + run->offset, o->cancel)) {
            run->paced_stop = true;
            break;
        }
        note_first_pass_time(run, r->rec.timestamp);
        feed(run, &r->rec);
        if (o->progress && report->records_fed % PROGRESS_CHECK_EVERY == 0) {
            time_t now = time(NULL);
            if (now != last_print) {
                last_print = now;
                etl_reader_counts(reader, &counts);
                print_progress(o->progress, &counts, report->records_fed, "");
                printed = true;
            }
        }
    }
    if (run->pass_fed)
        process_table_housekeep(run->table, run->last_time);

    etl_reader_counts(reader, &counts);
    if (o->progress && printed)
        print_progress(o->progress, &counts, report->records_fed, "\n");
    add_counts(report, &counts);
    const char *damage = etl_reader_error(reader);
    bool stopped = etl_reader_cancelled(reader) || run->paced_stop;
    if (damage)
        snprintf(report->error, sizeof report->error, "%s", damage);
    else if (stopped)
        snprintf(report->error, sizeof report->error, "stopped before the end of the files");
    etl_reader_close(reader);
    if (damage)
        return ETL_REPLAY_DAMAGED;
    return stopped ? ETL_REPLAY_STOPPED : ETL_REPLAY_OK;
}

static uint64_t loop_period(const struct run *run)
{
    uint64_t span = run->first_max - run->first_min + 1;
    return span > MIN_LOOP_PERIOD ? span : MIN_LOOP_PERIOD;
}

enum etl_replay_status etl_replay_run(struct process_table *table, const char *const *paths,
                                      size_t count, const struct etl_replay_options *options,
                                      struct etl_replay_report *report)
{
    memset(report, 0, sizeof *report);
    struct run run = {
        .table = table,
        .options = options,
        .report = report,
        .pacer = { .ns_per_tick = options->speed > 0 ? 100.0 / options->speed : 0 },
    };
    enum etl_replay_status prescan =
        options->services_first ? prescan_services(&run, paths, count) : ETL_REPLAY_OK;
    if (prescan != ETL_REPLAY_OK)
        return prescan;
    for (;;) {
        enum etl_replay_status st = replay_pass(&run, paths, count);
        report->passes++;
        if (options->passes)
            atomic_fetch_add_explicit(options->passes, 1, memory_order_relaxed);
        /* a damaged file ends the loop: replaying up to the damage again and again would
         * hide it behind a source that looks up */
        if (st != ETL_REPLAY_OK || !options->loop)
            return st;
        if (run.pass == 0 && run.pass_fed == 0)
            return st; /* nothing to repeat: a loop would only spin */
        if (options->max_passes != 0 && report->passes >= options->max_passes)
            return st;
        if (cancelled(options->cancel)) {
            snprintf(report->error, sizeof report->error, "stopped between two passes");
            return ETL_REPLAY_STOPPED;
        }
        run.offset += loop_period(&run);
        run.pass++;
    }
}

enum etl_replay_status etl_replay_files(struct process_table *table, const char *const *paths,
                                        size_t count, const atomic_bool *cancel, FILE *progress,
                                        struct etl_replay_report *report)
{
    struct etl_replay_options options = { .cancel = cancel, .progress = progress };
    return etl_replay_run(table, paths, count, &options, report);
}

bool etl_replay_parse_speed(const char *text, double *speed)
{
    if (strcmp(text, "off") == 0) {
        *speed = 0;
        return true;
    }
    if (strcmp(text, "realtime") == 0) {
        *speed = 1;
        return true;
    }
    /* digits and a point, and an optional "x" ("10x" reads as it is meant): strtod alone
     * would also take blanks, signs, hex, "inf" and "nan" */
    size_t digits = strspn(text, "0123456789.");
    if (digits == 0 || strcmp(text + digits, text[digits] == 'x' ? "x" : "") != 0)
        return false;
    char *end;
    double v = strtod(text, &end);
    if (end != text + digits)
        return false; /* "1.2.3", "." */
    if (!(v >= ETL_REPLAY_SPEED_MIN && v <= ETL_REPLAY_SPEED_MAX))
        return false; /* also NaN */
    *speed = v;
    return true;
}
