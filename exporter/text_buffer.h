/* A growable byte buffer the renderers append to. It keeps its memory between uses so a
 * scrape every second does not allocate once the buffer has grown to the table's size. */
#ifndef TCPIP_EXPORTER_TEXT_BUFFER_H
#define TCPIP_EXPORTER_TEXT_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct text_buffer {
    char *data;
    size_t length;
    size_t capacity;
    bool failed;      /* an allocation failed: the contents are incomplete */
};

void text_buffer_init(struct text_buffer *buffer);
void text_buffer_free(struct text_buffer *buffer);
/* Empties the buffer, keeping its memory. */
void text_buffer_reset(struct text_buffer *buffer);
/* Makes room for `extra` more bytes; false (and failed set) when memory ran out. */
bool text_buffer_reserve(struct text_buffer *buffer, size_t extra);

void text_buffer_append(struct text_buffer *buffer, const char *bytes, size_t size);
void text_buffer_append_str(struct text_buffer *buffer, const char *text);
void text_buffer_append_char(struct text_buffer *buffer, char c);
void text_buffer_append_u64(struct text_buffer *buffer, uint64_t value);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void text_buffer_appendf(struct text_buffer *buffer, const char *format, ...);

/* Decimal digits of value into out (at least 21 bytes); returns the digit count, no NUL. */
size_t format_u64(char *out, uint64_t value);

#endif
