/* The ETL reader against files of known contents built by etl_writer: every record header
 * kind, extended data items, unknown kinds, both pointer sizes, plain and compressed
 * buffers, clock conversion, the merge across processors and files, and damage with its
 * exact message. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "etl_format.h"
#include "bytes.h"
#include "etl_reader.h"
#include "etl_records.h"
#include "etl_writer.h"

static char path_a[64], path_b[64];

static int setup(void **state)
{
    (void)state;
    static int n;
    snprintf(path_a, sizeof path_a, "test_etl_reader_%d_a.etl", n);
    snprintf(path_b, sizeof path_b, "test_etl_reader_%d_b.etl", n++);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove(path_a);
    remove(path_b);
    return 0;
}

static void save(struct etl_writer *w, const char *path)
{
    assert_true(etl_writer_save(w, path));
    etl_writer_free(w);
}

static struct etl_reader *open_ok(const char *const *paths, size_t count)
{
    struct etl_reader *r = NULL;
    char error[512] = "";
    enum etl_reader_status st = etl_reader_open(paths, count, NULL, &r, error, sizeof error);
    if (st != ETL_READER_OK)
        fail_msg("open failed: %s", error);
    return r;
}

/* A payload whose bytes say which record it is. */
static void payload_for(uint8_t *p, uint32_t n, uint32_t id)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)(id * 7 + i);
}

static const uint8_t KINDS[] = {
    ETL_HDR_SYSTEM32, ETL_HDR_SYSTEM64, ETL_HDR_COMPACT32, ETL_HDR_COMPACT64,
    ETL_HDR_PERFINFO32, ETL_HDR_PERFINFO64, ETL_HDR_FULL32, ETL_HDR_FULL64,
    ETL_HDR_INSTANCE32, ETL_HDR_INSTANCE64, ETL_HDR_EVENT32, ETL_HDR_EVENT64,
};
#define KIND_COUNT ARRAY_SIZE(KINDS)

static uint8_t pointer_size_of(uint8_t kind)
{
    switch (kind) {
    case ETL_HDR_SYSTEM32: case ETL_HDR_COMPACT32: case ETL_HDR_PERFINFO32:
    case ETL_HDR_FULL32: case ETL_HDR_INSTANCE32: case ETL_HDR_EVENT32: return 4;
    default: return 8;
    }
}

/* Every kind, with payload sizes that leave every alignment remainder, comes back with
 * its class, opcode, version, pointer size and exact payload. */
static void check_every_kind(bool compress, uint8_t log_pointer_size)
{
    struct etl_writer_config c = { .compress = compress, .pointer_size = log_pointer_size };
    struct etl_writer *w = etl_writer_create(&c);
    uint8_t payload[128];
    static const enum trace_class classes[] = { TRACE_CLASS_TCPIP, TRACE_CLASS_UDPIP,
                                                TRACE_CLASS_PROCESS };
    for (uint32_t i = 0; i < KIND_COUNT * 3; i++) {
        uint32_t size = 40 + i % 9;
        payload_for(payload, size, i);
        struct etl_writer_event e = {
            .header_type = KINDS[i % KIND_COUNT], .event_class = classes[i / KIND_COUNT],
            .opcode = (uint8_t)(10 + i), .version = (uint8_t)(i % 5),
            .timestamp = 2000000 + 10 * i, .pid = 100 + i, .tid = 200 + i,
            .payload = payload, .payload_size = size, .ext_items = (int)(i % 3),
        };
        etl_writer_add(w, (uint16_t)(i % 2), &e);
    }
    save(w, path_a);
    const char *paths[] = { path_a };
    struct etl_reader *r = open_ok(paths, 1);
    for (uint32_t i = 0; i < KIND_COUNT * 3; i++) {
        const struct etl_record *rec = etl_reader_next(r);
        assert_non_null(rec);
        uint32_t size = 40 + i % 9;
        payload_for(payload, size, i);
        assert_int_equal(rec->header_type, KINDS[i % KIND_COUNT]);
        assert_int_equal(rec->rec.event_class, classes[i / KIND_COUNT]);
        assert_int_equal(rec->rec.opcode, 10 + i);
        assert_int_equal(rec->rec.version, i % 5);
        assert_int_equal(rec->rec.pointer_size, pointer_size_of(KINDS[i % KIND_COUNT]));
        assert_int_equal(rec->rec.payload_size, size);
        assert_memory_equal(rec->rec.payload, payload, size);
        /* 10 MHz QPC: 10 ticks are 10 units after the header's start time. */
        assert_int_equal(rec->rec.timestamp, 132223104000000000ull + 1000000 + 10 * i);
        bool has_pid = rec->header_type != ETL_HDR_PERFINFO32
                    && rec->header_type != ETL_HDR_PERFINFO64;
        assert_int_equal(rec->process_id, has_pid ? 100 + i : 0xFFFFFFFFu);
    }
    assert_null(etl_reader_next(r));
    struct etl_reader_counts counts;
    etl_reader_counts(r, &counts);
    assert_int_equal(counts.records, KIND_COUNT * 3 + 1); /* plus the logfile header */
    assert_int_equal(counts.unknown_header_kinds, 0);
    assert_int_equal(counts.damaged_files, 0);
    assert_null(etl_reader_error(r));
    etl_reader_close(r);
}

