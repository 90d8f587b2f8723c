/* A small MS-XCA plain LZ77 compressor for the test ETL writer: greedy matching over a
 * hash of 3-byte prefixes, every length encoding of [MS-XCA] 2.3 (3 bits, shared half
 * byte, byte, 16 and 32 bits). Written for correctness, not ratio. */
#ifndef TCPIP_EXPORTER_TEST_LZ77_COMPRESS_H
#define TCPIP_EXPORTER_TEST_LZ77_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Worst case output size for n input bytes (all literals plus flag words). */
size_t lz77_compress_bound(size_t n);

/* Compress in[0, n) into out (room for lz77_compress_bound(n)); returns the length.
 * literals_only != 0 emits no matches (a second, simpler valid encoding). */
size_t lz77_compress(const uint8_t *in, size_t n, uint8_t *out, int literals_only);

#endif
