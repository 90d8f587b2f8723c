/* One ETL file: sequence of buffers, each with its own size. Damage stops the index at
 * the damaged buffer, so everything before it is still replayed. */
#include "etl_file.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "etl_format.h"
#include "file_open.h"
#include "etl_records.h"
#include "xca_lz77.h"


/* 64-bit offsets: the Windows C runtime spells them differently. */
static int seek_to(FILE *fp, uint64_t offset)
{
#ifdef _WIN32
    return _fseeki64(fp, (__int64)offset, SEEK_SET);
#else
    return fseeko(fp, (off_t)offset, SEEK_SET);
#endif
}

static bool file_size_of(FILE *fp, uint64_t *size)
{
#ifdef _WIN32
    if (_fseeki64(fp, 0, SEEK_END) != 0) return false;
    __int64 end = _ftelli64(fp);
#else
    if (fseeko(fp, 0, SEEK_END) != 0) return false;
    off_t end = ftello(fp);
#endif
    if (end < 0) return false;
    *size = (uint64_t)end;
    return true;
}

/* Read exactly n bytes at offset; false on a short read (the caller knows the size). */
static bool read_at(struct etl_file *f, uint64_t offset, void *out, size_t n)
{
    if (f->position != offset) {
        if (seek_to(f->fp, offset) != 0) {
            f->position = UINT64_MAX;
            return false;
        }
        f->position = offset;
    }
    size_t got = fread(out, 1, n, f->fp);
    f->position += got;
    return got == n;
}

void etl_file_set_damage(struct etl_file *f, uint64_t offset, const char *format, ...)
{
    if (f->damaged)
        return;
    f->damaged = true;
    int n = snprintf(f->error, sizeof f->error, "%s: offset %" PRIu64 ": ", f->path, offset);
    if (n < 0 || (size_t)n >= sizeof f->error)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(f->error + n, sizeof f->error - (size_t)n, format, args);
    va_end(args);
}

static bool image_reserve(uint8_t **data, uint32_t *capacity, uint32_t need)
{
    if (need <= *capacity)
        return true;
    uint8_t *grown = realloc(*data, need);
    if (!grown)
        return false;
    *data = grown;
    *capacity = need;
    return true;
}

void etl_buffer_image_free(struct etl_buffer_image *img)
{
    free(img->data);
    free(img->raw);
    memset(img, 0, sizeof *img);
}

static bool decompress_buffer(struct etl_file *f, const struct etl_buffer_ref *b,
                              struct etl_buffer_image *img)
{
    uint32_t packed = b->size - ETL_BUFFER_HEADER_SIZE;
    if (!image_reserve(&img->raw, &img->raw_capacity, packed)) {
        etl_file_set_damage(f, b->offset, "out of memory for a %" PRIu32 "-byte buffer", b->size);
        return false;
    }
    if (!read_at(f, b->offset + ETL_BUFFER_HEADER_SIZE, img->raw, packed)) {
        etl_file_set_damage(f, b->offset, "cannot read the buffer's %" PRIu32 " bytes", b->size);
        return false;
    }
    size_t produced = 0, error_at = 0;
    uint32_t expected = b->filled - ETL_BUFFER_HEADER_SIZE;
    enum xca_status st = xca_lz77_decompress(img->raw, packed, img->data + ETL_BUFFER_HEADER_SIZE,
                                             expected, &produced, &error_at);
    if (st != XCA_OK) {
        etl_file_set_damage(f, b->offset + ETL_BUFFER_HEADER_SIZE + error_at,
                            "compressed buffer at offset %" PRIu64 ": %s", b->offset,
                            xca_status_text(st));
        return false;
    }
    if (produced != expected) {
        etl_file_set_damage(f, b->offset, "compressed buffer decompresses to %zu bytes, "
                            "its header says %" PRIu32, produced, expected);
        return false;
    }
    return true;
}