static void every_kind_plain(void **state) { (void)state; check_every_kind(false, 8); }
static void every_kind_compressed(void **state) { (void)state; check_every_kind(true, 4); }

static void unknown_kinds_are_skipped_and_counted(void **state)
{
    (void)state;
    struct etl_writer_config c = { 0 };
    struct etl_writer *w = etl_writer_create(&c);
    uint8_t payload[32] = { 0 };
    struct etl_writer_event e = { .header_type = ETL_HDR_SYSTEM64,
        .event_class = TRACE_CLASS_TCPIP, .opcode = 10, .timestamp = 2000000,
        .payload = payload, .payload_size = sizeof payload };
    etl_writer_add(w, 0, &e);
    /* A TIMED header (0x0C) of 37 bytes and a trace message (marker 0x9000...). */
    uint8_t timed[37];
    memset(timed, 0x33, sizeof timed);
    timed[0] = 37; timed[1] = 0; timed[2] = 0x0C; timed[3] = 0xC0;
    etl_writer_add_raw(w, 0, timed, sizeof timed);
    uint8_t message[20] = { 20, 0, 0x00, 0x90 };
    etl_writer_add_raw(w, 0, message, sizeof message);
    e.timestamp = 2000001;
    e.opcode = 11;
    etl_writer_add(w, 0, &e);
    /* A kernel group we do not decode (PerfInfo): walked, not returned, not unknown. */
    e.event_class = TRACE_CLASS_OTHER;
    etl_writer_add(w, 0, &e);
    save(w, path_a);
    const char *paths[] = { path_a };
    struct etl_reader *r = open_ok(paths, 1);
    assert_int_equal(etl_reader_next(r)->rec.opcode, 10);
    assert_int_equal(etl_reader_next(r)->rec.opcode, 11);
    assert_null(etl_reader_next(r));
    struct etl_reader_counts counts;
    etl_reader_counts(r, &counts);
    assert_int_equal(counts.records, 6);
    assert_int_equal(counts.unknown_header_kinds, 2);
    etl_reader_close(r);
}

/* Timestamps in FILETIME units from each clock type. */
static void check_clock(uint32_t clock_type, uint64_t freq, uint32_t mhz, uint64_t raw,
                        uint64_t expected)
{
    struct etl_writer_config c = { .clock_type = clock_type, .perf_freq = freq,
                                   .cpu_mhz = mhz, .header_timestamp = 5000000 };
    struct etl_writer *w = etl_writer_create(&c);
    uint8_t payload[32] = { 0 };
    struct etl_writer_event e = { .header_type = ETL_HDR_PERFINFO64,
        .event_class = TRACE_CLASS_TCPIP, .opcode = 10, .timestamp = raw,
        .payload = payload, .payload_size = sizeof payload };
    etl_writer_add(w, 0, &e);
    save(w, path_a);
    const char *paths[] = { path_a };
    struct etl_reader *r = open_ok(paths, 1);
    assert_int_equal(etl_reader_next(r)->rec.timestamp, expected);
    etl_reader_close(r);
}

