/* Image names come from the trace as ANSI bytes in the recording system's code page, so
 * they need not be UTF-8. Prometheus and JSON both require UTF-8: a name that is valid
 * UTF-8 passes unchanged; otherwise each byte >= 0x80 is read as Latin-1 (lossless and
 * right for the common Western code pages' letters). */
#ifndef TCPIP_EXPORTER_LABEL_TEXT_H
#define TCPIP_EXPORTER_LABEL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include "text_buffer.h"

bool utf8_valid(const char *text);

/* Copies text into out as UTF-8 (see above), truncating at a character boundary to fit
 * out_size including the NUL. 2 * strlen(text) + 1 bytes always suffice. */
void utf8_from_image_name(const char *text, char *out, size_t out_size);

/* Appends a label value with Prometheus/OpenMetrics escaping (\\, \", \n), UTF-8 fixed. */
void append_label_value(struct text_buffer *buffer, const char *value);

/* Appends HELP text with escaping (\\ and \n; \" too when openmetrics). */
void append_help_text(struct text_buffer *buffer, const char *text, bool openmetrics);

#endif
