/* Merge of per-processor buffer streams across files, by converted timestamp. */
#include "etl_reader.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "etl_file.h"
#include "etl_format.h"

struct stream {
    struct etl_file *file;
    size_t *buffers;           /* indices into file->buffers, in file order */
    size_t count;
    size_t next_buffer;
    size_t current_buffer;
    struct etl_buffer_image img;
    struct etl_walker walker;
    struct etl_record head;
    uint64_t key;              /* head's FILETIME */
    uint64_t order;            /* tie-break: creation order, so equal times stay stable */
    bool filetime_ticks;       /* the file's clock already counts 100 ns: add an offset */
    uint64_t time_offset;      /* start_time - header_timestamp, mod 2^64 */
};

struct etl_reader {
    struct etl_file *files;
    size_t file_count;
    struct stream *streams;
    size_t stream_count;
    struct stream **heap;
    size_t heap_size;
    struct stream *emitted;    /* its head was handed out; advance it on the next call */
    size_t *lists;             /* the streams' buffer lists, one block */
    struct etl_reader_counts counts;
    const char *first_error;
    const atomic_bool *cancel;
    bool cancelled;            /* cancel was seen: no more records */
};

static bool stream_before(const struct stream *a, const struct stream *b)
{
    return a->key < b->key || (a->key == b->key && a->order < b->order);
}

static inline void sift_down(struct etl_reader *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        if (l < r->heap_size && stream_before(r->heap[l], r->heap[best])) best = l;
        if (l + 1 < r->heap_size && stream_before(r->heap[l + 1], r->heap[best])) best = l + 1;
        if (best == i)
            return;
        struct stream *t = r->heap[i];
        r->heap[i] = r->heap[best];
        r->heap[best] = t;
        i = best;
    }
}

static void note_damage(struct etl_reader *r, struct etl_file *f)
{
    if (f->damaged && !r->first_error)
        r->first_error = f->error;
}

/* The damage a walker found, as a file offset: exact for plain buffers; for compressed
 * ones the buffer's offset, plus where in the decompressed data. */
static void report_walk_damage(struct etl_reader *r, struct stream *s)
{
    const struct etl_buffer_ref *b = &s->file->buffers[s->current_buffer];
    if (b->flags & ETL_BUFFER_FLAG_COMPRESSED)
        etl_file_set_damage(s->file, b->offset, "in compressed buffer, decompressed byte %"
                            PRIu32 ": %s", s->walker.error_offset, s->walker.error);
    else
        etl_file_set_damage(s->file, b->offset + s->walker.error_offset, "%s", s->walker.error);
    note_damage(r, s->file);
}

static bool load_next_buffer(struct etl_reader *r, struct stream *s)
{
    /* once per buffer: cheap against the buffer's records, soon enough for a stop */
    if (r->cancel != NULL && atomic_load_explicit(r->cancel, memory_order_relaxed))
        r->cancelled = true;
    while (!r->cancelled && s->next_buffer < s->count) {
        size_t index = s->buffers[s->next_buffer++];
        const struct etl_buffer_ref *b = &s->file->buffers[index];
        s->current_buffer = index;
        r->counts.buffers++;
        r->counts.bytes_read += b->size;
        if (etl_file_load_buffer(s->file, index, &s->img)) {
            etl_walker_init(&s->walker, s->img.data, s->img.size);
            return true;
        }
        note_damage(r, s->file); /* a bad buffer: the stream goes on with its next one */
    }
    return false;
}

/* Move a stream to its next record of a class we decode; false when it has none left. */
static bool advance(struct etl_reader *r, struct stream *s)
{
    for (;;) {
        enum etl_walk_status st = etl_walk_next(&s->walker, &s->head);
        if (st == ETL_WALK_RECORD) {
            r->counts.records++;
            if (s->head.header_type == 0) {
                r->counts.unknown_header_kinds++;
                continue;
            }
            if (s->head.rec.event_class == TRACE_CLASS_OTHER)
                continue;
            /* The common 10 MHz clock needs no division: one add per record. */
            s->key = s->filetime_ticks ? s->head.rec.timestamp + s->time_offset
                                       : etl_file_time(&s->file->info, s->head.rec.timestamp);
            s->head.rec.timestamp = s->key;
            return true;
        }
        if (st == ETL_WALK_DAMAGED)
            report_walk_damage(r, s);
        if (!load_next_buffer(r, s))
            return false;
    }
}

/* 10 MHz QPC (the usual case) maps raw ticks to FILETIME by adding one offset. With
 * start_time >= header_timestamp (a FILETIME since 1601 against ticks since boot) the sum
 * cannot wrap, so it equals etl_file_time's result for every raw value, records before
 * the header event included; any other clock takes that general path. */
static void init_clock(struct stream *s)
{
    const struct etl_file_info *info = &s->file->info;
    s->filetime_ticks = info->clock_type == ETL_CLOCK_QPC && info->perf_freq == 10000000u
                        && info->start_time >= info->header_timestamp;
    s->time_offset = info->start_time - info->header_timestamp;
}