static void clocks_convert_to_filetime(void **state)
{
    (void)state;
    const uint64_t start = 132223104000000000ull;
    /* QPC at 3 MHz: 4.5 s after the header (13.5 M ticks), and 1 s before it. */
    check_clock(ETL_CLOCK_QPC, 3000000, 0, 5000000 + 13500000, start + 45000000);
    check_clock(ETL_CLOCK_QPC, 3000000, 0, 5000000 - 3000000, start - 10000000);
    /* System time: already FILETIME. */
    check_clock(ETL_CLOCK_SYSTEM_TIME, 0, 0, start + 123, start + 123);
    /* CPU cycles at 2500 MHz: 2.5e9 cycles are one second. */
    check_clock(ETL_CLOCK_CPU_CYCLES, 0, 2500, 5000000 + 2500000000ull, start + 10000000);
}

/* Processor 1's buffer lands in the file before processor 0's, and a second file
 * interleaves with both: records still come out in time order. */
static void merge_orders_processors_and_files(void **state)
{
    (void)state;
    uint8_t payload[28] = { 0 };
    struct etl_writer_config c = { .buffer_size = 512 };
    struct etl_writer *w = etl_writer_create(&c);
    struct etl_writer_event e = { .header_type = ETL_HDR_PERFINFO64,
        .event_class = TRACE_CLASS_TCPIP, .opcode = 11, .payload = payload,
        .payload_size = sizeof payload };
    for (uint64_t t = 0; t < 60; t++) { /* 44-byte records: ~10 per buffer */
        e.timestamp = 2000000 + t * 10 + (t % 2 ? 0 : 5);
        etl_writer_add(w, (uint16_t)(t % 2), &e);
        if (t == 30)
            etl_writer_flush(w, 1);
    }
    save(w, path_a);
    struct etl_writer_config c2 = { .buffer_size = 1024, .compress = true };
    w = etl_writer_create(&c2);
    e.opcode = 10;
    for (uint64_t t = 0; t < 40; t++) {
        e.timestamp = 2000000 + t * 15 + 3;
        etl_writer_add(w, 3, &e);
    }
    save(w, path_b);
    const char *paths[] = { path_a, path_b };
    struct etl_reader *r = open_ok(paths, 2);
    const struct etl_record *rec;
    uint64_t last = 0, n = 0, from_b = 0;
    while ((rec = etl_reader_next(r)) != NULL) {
        assert_true(rec->rec.timestamp >= last);
        last = rec->rec.timestamp;
        from_b += rec->rec.opcode == 10;
        n++;
    }
    assert_int_equal(n, 100);
    assert_int_equal(from_b, 40);
    etl_reader_close(r);
}

/* ---- damage and refusal: exact messages ---- */

static char *open_error(const char *const *paths, size_t count, enum etl_reader_status want)
{
    static char error[512];
    struct etl_reader *r = NULL;
    error[0] = '\0';
    assert_int_equal(etl_reader_open(paths, count, NULL, &r, error, sizeof error), want);
    assert_null(r);
    return error;
}

static void not_etl_is_refused(void **state)
{
    (void)state;
    const char text[] = "this is a text file, not a trace; it is long enough to look at.\n"
                        "more text to pass the length of a buffer header check......\n";
    assert_true(etl_write_file(path_a, (const uint8_t *)text, sizeof text - 1));
    const char *paths[] = { path_a };
    char expected[256];
    snprintf(expected, sizeof expected, "%s: not an ETL file (no logfile header at the start)",
             path_a);
    assert_string_equal(open_error(paths, 1, ETL_READER_NOT_ETL), expected);
    assert_true(etl_write_file(path_a, (const uint8_t *)"", 0));
    snprintf(expected, sizeof expected, "%s: not an ETL file (empty)", path_a);
    assert_string_equal(open_error(paths, 1, ETL_READER_NOT_ETL), expected);
    const char *missing[] = { "no-such-dir/none.etl" };
    assert_string_equal(open_error(missing, 1, ETL_READER_IO_ERROR),
                        "no-such-dir/none.etl: cannot open: No such file or directory");
}