bool etl_file_load_buffer(struct etl_file *f, size_t index, struct etl_buffer_image *img)
{
    const struct etl_buffer_ref *b = &f->buffers[index];
    if (!image_reserve(&img->data, &img->capacity, b->filled)) {
        etl_file_set_damage(f, b->offset, "out of memory for a %" PRIu32 "-byte buffer",
                            b->filled);
        return false;
    }
    img->size = 0;
    bool compressed = (b->flags & ETL_BUFFER_FLAG_COMPRESSED) != 0;
    /* Uncompressed: only the valid bytes are read, the padding after them never is. */
    uint32_t direct = compressed ? ETL_BUFFER_HEADER_SIZE : b->filled;
    if (!read_at(f, b->offset, img->data, direct)) {
        etl_file_set_damage(f, b->offset, "cannot read the buffer's %" PRIu32 " bytes", direct);
        return false;
    }
    if (compressed && !decompress_buffer(f, b, img))
        return false;
    img->size = b->filled;
    return true;
}

/* ---- the index ---- */

static bool append_buffer(struct etl_file *f, size_t *capacity, const struct etl_buffer_ref *b)
{
    if (f->buffer_count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 64;
        struct etl_buffer_ref *p = realloc(f->buffers, grown * sizeof *p);
        if (!p)
            return false;
        f->buffers = p;
        *capacity = grown;
    }
    f->buffers[f->buffer_count++] = *b;
    return true;
}

static bool cancelled(const struct etl_file *f)
{
    return f->cancel != NULL && atomic_load_explicit(f->cancel, memory_order_relaxed);
}

/* Zeros are scanned in blocks this large: a preallocated trace can end in gigabytes of them
 * (a sparse file reads them from no disk at all), and each read costs a call. */
#define ZERO_SCAN_BLOCK (1u << 20)

enum zero_scan { ZERO_REST, NOT_ZERO, ZERO_SCAN_CANCELLED };

static bool all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* A zero BufferSize where the rest of the file is zeros is unused preallocated space. */
static enum zero_scan rest_is_zero(struct etl_file *f, uint64_t offset)
{
    size_t block = f->size - offset < ZERO_SCAN_BLOCK ? (size_t)(f->size - offset)
                                                      : ZERO_SCAN_BLOCK;
    uint8_t *chunk = malloc(block ? block : 1);
    if (chunk == NULL)
        return NOT_ZERO;
    enum zero_scan result = ZERO_REST;
    while (offset < f->size && result == ZERO_REST) {
        size_t n = f->size - offset < block ? (size_t)(f->size - offset) : block;
        if (cancelled(f))
            result = ZERO_SCAN_CANCELLED;
        else if (!read_at(f, offset, chunk, n) || !all_zero(chunk, n))
            result = NOT_ZERO;
        offset += n;
    }
    free(chunk);
    return result;
}

/* BuffersWritten of the logfile header, read straight from an uncompressed first buffer
 * (the index is built before the header is parsed); 0 when it cannot be known cheaply. */
static uint32_t header_buffers_written(struct etl_file *f)
{
    const struct etl_buffer_ref *first = &f->buffers[0];
    uint64_t at = ETL_BUFFER_HEADER_SIZE + ETL_SYSTEM_HEADER_SIZE + ETL_LOG_OFF_BUFFERS_WRITTEN;
    uint8_t field[4];
    if ((first->flags & ETL_BUFFER_FLAG_COMPRESSED) || first->filled < at + sizeof field
        || !read_at(f, at, field, sizeof field))
        return 0;
    return load_le32(field);
}

/* The end of the buffers: a zero BufferSize. When the header counted exactly the buffers
 * indexed, ETW wrote no more and the rest is its preallocated space, so it is not read at
 * all; otherwise it must be zeros to the end. */
static enum zero_scan at_zero_header(struct etl_file *f, uint64_t offset)
{
    if (f->buffer_count > 0 && header_buffers_written(f) == f->buffer_count)
        return ZERO_REST;
    return rest_is_zero(f, offset);
}

