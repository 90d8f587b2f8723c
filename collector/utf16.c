#include "utf16.h"

#include "bytes.h"

static size_t utf8_length(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static void utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    switch (utf8_length(cp)) {
    case 1:
        o[0] = (unsigned char)cp;
        break;
    case 2:
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        break;
    case 3:
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        break;
    default:
        o[0] = (unsigned char)(0xF0 | cp >> 18);
        o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        break;
    }
}

/* The code point starting at unit i, and how many units it took (1 or 2). */
static uint32_t next_code_point(const uint8_t *src, size_t units, size_t i, size_t *taken)
{
    uint32_t u = load_le16(src + 2 * i);
    *taken = 1;
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
        uint32_t low = load_le16(src + 2 * (i + 1));
        if (low >= 0xDC00 && low <= 0xDFFF) {
            *taken = 2;
            return 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
        }
    }
    return u >= 0xD800 && u <= 0xDFFF ? 0xFFFD : u;
}

size_t utf16le_to_utf8(const uint8_t *src, size_t units, char *out, size_t out_size)
{
    size_t written = 0;
    for (size_t i = 0; i < units;) {
        size_t taken;
        uint32_t cp = next_code_point(src, units, i, &taken);
        if (cp == 0)
            break;
        size_t need = utf8_length(cp);
        if (written + need + 1 > out_size)
            break;
        utf8_put(cp, out + written);
        written += need;
        i += taken;
    }
    out[written] = '\0';
    return written;
}