/* A file of three 4 KiB buffers after the header buffer, 10 records in each. */
static uint8_t *three_buffers(size_t *size, bool compress)
{
    struct etl_writer_config c = { .buffer_size = 4096, .compress = compress };
    struct etl_writer *w = etl_writer_create(&c);
    uint8_t payload[28] = { 0 };
    struct etl_writer_event e = { .header_type = ETL_HDR_PERFINFO64,
        .event_class = TRACE_CLASS_TCPIP, .opcode = 11, .payload = payload,
        .payload_size = sizeof payload };
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 10; i++) {
            e.timestamp = 2000000 + (uint64_t)(b * 10 + i);
            etl_writer_add(w, 0, &e);
        }
        etl_writer_flush(w, 0);
    }
    const uint8_t *data = etl_writer_finish(w, size);
    uint8_t *copy = malloc(*size);
    assert_non_null(copy);
    memcpy(copy, data, *size);
    etl_writer_free(w);
    return copy;
}

/* Replay a damaged image: returns how many records came out, and the error. */
static uint64_t replay_damaged(const uint8_t *data, size_t size, const char **error)
{
    assert_true(etl_write_file(path_a, data, size));
    const char *paths[] = { path_a };
    struct etl_reader *r = open_ok(paths, 1);
    uint64_t n = 0;
    while (etl_reader_next(r))
        n++;
    struct etl_reader_counts counts;
    etl_reader_counts(r, &counts);
    assert_int_equal(counts.damaged_files, 1);
    static char copy[512];
    assert_non_null(etl_reader_error(r));
    snprintf(copy, sizeof copy, "%s", etl_reader_error(r));
    *error = copy;
    etl_reader_close(r);
    return n;
}

static void truncated_file_keeps_earlier_buffers(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = three_buffers(&size, false);
    const size_t header_buffer = 4096; /* the logfile header's own buffer */
    const char *error;
    char expected[256];
    /* Cut 1000 bytes into the third data buffer. */
    size_t cut = header_buffer + 2 * 4096 + 1000;
    assert_int_equal(replay_damaged(data, cut, &error), 20);
    snprintf(expected, sizeof expected, "%s: offset %zu: buffer of 4096 bytes is truncated: "
             "the file ends 1000 bytes into it", path_a, header_buffer + 2 * 4096);
    assert_string_equal(error, expected);
    /* Cut inside the header of the second buffer. */
    cut = header_buffer + 4096 + 50;
    assert_int_equal(replay_damaged(data, cut, &error), 10);
    snprintf(expected, sizeof expected, "%s: offset %zu: 50 bytes after the last buffer are "
             "too few for a buffer header (72)", path_a, header_buffer + 4096);
    assert_string_equal(error, expected);
    free(data);
}

static void bad_record_size_keeps_earlier_records(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = three_buffers(&size, false);
    /* Records are 44 bytes (48 aligned): the 4th record of the 2nd data buffer claims
     * 60000 bytes. */
    size_t at = 4096 + 4096 + 72 + 3 * 48;
    data[at + 4] = 0x60;
    data[at + 5] = 0xEA;
    const char *error;
    char expected[256];
    assert_int_equal(replay_damaged(data, size, &error), 10 + 3 + 10);
    snprintf(expected, sizeof expected, "%s: offset %zu: record of 60000 bytes overruns the "
             "valid data (%u bytes left)", path_a, at, 72 + 10 * 48 - (72 + 3 * 48));
    assert_string_equal(error, expected);
    /* A record marker without the trace header flag. */
    free(data);
    data = three_buffers(&size, false);
    data[at + 3] = 0x00;
    assert_int_equal(replay_damaged(data, size, &error), 23);
    snprintf(expected, sizeof expected, "%s: offset %zu: record marker 0x00110000 is not a "
             "trace header", path_a, at);
    assert_string_equal(error, expected);
    free(data);
}

static void corrupt_compressed_buffer_is_damage(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = three_buffers(&size, true);
    /* The first compressed buffer follows the 4 KiB header buffer; make its first token
     * (after one flag word and the first literal) a match reaching before the start. */
    size_t body = 4096 + 72;
    data[body + 0] = 0xff; data[body + 1] = 0xff; data[body + 2] = 0xff; data[body + 3] = 0x7f;
    data[body + 5] = 0xf8; data[body + 6] = 0xff;
    const char *error;
    char expected[256];
    assert_int_equal(replay_damaged(data, size, &error), 20);
    snprintf(expected, sizeof expected, "%s: offset %d: compressed buffer at offset 4096: "
             "match offset before start of output", path_a, 4096 + 72 + 5);
    assert_string_equal(error, expected);
    free(data);

    /* A decompressed size beyond the session's buffer size: refused before any memory is
     * spent on it, and the index ends there. */
    data = three_buffers(&size, true);
    data[4096 + 0x30] = 0x00;
    data[4096 + 0x31] = 0x20; /* FilledBytes 8192 > 4096 */
    assert_int_equal(replay_damaged(data, size, &error), 0);
    snprintf(expected, sizeof expected, "%s: offset 4096: compressed buffer claims 8192 bytes, "
             "more than the session's buffer size (4096)", path_a);
    assert_string_equal(error, expected);
    free(data);
}