/* Check one buffer header; false (and damage recorded) when it cannot be a buffer. */
static bool check_buffer_header(struct etl_file *f, uint64_t offset, const uint8_t *h,
                                struct etl_buffer_ref *b)
{
    b->offset = offset;
    b->size = load_le32(h + ETL_BUF_OFF_BUFFER_SIZE);
    b->filled = load_le32(h + ETL_BUF_OFF_FILLED_BYTES);
    b->flags = load_le16(h + ETL_BUF_OFF_FLAGS);
    b->processor = load_le16(h + ETL_BUF_OFF_PROCESSOR);
    bool compressed = (b->flags & ETL_BUFFER_FLAG_COMPRESSED) != 0;
    if (b->size < ETL_BUFFER_HEADER_SIZE || b->size > ETL_MAX_BUFFER_SIZE) {
        etl_file_set_damage(f, offset, "buffer size %" PRIu32 " is out of range (%u to %u)",
                            b->size, ETL_BUFFER_HEADER_SIZE, ETL_MAX_BUFFER_SIZE);
        return false;
    }
    if (b->filled < ETL_BUFFER_HEADER_SIZE || b->filled > ETL_MAX_BUFFER_SIZE
        || (!compressed && b->filled > b->size)) {
        etl_file_set_damage(f, offset, "filled bytes %" PRIu32 " do not fit a buffer of %"
                            PRIu32 " bytes", b->filled, b->size);
        return false;
    }
    if (f->size - offset < b->size) {
        etl_file_set_damage(f, offset, "buffer of %" PRIu32 " bytes is truncated: the file "
                            "ends %" PRIu64 " bytes into it", b->size, f->size - offset);
        return false;
    }
    return true;
}

enum index_result { INDEX_DONE, INDEX_OUT_OF_MEMORY, INDEX_CANCELLED };

/* Fewer bytes than a buffer header after the last buffer: fine if they are zeros. */
static enum index_result index_short_tail(struct etl_file *f, uint64_t offset)
{
    enum zero_scan zeros = rest_is_zero(f, offset);
    if (zeros == NOT_ZERO)
        etl_file_set_damage(f, offset, "%" PRIu64 " bytes after the last buffer are too few "
                            "for a buffer header (72)", f->size - offset);
    return zeros == ZERO_SCAN_CANCELLED ? INDEX_CANCELLED : INDEX_DONE;
}

static enum index_result index_buffers(struct etl_file *f)
{
    size_t capacity = 0;
    uint64_t offset = 0;
    uint8_t h[ETL_BUFFER_HEADER_SIZE];
    while (offset < f->size) {
        if (cancelled(f))
            return INDEX_CANCELLED;
        if (f->size - offset < ETL_BUFFER_HEADER_SIZE)
            return index_short_tail(f, offset);
        if (!read_at(f, offset, h, sizeof h)) {
            etl_file_set_damage(f, offset, "cannot read a buffer header");
            break;
        }
        if (load_le32(h) == 0) {
            enum zero_scan zeros = at_zero_header(f, offset);
            if (zeros != NOT_ZERO)
                return zeros == ZERO_REST ? INDEX_DONE : INDEX_CANCELLED;
        }
        struct etl_buffer_ref b;
        if (!check_buffer_header(f, offset, h, &b))
            break;
        if (!append_buffer(f, &capacity, &b))
            return INDEX_OUT_OF_MEMORY;
        offset += b.size;
    }
    return INDEX_DONE;
}

/* ---- the first buffer and logfile header ---- */

static enum etl_open_status not_etl(char *error, size_t error_size, const char *path,
                                    const char *why)
{
    snprintf(error, error_size, "%s: not an ETL file (%s)", path, why);
    return ETL_OPEN_NOT_ETL;
}

