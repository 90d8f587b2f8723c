/* Test ETL writer. GUIDs are parsed from their text form here (not copied from the
 * reader's tables), so a byte-order slip in either would show up in the tests. */
#include "etl_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "etl_format.h"
#include "lz77_compress.h"

#define MAX_PROCESSORS 64

struct open_buffer {
    uint8_t *data;              /* buffer_size bytes */
    uint32_t used;              /* 0 = not open */
};

struct etl_writer {
    struct etl_writer_config config;
    uint8_t *file;
    size_t size, capacity;
    struct open_buffer open[MAX_PROCESSORS];
    uint8_t *scratch;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "etl_writer: out of memory\n");
        abort();
    }
    return p;
}

static void parse_guid(const char *text, uint8_t out[16])
{
    unsigned d1, d2, d3, d4[8];
    sscanf(text, "%8x-%4x-%4x-%2x%2x-%2x%2x%2x%2x%2x%2x", &d1, &d2, &d3, &d4[0], &d4[1],
           &d4[2], &d4[3], &d4[4], &d4[5], &d4[6], &d4[7]);
    put32(out, d1);
    put16(out + 4, (uint16_t)d2);
    put16(out + 6, (uint16_t)d3);
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)d4[i];
}

void etl_writer_class_guid(enum trace_class event_class, uint8_t guid[16])
{
    switch (event_class) {
    case TRACE_CLASS_TCPIP: parse_guid("9a280ac0-c8e0-11d1-84e2-00c04fb998a2", guid); break;
    case TRACE_CLASS_UDPIP: parse_guid("bf3a50c5-a9c9-4988-a005-2df0b7c80f80", guid); break;
    case TRACE_CLASS_PROCESS: parse_guid("3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c", guid); break;
    case TRACE_CLASS_LOST_EVENT: parse_guid("6a399ae0-4bc6-4de9-870b-3657f8947e7e", guid); break;
    default: parse_guid("01234567-89ab-cdef-0123-456789abcdef", guid); break;
    }
}

static uint8_t group_of(enum trace_class c)
{
    switch (c) {
    case TRACE_CLASS_TCPIP: return 0x06;
    case TRACE_CLASS_UDPIP: return 0x08;
    case TRACE_CLASS_PROCESS: return 0x03;
    default: return 0x0F; /* PerfInfo: a group the reader does not decode */
    }
}

static void append_file(struct etl_writer *w, const uint8_t *p, size_t n)
{
    if (w->size + n > w->capacity) {
        size_t grown = w->capacity ? w->capacity * 2 : 1 << 20;
        while (grown < w->size + n)
            grown *= 2;
        uint8_t *q = realloc(w->file, grown);
        if (!q)
            abort();
        w->file = q;
        w->capacity = grown;
    }
    memcpy(w->file + w->size, p, n);
    w->size += n;
}

static void buffer_header(uint8_t *h, uint32_t size, uint32_t filled, uint16_t flags,
                          uint16_t type, uint16_t processor)
{
    memset(h, 0, ETL_BUFFER_HEADER_SIZE);
    put32(h + ETL_BUF_OFF_BUFFER_SIZE, size);
    put32(h + ETL_BUF_OFF_SAVED_OFFSET, filled);
    put16(h + ETL_BUF_OFF_PROCESSOR, processor);
    put32(h + ETL_BUF_OFF_FILLED_BYTES, filled);
    put16(h + ETL_BUF_OFF_FLAGS, flags);
    put16(h + ETL_BUF_OFF_TYPE, type);
}

void etl_writer_flush(struct etl_writer *w, uint16_t processor)
{
    struct open_buffer *b = &w->open[processor % MAX_PROCESSORS];
    if (b->used == 0)
        return;
    uint32_t filled = b->used;
    bool first = w->size == 0;
    if (w->config.compress && !first) {
        uint32_t body = filled - ETL_BUFFER_HEADER_SIZE;
        size_t packed = lz77_compress(b->data + ETL_BUFFER_HEADER_SIZE, body, w->scratch,
                                      w->config.literals_only);
        uint8_t h[ETL_BUFFER_HEADER_SIZE];
        buffer_header(h, (uint32_t)(ETL_BUFFER_HEADER_SIZE + packed), filled,
                      ETL_BUFFER_FLAG_COMPRESSED, 0, processor);
        append_file(w, h, sizeof h);
        append_file(w, w->scratch, packed);
    } else {
        /* Plain: the whole buffer, valid data then 0xFF padding as ETW leaves it. */
        uint32_t size = w->config.buffer_size;
        memset(b->data + filled, 0xFF, size - filled);
        buffer_header(b->data, size, filled, first ? 1 : 0,
                      first ? ETL_BUFFER_TYPE_HEADER : 0, processor);
        append_file(w, b->data, size);
    }
    b->used = 0;
}