/* An extended data item that ends short of the alignment and claims a successor: the next
 * item header would start past the record. The walker must say so without reading there
 * (the buffer is allocated to its exact size, for valgrind or ASan to see any overrun). */
static void extended_item_past_record_end_is_damage(void **state)
{
    (void)state;
    const uint32_t record_size = ETL_EVENT_HEADER_SIZE + ETL_EXT_ITEM_HEADER_SIZE + 4;
    const uint32_t size = ETL_BUFFER_HEADER_SIZE + record_size;
    uint8_t *data = calloc(1, size);
    assert_non_null(data);
    uint8_t *r = data + ETL_BUFFER_HEADER_SIZE;
    r[0] = (uint8_t)record_size;       /* marker: size, header type, flags (LE) */
    r[1] = (uint8_t)(record_size >> 8);
    r[2] = ETL_HDR_EVENT64;
    r[3] = ETL_MARKER_FLAGS_MASK >> 24;
    r[ETL_EVT_OFF_FLAGS] = ETL_EVT_FLAG_EXTENDED_INFO;
    uint8_t *item = r + ETL_EVENT_HEADER_SIZE;
    item[ETL_EXT_OFF_LINKAGE] = 1;     /* another item follows */
    item[ETL_EXT_OFF_DATA_SIZE] = 4;   /* ends at record byte 92, next would be at 96 */

    struct etl_walker w;
    struct etl_record rec;
    etl_walker_init(&w, data, size);
    assert_int_equal(etl_walk_next(&w, &rec), ETL_WALK_DAMAGED);
    assert_string_equal(w.error, "extended data item header at record byte 96 overruns the "
                                 "record of 92 bytes");
    assert_int_equal(w.error_offset, ETL_BUFFER_HEADER_SIZE + 96);
    free(data);
}

/* ---- cancel: a stop asked from another thread ends the reader within a buffer ---- */

static void cancel_before_open_indexes_nothing(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = three_buffers(&size, false);
    assert_true(etl_write_file(path_a, data, size));
    free(data);
    atomic_bool cancel = true;
    const char *paths[] = { path_a };
    struct etl_reader *r = NULL;
    char error[512] = "";
    assert_int_equal(etl_reader_open(paths, 1, &cancel, &r, error, sizeof error),
                     ETL_READER_CANCELLED);
    assert_null(r);
}

static void cancel_while_reading_stops_at_the_buffer(void **state)
{
    (void)state;
    size_t size;
    uint8_t *data = three_buffers(&size, true);
    assert_true(etl_write_file(path_a, data, size));
    free(data);
    atomic_bool cancel = false;
    const char *paths[] = { path_a };
    struct etl_reader *r = NULL;
    char error[512] = "";
    assert_int_equal(etl_reader_open(paths, 1, &cancel, &r, error, sizeof error),
                     ETL_READER_OK);
    uint64_t n = 0;
    while (etl_reader_next(r) != NULL) {
        if (++n == 3)
            atomic_store(&cancel, true);
    }
    /* the first buffer's ten records, none of the next two buffers' */
    assert_int_equal(n, 10);
    assert_true(etl_reader_cancelled(r));
    assert_null(etl_reader_error(r));
    etl_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_kind_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(every_kind_compressed, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_kinds_are_skipped_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(clocks_convert_to_filetime, setup, teardown),
        cmocka_unit_test_setup_teardown(merge_orders_processors_and_files, setup, teardown),
        cmocka_unit_test_setup_teardown(not_etl_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_file_keeps_earlier_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_record_size_keeps_earlier_records, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_compressed_buffer_is_damage, setup, teardown),
        cmocka_unit_test(extended_item_past_record_end_is_damage),
        cmocka_unit_test_setup_teardown(cancel_before_open_indexes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_while_reading_stops_at_the_buffer, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
