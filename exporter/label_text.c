/* UTF-8 repair and the escaping rules of the Prometheus text format 0.0.4 and
 * OpenMetrics 1.0 (identical for label values). */
#include "label_text.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one (overlongs, surrogates
 * and code points above U+10FFFF are invalid too). */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2; min = 0x80; cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3; min = 0x800; cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4; min = 0x10000; cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;   /* also stops at the NUL */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

bool utf8_valid(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        size_t n = utf8_sequence_length(s);
        if (n == 0)
            return false;
        s += n;
    }
    return true;
}

void utf8_from_image_name(const char *text, char *out, size_t out_size)
{
    if (out_size == 0)
        return;
    size_t used = 0;
    if (utf8_valid(text)) {
        const unsigned char *s = (const unsigned char *)text;
        while (*s) {
            size_t n = utf8_sequence_length(s);
            if (used + n >= out_size)
                break;
            memcpy(out + used, s, n);
            used += n;
            s += n;
        }
    } else {
        for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
            size_t n = *s < 0x80 ? 1 : 2;
            if (used + n >= out_size)
                break;
            if (n == 1) {
                out[used] = (char)*s;
            } else {
                out[used] = (char)(0xC0 | (*s >> 6));
                out[used + 1] = (char)(0x80 | (*s & 0x3F));
            }
            used += n;
        }
    }
    out[used] = '\0';
}

static void append_escaped(struct text_buffer *buffer, const char *text, bool quotes)
{
    const char *run = text;
    const char *p = text;
    for (; *p; p++) {
        const char *escape = NULL;
        if (*p == '\\')
            escape = "\\\\";
        else if (*p == '\n')
            escape = "\\n";
        else if (*p == '"' && quotes)
            escape = "\\\"";
        if (escape) {
            text_buffer_append(buffer, run, (size_t)(p - run));
            text_buffer_append(buffer, escape, 2);
            run = p + 1;
        }
    }
    text_buffer_append(buffer, run, (size_t)(p - run));
}

void append_label_value(struct text_buffer *buffer, const char *value)
{
    if (utf8_valid(value)) {
        append_escaped(buffer, value, true);
        return;
    }
    size_t size = 2 * strlen(value) + 1;
    char fixed[2 * 256 + 1];
    if (size > sizeof fixed)
        size = sizeof fixed;
    utf8_from_image_name(value, fixed, size);
    append_escaped(buffer, fixed, true);
}

void append_help_text(struct text_buffer *buffer, const char *text, bool openmetrics)
{
    append_escaped(buffer, text, openmetrics);
}
