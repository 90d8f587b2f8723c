/* UTF-16LE (as trace payloads and Windows APIs hold it) to UTF-8, bounded. Portable: the
 * replay decodes service names on any OS with it, and the live SCM scan uses it too. */
#ifndef TCPIP_EXPORTER_UTF16_H
#define TCPIP_EXPORTER_UTF16_H

#include <stddef.h>
#include <stdint.h>

/* Converts `units` code units at src (any alignment) into out, NUL-terminated, truncated
 * at a character boundary when out is too small. Unpaired surrogates become U+FFFD and a
 * NUL unit ends the string early, so the output is always valid UTF-8 without a NUL
 * inside. out_size >= 1. Returns the bytes written, without the NUL. */
size_t utf16le_to_utf8(const uint8_t *src, size_t units, char *out, size_t out_size);

#endif
