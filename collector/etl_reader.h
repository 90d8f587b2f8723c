/* Reading ETL files as one stream of records in time order. Buffers are written per
 * processor, so each file is split into one stream per processor (each in time order
 * already) and the streams of all files are merged by timestamp with a heap: memory stays
 * at one buffer per stream whatever the file sizes. Internal to the collector. */
#ifndef TCPIP_EXPORTER_ETL_READER_H
#define TCPIP_EXPORTER_ETL_READER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "etl_records.h"

struct etl_reader;

struct etl_reader_counts {
    uint64_t files;
    uint64_t bytes_total;          /* sum of the file sizes */
    uint64_t bytes_read;           /* of buffers loaded so far (file bytes) */
    uint64_t buffers;              /* loaded so far */
    uint64_t records;              /* record headers walked */
    uint64_t unknown_header_kinds; /* records of a header kind we cannot parse */
    uint64_t damaged_files;
    uint64_t file_events_lost;     /* sum of the logfile headers' EventsLost */
};

enum etl_reader_status {
    ETL_READER_OK = 0,
    ETL_READER_NOT_ETL,            /* a file is not ETL: nothing is read from any file */
    ETL_READER_IO_ERROR,           /* a file cannot be opened or read */
    ETL_READER_CANCELLED,          /* *cancel became true while the files were indexed */
};

/* Open every file and check it before anything is read, so a wrong argument is refused
 * before a single record is handed out. On failure *reader is NULL and error says why.
 * cancel (NULL: never) asks to stop: it is looked at while indexing and before each buffer
 * is loaded, after which etl_reader_next returns NULL and etl_reader_cancelled true. */
enum etl_reader_status etl_reader_open(const char *const *paths, size_t count,
                                       const atomic_bool *cancel, struct etl_reader **reader,
                                       char *error, size_t error_size);

/* The next record of a class we decode (TcpIp, UdpIp, Process, RT_LostEvent), in time
 * order across all files, its timestamp converted to FILETIME units; NULL at the end.
 * The record and its payload stay valid until the next call. Records of other classes
 * and kinds are walked and counted, not returned. */
const struct etl_record *etl_reader_next(struct etl_reader *reader);

void etl_reader_counts(const struct etl_reader *reader, struct etl_reader_counts *counts);

/* The first damage found in any file ("FILE: offset N: what"), or NULL. */
const char *etl_reader_error(const struct etl_reader *reader);

/* True when the records ended because cancel was set, not at the end of the files. */
bool etl_reader_cancelled(const struct etl_reader *reader);

void etl_reader_close(struct etl_reader *reader);

#endif