/* The first buffer must begin with a system header (type 1 or 2) of HookId 0. */
static bool looks_like_etl(const uint8_t *first, uint64_t file_size)
{
    uint32_t size = load_le32(first + ETL_BUF_OFF_BUFFER_SIZE);
    uint32_t filled = load_le32(first + ETL_BUF_OFF_FILLED_BYTES);
    bool compressed = (load_le16(first + ETL_BUF_OFF_FLAGS) & ETL_BUFFER_FLAG_COMPRESSED) != 0;
    if (size < ETL_BUFFER_HEADER_SIZE + ETL_SYSTEM_HEADER_SIZE || size > ETL_MAX_BUFFER_SIZE)
        return false;
    if (filled < ETL_BUFFER_HEADER_SIZE + ETL_SYSTEM_HEADER_SIZE || filled > ETL_MAX_BUFFER_SIZE)
        return false;
    if (compressed)
        return file_size >= size; /* its first record is checked once decompressed */
    if (filled > size)
        return false;
    const uint8_t *r = first + ETL_BUFFER_HEADER_SIZE;
    uint32_t marker = load_le32(r);
    uint8_t type = (uint8_t)ETL_MARKER_TYPE(marker);
    return (marker & ETL_MARKER_FLAGS_MASK) == ETL_MARKER_FLAGS_MASK
        && (type == ETL_HDR_SYSTEM32 || type == ETL_HDR_SYSTEM64)
        && load_le16(r + ETL_SYS_OFF_HOOK_ID) == 0;
}

static void parse_logfile_header(struct etl_file *f, const struct etl_record *r)
{
    const uint8_t *p = r->rec.payload;
    uint32_t n = r->rec.payload_size;
    struct etl_file_info *info = &f->info;
    info->header_timestamp = r->rec.timestamp;
    info->pointer_size = r->rec.pointer_size;
    if (n >= ETL_LOG_OFF_POINTER_SIZE + 4) {
        uint32_t ptr = load_le32(p + ETL_LOG_OFF_POINTER_SIZE);
        if (ptr == 4 || ptr == 8)
            info->pointer_size = ptr;
    }
    if (n >= ETL_LOG_OFF_CPU_SPEED_MHZ + 4) {
        info->buffer_size = load_le32(p + ETL_LOG_OFF_BUFFER_SIZE);
        info->num_processors = load_le32(p + ETL_LOG_OFF_NUM_PROCESSORS);
        info->events_lost = load_le32(p + ETL_LOG_OFF_EVENTS_LOST);
        info->cpu_mhz = load_le32(p + ETL_LOG_OFF_CPU_SPEED_MHZ);
    }
    uint32_t ptr = info->pointer_size;
    if (n >= ETL_LOG_FIXED_SIZE(ptr)) {
        info->perf_freq = load_le64(p + ETL_LOG_OFF_PERF_FREQ(ptr));
        info->start_time = load_le64(p + ETL_LOG_OFF_START_TIME(ptr));
        info->clock_type = load_le32(p + ETL_LOG_OFF_CLOCK_TYPE(ptr));
        info->buffers_lost = load_le32(p + ETL_LOG_OFF_BUFFERS_LOST(ptr));
    }
}

/* Load buffer 0 and read its logfile header. False: not ETL after all. */
static bool read_logfile_header(struct etl_file *f)
{
    struct etl_buffer_image img = { 0 };
    bool ok = false;
    if (etl_file_load_buffer(f, 0, &img)) {
        struct etl_walker w;
        struct etl_record r;
        etl_walker_init(&w, img.data, img.size);
        if (etl_walk_next(&w, &r) == ETL_WALK_RECORD && etl_record_is_logfile_header(&r)) {
            parse_logfile_header(f, &r);
            ok = true;
        }
    }
    etl_buffer_image_free(&img);
    return ok;
}

/* A compressed buffer names its decompressed size, which nothing else bounds; ETW never
 * fills more than the session's buffer size, so a larger claim is damage (and would cost
 * memory a corrupt file should not get). */
