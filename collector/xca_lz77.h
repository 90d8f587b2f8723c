/* MS-XCA "plain LZ77" decompression ([MS-XCA] 2.3/2.4, the variant without Huffman), the
 * format of compressed ETL buffers. Bounds-checked: never reads outside [in, in + in_size)
 * nor writes outside [out, out + out_capacity), whatever the input. */
#ifndef TCPIP_EXPORTER_XCA_LZ77_H
#define TCPIP_EXPORTER_XCA_LZ77_H

#include <stddef.h>
#include <stdint.h>

enum xca_status {
    XCA_OK = 0,
    XCA_TRUNCATED,        /* input ended inside a literal, match token or length field */
    XCA_OUTPUT_OVERFLOW,  /* the data decompresses to more than out_capacity bytes */
    XCA_BAD_OFFSET,       /* a match refers to bytes before the start of the output */
    XCA_BAD_LENGTH,       /* an explicit match length below its encoding's minimum */
};

/* Decompress in[0, in_size) into out. The stream ends where the spec says (a match flag
 * with no input left) or when the input is used up at a token boundary. On XCA_OK,
 * *out_size is the number of bytes produced; on an error, the bytes produced before it
 * (out[0, *out_size) is valid) and *error_at the input offset of the offending token. */
enum xca_status xca_lz77_decompress(const uint8_t *in, size_t in_size, uint8_t *out,
                                    size_t out_capacity, size_t *out_size, size_t *error_at);

/* Human-readable reason for a status, e.g. "match offset before start of output". */
const char *xca_status_text(enum xca_status status);

#endif