/* One stream per (file, processor), each listing its buffers in file order. */
static bool build_streams(struct etl_reader *r)
{
    size_t total = 0;
    uint32_t *slot = malloc(65536 * sizeof *slot);
    if (!slot)
        return false;
    for (size_t i = 0; i < r->file_count; i++)
        total += r->files[i].buffer_count;
    /* At most one stream per buffer; the arrays are sized for that worst case. */
    r->streams = calloc(total ? total : 1, sizeof *r->streams);
    r->heap = calloc(total ? total : 1, sizeof *r->heap);
    size_t *lists = r->lists = malloc((total ? total : 1) * sizeof *lists);
    if (!r->streams || !r->heap || !lists) {
        free(slot);
        return false;
    }
    size_t used = 0;
    for (size_t i = 0; i < r->file_count; i++) {
        struct etl_file *f = &r->files[i];
        memset(slot, 0xFF, 65536 * sizeof *slot);
        size_t first_stream = r->stream_count;
        /* Count the buffers per processor, then hand out list space in one pass. */
        for (size_t b = 0; b < f->buffer_count; b++) {
            uint16_t p = f->buffers[b].processor;
            if (slot[p] == UINT32_MAX) {
                slot[p] = (uint32_t)r->stream_count;
                struct stream *s = &r->streams[r->stream_count++];
                s->file = f;
                s->order = r->stream_count;
                init_clock(s);
            }
            r->streams[slot[p]].count++;
        }
        for (size_t k = first_stream; k < r->stream_count; k++) {
            r->streams[k].buffers = lists + used;
            used += r->streams[k].count;
            r->streams[k].count = 0;
        }
        for (size_t b = 0; b < f->buffer_count; b++) {
            struct stream *s = &r->streams[slot[f->buffers[b].processor]];
            s->buffers[s->count++] = b;
        }
    }
    free(slot);
    return true;
}

static enum etl_reader_status reader_status(enum etl_open_status st)
{
    switch (st) {
    case ETL_OPEN_NOT_ETL:
        return ETL_READER_NOT_ETL;
    case ETL_OPEN_CANCELLED:
        return ETL_READER_CANCELLED;
    default:
        return ETL_READER_IO_ERROR;
    }
}

enum etl_reader_status etl_reader_open(const char *const *paths, size_t count,
                                       const atomic_bool *cancel, struct etl_reader **reader,
                                       char *error, size_t error_size)
{
    *reader = NULL;
    struct etl_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->files = calloc(count ? count : 1, sizeof *r->files))) {
        free(r);
        snprintf(error, error_size, "out of memory");
        return ETL_READER_IO_ERROR;
    }
    for (size_t i = 0; i < count; i++) {
        enum etl_open_status st = etl_file_open(&r->files[i], paths[i], cancel, error,
                                                error_size);
        r->file_count = i + 1;
        if (st != ETL_OPEN_OK) {
            etl_reader_close(r);
            return reader_status(st);
        }
        r->counts.bytes_total += r->files[i].size;
        r->counts.file_events_lost += r->files[i].info.events_lost;
        note_damage(r, &r->files[i]);
    }
    r->counts.files = count;
    r->cancel = cancel;
    if (!build_streams(r)) {
        etl_reader_close(r);
        snprintf(error, error_size, "out of memory");
        return ETL_READER_IO_ERROR;
    }
    for (size_t k = 0; k < r->stream_count; k++) {
        struct stream *s = &r->streams[k];
        etl_walker_init(&s->walker, NULL, 0); /* empty: the first advance loads a buffer */
        if (advance(r, s))
            r->heap[r->heap_size++] = s;
    }
    for (size_t i = r->heap_size; i-- > 0;)
        sift_down(r, i);
    *reader = r;
    return ETL_READER_OK;
}

const struct etl_record *etl_reader_next(struct etl_reader *r)
{
    if (r->emitted) {
        /* The emitted stream is the heap's top: re-key it or drop it. */
        if (!advance(r, r->emitted))
            r->heap[0] = r->heap[--r->heap_size];
        r->emitted = NULL;
        if (r->heap_size > 1)
            sift_down(r, 0);
    }
    if (r->heap_size == 0 || r->cancelled)
        return NULL;
    r->emitted = r->heap[0];
    return &r->emitted->head;
}

void etl_reader_counts(const struct etl_reader *r, struct etl_reader_counts *counts)
{
    *counts = r->counts;
    counts->damaged_files = 0;
    for (size_t i = 0; i < r->file_count; i++)
        counts->damaged_files += r->files[i].damaged;
}

bool etl_reader_cancelled(const struct etl_reader *r)
{
    return r->cancelled;
}

const char *etl_reader_error(const struct etl_reader *r)
{
    return r->first_error;
}

void etl_reader_close(struct etl_reader *r)
{
    if (!r)
        return;
    for (size_t k = 0; k < r->stream_count; k++)
        etl_buffer_image_free(&r->streams[k].img);
    free(r->lists);
    for (size_t i = 0; i < r->file_count; i++)
        etl_file_close(&r->files[i]);
    free(r->streams);
    free(r->heap);
    free(r->files);
    free(r);
}
