/* One ETL file: its logfile header, the index of its buffers, and loading (reading and
 * decompressing) one buffer. Portable stdio only; 64-bit offsets on every platform. */
#ifndef TCPIP_EXPORTER_ETL_FILE_H
#define TCPIP_EXPORTER_ETL_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Larger buffers than this are taken for damage (ETW itself caps them far lower). */
#define ETL_MAX_BUFFER_SIZE (16u * 1024u * 1024u)

struct etl_buffer_ref {
    uint64_t offset;        /* in the file */
    uint32_t size;          /* BufferSize: bytes in the file */
    uint32_t filled;        /* FilledBytes: bytes of the (decompressed) image */
    uint16_t flags;         /* BufferFlag */
    uint16_t processor;     /* ProcessorIndex */
};

/* What the logfile header says; the clock fields turn raw timestamps into FILETIMEs. */
struct etl_file_info {
    uint32_t pointer_size;      /* 4 or 8 */
    uint32_t clock_type;        /* enum etl_clock_type, as recorded */
    uint32_t cpu_mhz;
    uint32_t events_lost;
    uint32_t buffers_lost;
    uint32_t num_processors;
    uint32_t buffer_size;       /* the session's buffer size: no buffer holds more */
    uint64_t perf_freq;
    uint64_t start_time;        /* FILETIME of header_timestamp */
    uint64_t header_timestamp;  /* raw clock value of the logfile header record */
};

struct etl_file {
    FILE *fp;
    const char *path;
    uint64_t size;
    uint64_t position;          /* where fp is, to skip needless seeks */
    struct etl_file_info info;
    struct etl_buffer_ref *buffers;
    size_t buffer_count;
    bool damaged;
    char error[512];            /* "PATH: offset N: what was wrong", the first damage */
    const atomic_bool *cancel;  /* true: stop indexing (a stop was asked); may be NULL */
};

/* A loaded buffer: the 72-byte header and valid data, decompressed when it was. */
struct etl_buffer_image {
    uint8_t *data;
    uint32_t size;
    uint32_t capacity;
    uint8_t *raw;               /* scratch for compressed bytes */
    uint32_t raw_capacity;
};

enum etl_open_status {
    ETL_OPEN_OK = 0,            /* usable; f->damaged may still be set (index cut short) */
    ETL_OPEN_NOT_ETL,           /* not an ETL file at all; message in error */
    ETL_OPEN_IO_ERROR,          /* cannot open or read; message in error */
    ETL_OPEN_CANCELLED,         /* *cancel became true while indexing; no message */
};

/* Open, check the first buffer and logfile header, and index every buffer. cancel (NULL:
 * never) is looked at before each buffer header and each block of a zero tail, so a stop
 * is not held up by a huge file. On failure nothing is left open; etl_file_close may still
 * be called (it is idempotent). */
enum etl_open_status etl_file_open(struct etl_file *f, const char *path,
                                   const atomic_bool *cancel, char *error, size_t error_size);
void etl_file_close(struct etl_file *f);

/* Read (and decompress) buffer `index` into img. False when the buffer is damaged (the
 * file's error is set then) or memory ran out. */
bool etl_file_load_buffer(struct etl_file *f, size_t index, struct etl_buffer_image *img);

void etl_buffer_image_free(struct etl_buffer_image *img);

/* Record damage at a file offset, keeping only the first. */
void etl_file_set_damage(struct etl_file *f, uint64_t offset, const char *format, ...)
#if defined(__MINGW32__)
    __attribute__((format(gnu_printf, 3, 4))) /* mingw's ANSI stdio is gnu_printf */
#elif defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A raw timestamp of this file in 100 ns units since 1601 (FILETIME scale). */
uint64_t etl_file_time(const struct etl_file_info *info, uint64_t raw);

#endif
