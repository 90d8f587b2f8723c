/* exporter/gzip.c: every output is one gzip member that libdeflate's own decompressor turns
 * back into the input, for empty, small, large and incompressible inputs, through a reused
 * compressor and buffer; and metrics-like text really shrinks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"
#include "text_buffer.h"

/* in must come back from out exactly, with nothing after the member. */
static void assert_round_trip(const struct text_buffer *out, const char *in, size_t length)
{
    assert_true(out->length >= 18);                     /* 10-byte header, 8-byte trailer */
    assert_memory_equal(out->data, "\x1f\x8b\x08", 3);  /* gzip magic, method deflate */
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    assert_non_null(d);
    char *back = malloc(length + 1);
    assert_non_null(back);
    size_t got = 0;
    /* One byte of spare room, so a longer output would show as a wrong length. */
    enum libdeflate_result r = libdeflate_gzip_decompress(d, out->data, out->length,
                                                          back, length + 1, &got);
    assert_int_equal(r, LIBDEFLATE_SUCCESS);
    assert_int_equal(got, length);
    assert_memory_equal(back, in, length);
    free(back);
    libdeflate_free_decompressor(d);
}

/* n lines like a /metrics body: the same family and labels, varying pids and counters. */
static char *metrics_like(size_t n, size_t *length)
{
    size_t size = n * 128;
    char *text = malloc(size);
    assert_non_null(text);
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, size - at,
            "tcpip_exporter_tcp_sent_bytes_total{name=\"proc%zu.exe\",pid=\"%zu\","
            "family=\"ipv4\"} %zu\n", i % 500, 1000 + 4 * (i % 500), i * 7919 % 1000003);
    *length = at;
    return text;
}

static void small_round_trip(void **state)
{
    (void)state;
    struct gzip_compressor *c = gzip_compressor_create();
    assert_non_null(c);
    struct text_buffer out;
    text_buffer_init(&out);
    const char *in = "# TYPE up gauge\nup 1\n";
    assert_true(gzip_compress(c, in, strlen(in), &out));
    assert_false(out.failed);
    assert_round_trip(&out, in, strlen(in));
    text_buffer_free(&out);
    gzip_compressor_destroy(c);
}

static void empty_input(void **state)
{
    (void)state;
    struct gzip_compressor *c = gzip_compressor_create();
    assert_non_null(c);
    struct text_buffer out;
    text_buffer_init(&out);
    assert_true(gzip_compress(c, "", 0, &out));
    assert_round_trip(&out, "", 0);
    text_buffer_free(&out);
    gzip_compressor_destroy(c);
}

/* Metrics text: a large body round-trips and comes out several times smaller. */
static void large_repetitive_input(void **state)
{
    (void)state;
    size_t length;
    char *in = metrics_like(100000, &length);   /* about 9 MB */
    struct gzip_compressor *c = gzip_compressor_create();
    assert_non_null(c);
    struct text_buffer out;
    text_buffer_init(&out);
    assert_true(gzip_compress(c, in, length, &out));
    assert_round_trip(&out, in, length);
    printf("gzip level 1: %zu bytes -> %zu (%.1f%%)\n", length, out.length,
           100.0 * (double)out.length / (double)length);
    assert_true(out.length < length / 5);
    text_buffer_free(&out);
    gzip_compressor_destroy(c);
    free(in);
}

/* Random bytes do not shrink: the output is then larger than the input, and the bound
 * must still leave room for it. */
static void incompressible_input(void **state)
{
    (void)state;
    size_t length = 1 << 20;
    char *in = malloc(length);
    assert_non_null(in);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < length; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* xorshift64 */
        in[i] = (char)(x >> 56);
    }
    struct gzip_compressor *c = gzip_compressor_create();
    assert_non_null(c);
    struct text_buffer out;
    text_buffer_init(&out);
    assert_true(gzip_compress(c, in, length, &out));
    assert_true(out.length > length);
    assert_round_trip(&out, in, length);
    text_buffer_free(&out);
    gzip_compressor_destroy(c);
    free(in);
}

/* The compressor and the buffer are reused per scrape: each call replaces the contents,
 * including after an earlier failure, and nothing of the previous body remains. */
static void reuse_replaces_contents(void **state)
{
    (void)state;
    size_t long_length;
    char *long_in = metrics_like(2000, &long_length);
    const char *short_in = "up 1\n";
    struct gzip_compressor *c = gzip_compressor_create();
    assert_non_null(c);
    struct text_buffer out;
    text_buffer_init(&out);
    assert_true(gzip_compress(c, long_in, long_length, &out));
    assert_round_trip(&out, long_in, long_length);
    out.failed = true;                                 /* as a failed render leaves it */
    assert_true(gzip_compress(c, short_in, strlen(short_in), &out));
    assert_false(out.failed);
    assert_round_trip(&out, short_in, strlen(short_in));
    assert_true(gzip_compress(c, long_in, long_length, &out));
    assert_round_trip(&out, long_in, long_length);
    text_buffer_free(&out);
    gzip_compressor_destroy(c);
    free(long_in);
}

static void destroy_null(void **state)
{
    (void)state;
    gzip_compressor_destroy(NULL);   /* like free(NULL), for clean-up paths */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_round_trip),
        cmocka_unit_test(empty_input),
        cmocka_unit_test(large_repetitive_input),
        cmocka_unit_test(incompressible_input),
        cmocka_unit_test(reuse_replaces_contents),
        cmocka_unit_test(destroy_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
