/* Growable byte buffer. Appends never fail loudly: a failed allocation marks the buffer
 * failed and later appends do nothing, so renderers check once at the end. */
#include "text_buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_buffer_init(struct text_buffer *buffer)
{
    memset(buffer, 0, sizeof *buffer);
}

void text_buffer_free(struct text_buffer *buffer)
{
    free(buffer->data);
    text_buffer_init(buffer);
}

void text_buffer_reset(struct text_buffer *buffer)
{
    buffer->length = 0;
    buffer->failed = false;
}

bool text_buffer_reserve(struct text_buffer *buffer, size_t extra)
{
    if (buffer->failed)
        return false;
    if (buffer->capacity - buffer->length > extra)  /* keep room for a NUL */
        return true;
    size_t wanted = buffer->length + extra + 1;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < wanted) {
        if (capacity > SIZE_MAX / 2) {
            buffer->failed = true;
            return false;
        }
        capacity *= 2;
    }
    char *data = realloc(buffer->data, capacity);
    if (data == NULL) {
        buffer->failed = true;
        return false;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return true;
}

void text_buffer_append(struct text_buffer *buffer, const char *bytes, size_t size)
{
    if (!text_buffer_reserve(buffer, size))
        return;
    memcpy(buffer->data + buffer->length, bytes, size);
    buffer->length += size;
    buffer->data[buffer->length] = '\0';
}

void text_buffer_append_str(struct text_buffer *buffer, const char *text)
{
    text_buffer_append(buffer, text, strlen(text));
}

void text_buffer_append_char(struct text_buffer *buffer, char c)
{
    if (!text_buffer_reserve(buffer, 1))
        return;
    buffer->data[buffer->length++] = c;
    buffer->data[buffer->length] = '\0';
}

/* Two digits at a time: the render writes hundreds of thousands of numbers per scrape and
 * snprintf would be most of its cost. */
static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t format_u64(char *out, uint64_t value)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    while (value >= 100) {
        unsigned pair = (unsigned)(value % 100) * 2;
        value /= 100;
        *--p = digit_pairs[pair + 1];
        *--p = digit_pairs[pair];
    }
    if (value >= 10) {
        unsigned pair = (unsigned)value * 2;
        *--p = digit_pairs[pair + 1];
        *--p = digit_pairs[pair];
    } else {
        *--p = (char)('0' + value);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    return n;
}

void text_buffer_append_u64(struct text_buffer *buffer, uint64_t value)
{
    if (!text_buffer_reserve(buffer, 24))
        return;
    buffer->length += format_u64(buffer->data + buffer->length, value);
    buffer->data[buffer->length] = '\0';
}

void text_buffer_appendf(struct text_buffer *buffer, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (needed < 0 || !text_buffer_reserve(buffer, (size_t)needed)) {
        if (needed < 0)
            buffer->failed = true;
        va_end(args);
        return;
    }
    vsnprintf(buffer->data + buffer->length, (size_t)needed + 1, format, args);
    buffer->length += (size_t)needed;
    va_end(args);
}
