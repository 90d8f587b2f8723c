/* Replaying recorded ETL files through the same decoder and table as the live session. */
#ifndef TCPIP_EXPORTER_ETL_REPLAY_H
#define TCPIP_EXPORTER_ETL_REPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "process_table.h"

/* What one replay saw beyond what the table counts. */
struct etl_replay_report {
    uint64_t files;
    uint64_t bytes_read;
    uint64_t buffers;
    uint64_t records;              /* every record header walked */
    uint64_t records_fed;          /* records handed to process_table_feed */
    uint64_t unknown_header_kinds; /* records of a header kind we cannot parse: skipped */
    uint64_t damaged_files;        /* files that ended in an error (see error) */
    uint64_t file_events_lost;     /* sum of the logfile headers' EventsLost */
    uint64_t passes;               /* passes over the files begun (a loop makes several) */
    uint64_t process_records_skipped; /* looping: process exits, and later passes' starts */
    char error[512];               /* first error: "FILE: offset N: what was wrong" */
};

enum etl_replay_status {
    ETL_REPLAY_OK = 0,
    ETL_REPLAY_DAMAGED = 1,        /* a file was truncated or corrupt; data before it counted */
    ETL_REPLAY_NOT_ETL = 2,        /* a file is not an ETL file at all; nothing of it fed */
    ETL_REPLAY_IO_ERROR = 3,       /* cannot open or read a file */
    ETL_REPLAY_STOPPED = 4,        /* *cancel was set: ended early; what was fed is counted */
};

/* How a replay runs: as fast as the files read or paced by the trace's timestamps; once,
 * or in a loop until stopped. */
struct etl_replay_options {
    double speed;                  /* 0: as fast as the files read; else trace time runs
                                    * this many times as fast as wall time (1: real time) */
    bool loop;                     /* at the end, again, as more of the same run (no process
                                    * exits; later passes continue the first's instances;
                                    * timestamps move on by the trace's span each pass) */
    const atomic_bool *cancel;     /* set from any thread to stop; NULL: never */
    FILE *progress;                /* progress lines go here; NULL: none */
    atomic_uint_fast64_t *passes;  /* NULL, or incremented as each pass ends */
    uint64_t max_passes;           /* looping: end after this many passes; 0: never */
    bool services_first;           /* read the files' SystemConfig services before their
                                    * events (one more read of the files), so processes
                                    * carry their services from their first event, as live:
                                    * what a replay served to scrapers wants; a summary,
                                    * printed at the end, does not need it */
};

#define ETL_REPLAY_SPEED_MIN 0.001
#define ETL_REPLAY_SPEED_MAX 1000000.0

/* Replay the files as options say (see etl_replay_files for the rest). A loop ends on a
 * stop, on damage or an unreadable file, or after a first pass that fed nothing. */
enum etl_replay_status etl_replay_run(struct process_table *table, const char *const *paths,
                                      size_t count, const struct etl_replay_options *options,
                                      struct etl_replay_report *report);

/* "off" (0), "realtime" (1) or a factor ("10", "0.5", "10x") within the bounds above. */
bool etl_replay_parse_speed(const char *text, double *speed);

/* Replay the files, in time order across all their buffers, into the table (the caller's
 * thread is the table's writer). With progress non-NULL, prints progress lines there.
 * Setting *cancel (from any thread; NULL: never) ends the replay within one buffer or one
 * block of a file's zero tail, so a stop never waits for the end of a large trace. */
enum etl_replay_status etl_replay_files(struct process_table *table, const char *const *paths,
                                        size_t count, const atomic_bool *cancel, FILE *progress,
                                        struct etl_replay_report *report);

#endif