static void check_compressed_sizes(struct etl_file *f)
{
    uint32_t limit = f->info.buffer_size;
    if (limit < ETL_BUFFER_HEADER_SIZE)
        return; /* header without a usable buffer size: the global cap still holds */
    for (size_t i = 0; i < f->buffer_count; i++) {
        const struct etl_buffer_ref *b = &f->buffers[i];
        if ((b->flags & ETL_BUFFER_FLAG_COMPRESSED) && b->filled > limit) {
            f->damaged = false; /* earlier in the file than damage the index found */
            etl_file_set_damage(f, b->offset, "compressed buffer claims %" PRIu32 " bytes, "
                                "more than the session's buffer size (%" PRIu32 ")",
                                b->filled, limit);
            f->buffer_count = i;
            return;
        }
    }
}

static enum etl_open_status open_and_index(struct etl_file *f, const char *path, char *error,
                                           size_t error_size)
{
    f->path = path;
    f->info.pointer_size = 8;
    char why[256];
    f->fp = file_open_read(path, why, sizeof why);
    if (!f->fp) {
        snprintf(error, error_size, "%s: %s", path, why);
        return ETL_OPEN_IO_ERROR;
    }
    f->position = UINT64_MAX;
    if (!file_size_of(f->fp, &f->size)) {
        snprintf(error, error_size, "%s: cannot find the file size", path);
        return ETL_OPEN_IO_ERROR;
    }
    uint8_t first[ETL_BUFFER_HEADER_SIZE + 8] = { 0 };
    if (f->size < sizeof first)
        return not_etl(error, error_size, path, f->size == 0 ? "empty" : "too short");
    if (!read_at(f, 0, first, sizeof first)) {
        snprintf(error, error_size, "%s: cannot read the first buffer", path);
        return ETL_OPEN_IO_ERROR;
    }
    if (!looks_like_etl(first, f->size))
        return not_etl(error, error_size, path, "no logfile header at the start");
    enum index_result indexed = index_buffers(f);
    if (indexed == INDEX_CANCELLED)
        return ETL_OPEN_CANCELLED;
    if (indexed == INDEX_OUT_OF_MEMORY) {
        snprintf(error, error_size, "%s: out of memory indexing buffers", path);
        return ETL_OPEN_IO_ERROR;
    }
    if (f->buffer_count > 0 && !read_logfile_header(f)) {
        if (!f->damaged)
            return not_etl(error, error_size, path, "no logfile header at the start");
        /* A damaged first buffer: the file is ETL, but nothing of it can be read. */
        f->buffer_count = 0;
    }
    check_compressed_sizes(f);
    return ETL_OPEN_OK;
}

enum etl_open_status etl_file_open(struct etl_file *f, const char *path,
                                   const atomic_bool *cancel, char *error, size_t error_size)
{
    memset(f, 0, sizeof *f);
    f->cancel = cancel;
    enum etl_open_status status = open_and_index(f, path, error, error_size);
    if (status != ETL_OPEN_OK)
        etl_file_close(f); /* callers that bail out on failure leak nothing */
    return status;
}

void etl_file_close(struct etl_file *f)
{
    if (f->fp)
        fclose(f->fp);
    free(f->buffers);
    f->fp = NULL;
    f->buffers = NULL;
    f->buffer_count = 0;
}

/* Scale a tick count to 100 ns units without overflowing for any realistic span. */
static uint64_t ticks_to_100ns(uint64_t ticks, uint64_t freq)
{
    if (freq == 10000000u)
        return ticks;
    return ticks / freq * 10000000u + ticks % freq * 10000000u / freq;
}

uint64_t etl_file_time(const struct etl_file_info *info, uint64_t raw)
{
    uint64_t freq;
    switch (info->clock_type) {
    case ETL_CLOCK_SYSTEM_TIME:
        return raw;
    case ETL_CLOCK_CPU_CYCLES:
        freq = (uint64_t)info->cpu_mhz * 1000000u;
        break;
    default:
        freq = info->perf_freq;
        break;
    }
    if (freq == 0)
        return raw; /* no clock to convert with: keep the order, at least */
    uint64_t t0 = info->header_timestamp;
    if (raw >= t0)
        return info->start_time + ticks_to_100ns(raw - t0, freq);
    uint64_t back = ticks_to_100ns(t0 - raw, freq);
    return back < info->start_time ? info->start_time - back : 0;
}
