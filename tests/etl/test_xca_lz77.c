/* MS-XCA plain LZ77 decoder: the spec's own examples ([MS-XCA] 3.1), every length
 * encoding through the test compressor, and malformed streams that must fail cleanly
 * (exactly-sized heap inputs, so a sanitized build catches any over-read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lz77_compress.h"
#include "bytes.h"
#include "xca_lz77.h"

/* Decompress from an exactly-sized heap copy of in. */
static enum xca_status run(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *got)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, in, n);
    size_t at = 0;
    enum xca_status st = xca_lz77_decompress(copy, n, out, cap, got, &at);
    free(copy);
    return st;
}

static void spec_example_literals(void **state)
{
    (void)state;
    static const uint8_t in[] = { 0x3f, 0x00, 0x00, 0x00, 'a', 'b', 'c', 'd', 'e', 'f', 'g',
        'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x',
        'y', 'z' };
    uint8_t out[64];
    size_t got = 0;
    assert_int_equal(run(in, sizeof in, out, sizeof out, &got), XCA_OK);
    assert_int_equal(got, 26);
    assert_memory_equal(out, "abcdefghijklmnopqrstuvwxyz", 26);
}

static void spec_example_long_match(void **state)
{
    (void)state;
    /* "abc" x 100: three literals, then one match of 297 at distance 3 using the half
     * byte (15), the byte (255) and the 16-bit length (294 = 297 - 3). */
    static const uint8_t in[] = { 0xff, 0xff, 0xff, 0x1f, 'a', 'b', 'c', 0x17, 0x00, 0x0f,
                                  0xff, 0x26, 0x01 };
    uint8_t out[300];
    size_t got = 0;
    assert_int_equal(run(in, sizeof in, out, sizeof out, &got), XCA_OK);
    assert_int_equal(got, 300);
    for (int i = 0; i < 300; i++)
        assert_int_equal(out[i], "abc"[i % 3]);
    /* One byte less room: the match overflows and nothing is written past the end. */
    uint8_t *small = malloc(299);
    assert_non_null(small);
    assert_int_equal(run(in, sizeof in, small, 299, &got), XCA_OUTPUT_OVERFLOW);
    assert_int_equal(got, 3);
    free(small);
}

static void round_trip(const uint8_t *data, size_t n, int literals_only)
{
    uint8_t *packed = malloc(lz77_compress_bound(n));
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(packed);
    assert_non_null(out);
    size_t m = lz77_compress(data, n, packed, literals_only);
    size_t got = 0;
    assert_int_equal(run(packed, m, out, n, &got), XCA_OK);
    assert_int_equal(got, n);
    assert_memory_equal(out, data, n);
    free(packed);
    free(out);
}

static void round_trips_every_length_encoding(void **state)
{
    (void)state;
    /* Runs of 3..70000 bytes exercise the 3-bit, half-byte, byte, 16- and 32-bit length
     * forms; alternating runs make two matches share one half byte. */
    size_t n = 0, cap = 400000;
    uint8_t *data = malloc(cap);
    assert_non_null(data);
    static const size_t runs[] = { 3, 4, 9, 10, 11, 24, 25, 26, 40, 279, 280, 281, 300,
                                   1000, 65538, 65539, 70000, 12, 13 };
    uint32_t seed = 12345;
    for (size_t r = 0; r < ARRAY_SIZE(runs); r++) {
        for (int k = 0; k < 5; k++) { /* a few random literals between runs */
            seed = seed * 1103515245u + 12345u;
            data[n++] = (uint8_t)(seed >> 16);
        }
        memset(data + n, (int)('A' + r), runs[r]);
        n += runs[r];
    }
    assert_true(n < cap);
    round_trip(data, n, 0);
    round_trip(data, n, 1);
    round_trip(data, 0, 0);
    round_trip((const uint8_t *)"x", 1, 0);
    free(data);
}

static void truncated_streams_fail(void **state)
{
    (void)state;
    static const uint8_t full[] = { 0xff, 0xff, 0xff, 0x1f, 'a', 'b', 'c', 0x17, 0x00, 0x0f,
                                    0xff, 0x26, 0x01 };
    uint8_t out[300];
    size_t got;
    /* Cut inside the flag word, the token, the half byte's follow-up and the 16-bit length. */
    assert_int_equal(run(full, 2, out, sizeof out, &got), XCA_TRUNCATED);
    assert_int_equal(run(full, 8, out, sizeof out, &got), XCA_TRUNCATED);
    assert_int_equal(run(full, 9, out, sizeof out, &got), XCA_TRUNCATED);
    assert_int_equal(run(full, 10, out, sizeof out, &got), XCA_TRUNCATED);
    assert_int_equal(run(full, 12, out, sizeof out, &got), XCA_TRUNCATED);
    /* Cut right after the literals: a clean end (3 bytes), which the caller's size check
     * then rejects. */
    assert_int_equal(run(full, 7, out, sizeof out, &got), XCA_OK);
    assert_int_equal(got, 3);
}

static void bad_offset_and_length_fail(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t got;
    /* A match first thing: distance 1 with nothing written yet. */
    static const uint8_t before_start[] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 };
    assert_int_equal(run(before_start, sizeof before_start, out, sizeof out, &got),
                     XCA_BAD_OFFSET);
    /* One literal, then distance 2. */
    static const uint8_t too_far[] = { 0xff, 0xff, 0xff, 0x7f, 'a', 0x08, 0x00 };
    assert_int_equal(run(too_far, sizeof too_far, out, sizeof out, &got), XCA_BAD_OFFSET);
    /* 16-bit explicit length below 22. */
    static const uint8_t short_len[] = { 0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00, 0x0f,
                                         0xff, 0x05, 0x00 };
    assert_int_equal(run(short_len, sizeof short_len, out, sizeof out, &got), XCA_BAD_LENGTH);
    /* 32-bit length of 4 GiB: overflow, never a huge write. */
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0x7f, 'a', 0x07, 0x00, 0x0f, 0xff,
                                    0x00, 0x00, 0xff, 0xff, 0xff, 0xff };
    assert_int_equal(run(huge, sizeof huge, out, sizeof out, &got), XCA_OUTPUT_OVERFLOW);
    /* Literals beyond the output capacity. */
    static const uint8_t lits[] = { 0x00, 0x00, 0x00, 0x00, 'a', 'b', 'c' };
    assert_int_equal(run(lits, sizeof lits, out, 2, &got), XCA_OUTPUT_OVERFLOW);
    assert_int_equal(got, 2);
    assert_string_equal(xca_status_text(XCA_BAD_OFFSET), "match offset before start of output");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_example_literals),
        cmocka_unit_test(spec_example_long_match),
        cmocka_unit_test(round_trips_every_length_encoding),
        cmocka_unit_test(truncated_streams_fail),
        cmocka_unit_test(bad_offset_and_length_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
