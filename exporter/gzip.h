/* gzip for /metrics, on libdeflate at level 1: the exposition text repeats the same family
 * names and labels on every line, so the fastest level already shrinks it to under a tenth.
 * Measured on a 10,000-process body (19.6 MB): level 1 gives 7.0% in 21 ms, level 6 gives
 * 5.9% in 98 ms; a scrape is better off sending the extra bytes. The compressor keeps
 * libdeflate's match-finder tables between calls, so a scrape every second does not
 * allocate them anew. */
#ifndef TCPIP_EXPORTER_GZIP_H
#define TCPIP_EXPORTER_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include "text_buffer.h"

struct gzip_compressor;                       /* not thread-safe: one per concurrent user */

/* NULL when memory ran out. */
struct gzip_compressor *gzip_compressor_create(void);
void gzip_compressor_destroy(struct gzip_compressor *c);

/* Replaces out's contents with the gzip member of in[0..length). False when memory ran out. */
bool gzip_compress(struct gzip_compressor *c, const char *in, size_t length,
                   struct text_buffer *out);

#endif