/* Room for size bytes (8-byte aligned) in the processor's buffer; returns where. */
static uint8_t *reserve(struct etl_writer *w, uint16_t processor, uint32_t size)
{
    struct open_buffer *b = &w->open[processor % MAX_PROCESSORS];
    uint32_t aligned = (size + 7u) & ~7u;
    if (b->used && b->used + aligned > w->config.buffer_size)
        etl_writer_flush(w, processor);
    if (b->used == 0)
        b->used = ETL_BUFFER_HEADER_SIZE;
    if (b->used + aligned > w->config.buffer_size) {
        fprintf(stderr, "etl_writer: record of %u bytes exceeds the buffer size\n", size);
        abort();
    }
    uint8_t *p = b->data + b->used;
    memset(p + size, 0xEE, aligned - size); /* alignment padding is garbage */
    b->used += aligned;
    return p;
}

void etl_writer_add_raw(struct etl_writer *w, uint16_t processor, const uint8_t *record,
                        uint32_t size)
{
    memcpy(reserve(w, processor, size), record, size);
}

static uint32_t header_size(uint8_t type)
{
    switch (type) {
    case ETL_HDR_SYSTEM32: case ETL_HDR_SYSTEM64: return 32;
    case ETL_HDR_COMPACT32: case ETL_HDR_COMPACT64: return 24;
    case ETL_HDR_PERFINFO32: case ETL_HDR_PERFINFO64: return 16;
    case ETL_HDR_FULL32: case ETL_HDR_FULL64: return 48;
    case ETL_HDR_INSTANCE32: case ETL_HDR_INSTANCE64: return 72;
    case ETL_HDR_EVENT32: case ETL_HDR_EVENT64: return 80;
    default: abort();
    }
}

void etl_writer_add(struct etl_writer *w, uint16_t processor, const struct etl_writer_event *e)
{
    uint32_t hsize = header_size(e->header_type);
    uint32_t ext = 0;
    if (e->header_type == ETL_HDR_EVENT32 || e->header_type == ETL_HDR_EVENT64)
        ext = (uint32_t)e->ext_items * 16; /* 8-byte item header + 8 bytes of data each */
    uint32_t size = hsize + ext + e->payload_size;
    uint8_t *r = reserve(w, processor, size);
    memset(r, 0, hsize + ext);
    uint8_t guid[16];
    etl_writer_class_guid(e->event_class, guid);
    switch (e->header_type) {
    case ETL_HDR_SYSTEM32: case ETL_HDR_SYSTEM64:
    case ETL_HDR_COMPACT32: case ETL_HDR_COMPACT64:
    case ETL_HDR_PERFINFO32: case ETL_HDR_PERFINFO64:
        put32(r, 0xC0000000u | (uint32_t)e->header_type << 16 | e->version);
        put16(r + 4, (uint16_t)size);
        put16(r + 6, (uint16_t)(group_of(e->event_class) << 8 | e->opcode));
        if (e->header_type >= ETL_HDR_PERFINFO32) {
            put64(r + 8, e->timestamp);
        } else {
            put32(r + 8, e->tid);
            put32(r + 12, e->pid);
            put64(r + 16, e->timestamp);
        }
        break;
    case ETL_HDR_FULL32: case ETL_HDR_FULL64:
    case ETL_HDR_INSTANCE32: case ETL_HDR_INSTANCE64:
        put32(r, 0xC0000000u | (uint32_t)e->header_type << 16 | size);
        r[4] = e->opcode;
        r[5] = 4; /* level */
        put16(r + 6, e->version);
        put32(r + 8, e->tid);
        put32(r + 12, e->pid);
        put64(r + 16, e->timestamp);
        memcpy(r + 24, guid, 16);
        break;
    default: /* EVENT_HEADER */
        put32(r, 0xC0000000u | (uint32_t)e->header_type << 16 | size);
        put16(r + 4, (uint16_t)((e->ext_items ? 1 : 0) |
                                (e->header_type == ETL_HDR_EVENT32 ? 0x20 : 0x40)));
        put32(r + 8, e->tid);
        put32(r + 12, e->pid);
        put64(r + 16, e->timestamp);
        memcpy(r + 24, guid, 16);
        put16(r + 40, 0);          /* Id */
        r[42] = e->version;
        r[45] = e->opcode;
        for (int i = 0; i < e->ext_items; i++) {
            uint8_t *item = r + hsize + 16 * i;
            put16(item + 2, (uint16_t)(i + 1));                 /* ExtType */
            put16(item + 4, i + 1 < e->ext_items ? 1 : 0);      /* linkage */
            put16(item + 6, 8);                                 /* DataSize */
            memset(item + 8, 0xA0 + i, 8);
        }
        break;
    }
    if (e->payload_size)
        memcpy(r + hsize + ext, e->payload, e->payload_size);
}

