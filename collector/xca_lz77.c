/* MS-XCA plain LZ77 decoder, written from [MS-XCA] 2.4.4 (the pseudocode there), with a
 * bounds check before every read and write. The stream is a 32-bit flag word (read
 * MSB first: 0 = literal byte, 1 = match token) followed by the symbols it describes;
 * a match token is 16 bits: length-3 in the low 3 bits, distance-1 in the high 13, with
 * longer lengths continued in a shared half byte, then a byte, then 16 or 32 bits. */
#include "xca_lz77.h"

#include <string.h>

#include "bytes.h"

struct lz_state {
    const uint8_t *in;
    size_t in_size;
    size_t in_pos;
    size_t half_byte_pos; /* input offset of a half-used length byte, or 0 for none */
};

/* The spec's match-length continuation. Returns the full match length (>= 3) or 0 with
 * *status set. Lengths beyond 32 bits cannot occur in a buffer we could hold anyway. */
static size_t read_match_length(struct lz_state *s, uint32_t token, enum xca_status *status)
{
    size_t length = token & 7u;
    if (length == 7) {
        if (s->half_byte_pos == 0) {
            if (s->in_pos >= s->in_size) { *status = XCA_TRUNCATED; return 0; }
            length = s->in[s->in_pos] & 15u;
            s->half_byte_pos = s->in_pos;
            s->in_pos++;
        } else {
            length = s->in[s->half_byte_pos] >> 4;
            s->half_byte_pos = 0;
        }
        if (length == 15) {
            if (s->in_pos >= s->in_size) { *status = XCA_TRUNCATED; return 0; }
            length = s->in[s->in_pos++];
            if (length == 255) {
                if (s->in_size - s->in_pos < 2) { *status = XCA_TRUNCATED; return 0; }
                length = load_le16(s->in + s->in_pos);
                s->in_pos += 2;
                if (length == 0) {
                    if (s->in_size - s->in_pos < 4) { *status = XCA_TRUNCATED; return 0; }
                    length = load_le32(s->in + s->in_pos);
                    s->in_pos += 4;
                }
                if (length < 15 + 7) { *status = XCA_BAD_LENGTH; return 0; }
                length -= 15 + 7;
            }
            length += 15;
        }
        length += 7;
    }
    return length + 3;
}

/* Overlapping copies (distance < length) repeat the last bytes, so they go one at a time. */
static void copy_match(uint8_t *out, size_t pos, size_t distance, size_t length)
{
    if (distance >= length) {
        memcpy(out + pos, out + pos - distance, length);
        return;
    }
    for (size_t i = 0; i < length; i++)
        out[pos + i] = out[pos + i - distance];
}

enum xca_status xca_lz77_decompress(const uint8_t *in, size_t in_size, uint8_t *out,
                                    size_t out_capacity, size_t *out_size, size_t *error_at)
{
    struct lz_state s = { in, in_size, 0, 0 };
    size_t out_pos = 0;
    enum xca_status status = XCA_OK;
    size_t token_at = 0;

    for (;;) {
        if (s.in_pos == s.in_size)
            break; /* input used up at a token boundary: done */
        if (s.in_size - s.in_pos < 4) {
            /* A flag word needs 4 bytes; trailing bytes short of one end nothing valid. */
            token_at = s.in_pos;
            status = XCA_TRUNCATED;
            break;
        }
        uint32_t flags = load_le32(s.in + s.in_pos);
        s.in_pos += 4;
        int bit;
        for (bit = 31; bit >= 0; bit--) {
            token_at = s.in_pos;
            if ((flags >> bit & 1u) == 0) {
                if (s.in_pos == s.in_size)
                    goto done; /* no more symbols: tolerated end (some writers stop here) */
                if (out_pos == out_capacity) { status = XCA_OUTPUT_OVERFLOW; goto done; }
                out[out_pos++] = s.in[s.in_pos++];
                continue;
            }
            if (s.in_pos == s.in_size)
                goto done; /* the spec's end marker: a match flag with no input left */
            if (s.in_size - s.in_pos < 2) { status = XCA_TRUNCATED; goto done; }
            uint32_t token = load_le16(s.in + s.in_pos);
            s.in_pos += 2;
            size_t distance = (token >> 3) + 1;
            size_t length = read_match_length(&s, token, &status);
            if (length == 0)
                goto done;
            if (distance > out_pos) { status = XCA_BAD_OFFSET; goto done; }
            if (length > out_capacity - out_pos) { status = XCA_OUTPUT_OVERFLOW; goto done; }
            copy_match(out, out_pos, distance, length);
            out_pos += length;
        }
    }
done:
    *out_size = out_pos;
    if (error_at)
        *error_at = status == XCA_OK ? 0 : token_at;
    return status;
}

const char *xca_status_text(enum xca_status status)
{
    switch (status) {
    case XCA_OK: return "ok";
    case XCA_TRUNCATED: return "compressed data ends inside a token";
    case XCA_OUTPUT_OVERFLOW: return "compressed data expands beyond the buffer size";
    case XCA_BAD_OFFSET: return "match offset before start of output";
    case XCA_BAD_LENGTH: return "invalid match length";
    }
    return "unknown error";
}
