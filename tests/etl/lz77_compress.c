/* The encoder mirror of collector/xca_lz77.c, kept separate so a shared misreading of
 * the spec would show up against the spec's own examples in test_xca_lz77.c. */
#include "lz77_compress.h"

#include <string.h>

#define HASH_BITS 14
#define MAX_DISTANCE 8192u

size_t lz77_compress_bound(size_t n) { return n + (n / 32 + 2) * 4 + 16; }

struct encoder {
    uint8_t *out;
    size_t pos;          /* next output byte */
    size_t flags_at;     /* where the current flag word goes */
    uint32_t flags;
    int flag_count;      /* flags used in the current word */
    size_t half_byte_at; /* a length byte with a free high nibble, or 0 */
};

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }

static void push_flag(struct encoder *e, int bit)
{
    if (e->flag_count == 32) {
        put32(e->out + e->flags_at, e->flags);
        e->flags_at = e->pos;
        e->pos += 4;
        e->flags = 0;
        e->flag_count = 0;
    }
    e->flags = e->flags << 1 | (uint32_t)bit;
    e->flag_count++;
}

static void put_match(struct encoder *e, size_t distance, size_t length)
{
    push_flag(e, 1);
    size_t extra = length - 3;
    put16(e->out + e->pos, (uint32_t)((distance - 1) << 3 | (extra < 7 ? extra : 7)));
    e->pos += 2;
    if (extra < 7)
        return;
    extra -= 7;
    size_t nibble = extra < 15 ? extra : 15;
    if (e->half_byte_at) {
        e->out[e->half_byte_at] |= (uint8_t)(nibble << 4);
        e->half_byte_at = 0;
    } else {
        e->half_byte_at = e->pos;
        e->out[e->pos++] = (uint8_t)nibble;
    }
    if (extra < 15)
        return;
    extra -= 15;
    if (extra < 255) {
        e->out[e->pos++] = (uint8_t)extra;
        return;
    }
    e->out[e->pos++] = 255;
    if (length - 3 < 65536) {
        put16(e->out + e->pos, (uint32_t)(length - 3));
        e->pos += 2;
    } else {
        put16(e->out + e->pos, 0);
        put32(e->out + e->pos + 2, (uint32_t)(length - 3));
        e->pos += 6;
    }
}

static uint32_t hash3(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) * 2654435761u >> (32 - HASH_BITS);
}

size_t lz77_compress(const uint8_t *in, size_t n, uint8_t *out, int literals_only)
{
    static size_t table[1u << HASH_BITS]; /* position + 1 of the last 3-byte prefix seen */
    memset(table, 0, sizeof table);
    struct encoder e = { out, 4, 0, 0, 0, 0 };
    size_t i = 0;
    while (i < n) {
        size_t best = 0, distance = 0;
        if (!literals_only && n - i >= 3) {
            uint32_t h = hash3(in + i);
            size_t candidate = table[h];
            table[h] = i + 1;
            if (candidate && i - (candidate - 1) <= MAX_DISTANCE) {
                size_t from = candidate - 1;
                while (i + best < n && in[from + best] == in[i + best])
                    best++;
                distance = i - from;
            }
        }
        if (best >= 3) {
            put_match(&e, distance, best);
            i += best;
        } else {
            push_flag(&e, 0);
            out[e.pos++] = in[i++];
        }
    }
    /* Unused flags are 1s: a match flag with no input left is the end marker. */
    uint32_t flags = 0xFFFFFFFFu;
    if (e.flag_count == 32)
        flags = e.flags;
    else if (e.flag_count > 0)
        flags = e.flags << (32 - e.flag_count) | ((1u << (32 - e.flag_count)) - 1);
    put32(out + e.flags_at, flags);
    return e.pos;
}