static void add_logfile_header(struct etl_writer *w)
{
    const struct etl_writer_config *c = &w->config;
    uint8_t ptr = c->pointer_size;
    uint8_t payload[ETL_LOG_FIXED_SIZE(8) + 32];
    uint32_t n = ETL_LOG_FIXED_SIZE(ptr) + 16;
    memset(payload, 0, sizeof payload);
    put32(payload + ETL_LOG_OFF_BUFFER_SIZE, c->buffer_size);
    put32(payload + ETL_LOG_OFF_VERSION, 0x0501000a);
    put32(payload + ETL_LOG_OFF_PROVIDER_VERSION, 19041);
    put32(payload + ETL_LOG_OFF_NUM_PROCESSORS, 4);
    put32(payload + ETL_LOG_OFF_POINTER_SIZE, ptr);
    put32(payload + ETL_LOG_OFF_EVENTS_LOST, c->events_lost);
    put32(payload + ETL_LOG_OFF_CPU_SPEED_MHZ, c->cpu_mhz);
    put64(payload + ETL_LOG_OFF_PERF_FREQ(ptr), c->perf_freq);
    put64(payload + ETL_LOG_OFF_START_TIME(ptr), c->start_time);
    put32(payload + ETL_LOG_OFF_CLOCK_TYPE(ptr), c->clock_type);
    memcpy(payload + ETL_LOG_FIXED_SIZE(ptr), "T\0e\0s\0t\0\0\0", 10);
    struct etl_writer_event e = {
        .header_type = ptr == 4 ? ETL_HDR_SYSTEM32 : ETL_HDR_SYSTEM64,
        .event_class = TRACE_CLASS_OTHER, .version = 2, .timestamp = c->header_timestamp,
        .pid = 4, .tid = 8, .payload = payload, .payload_size = n,
    };
    etl_writer_add(w, 0, &e);
    /* group_of(OTHER) is PerfInfo: the logfile header is HookId 0. */
    uint8_t *r = w->open[0].data + ETL_BUFFER_HEADER_SIZE;
    put16(r + 6, 0);
    etl_writer_flush(w, 0); /* the header buffer stands alone, as ETW writes it */
}

struct etl_writer *etl_writer_create(const struct etl_writer_config *config)
{
    struct etl_writer *w = xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->config = *config;
    struct etl_writer_config *c = &w->config;
    if (!c->pointer_size) c->pointer_size = 8;
    if (!c->buffer_size) c->buffer_size = 64 * 1024;
    if (!c->clock_type) c->clock_type = ETL_CLOCK_QPC;
    if (!c->perf_freq) c->perf_freq = 10000000;
    if (!c->cpu_mhz) c->cpu_mhz = 3000;
    if (!c->start_time) c->start_time = 132223104000000000ull; /* 2020-01-01 00:00 UTC */
    if (!c->header_timestamp) c->header_timestamp = 1000000;
    for (int i = 0; i < MAX_PROCESSORS; i++)
        w->open[i].data = xmalloc(c->buffer_size);
    w->scratch = xmalloc(lz77_compress_bound(c->buffer_size));
    add_logfile_header(w);
    return w;
}

const uint8_t *etl_writer_finish(struct etl_writer *w, size_t *size)
{
    for (uint16_t p = 0; p < MAX_PROCESSORS; p++)
        etl_writer_flush(w, p);
    *size = w->size;
    return w->file;
}

bool etl_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

bool etl_writer_save(struct etl_writer *w, const char *path)
{
    size_t size;
    const uint8_t *data = etl_writer_finish(w, &size);
    return etl_write_file(path, data, size);
}

void etl_writer_free(struct etl_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < MAX_PROCESSORS; i++)
        free(w->open[i].data);
    free(w->scratch);
    free(w->file);
    free(w);
}
