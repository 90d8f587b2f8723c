/* Little-endian loads, the big-endian 16-bit port, and ARRAY_SIZE: the one copy every
 * module uses. Trace payloads, ETL
 * buffers and LZ77 streams are little-endian byte arrays at arbitrary alignment, so loads
 * go through memcpy (one mov on x86-64, no unaligned access anywhere) and fall back to
 * byte assembly on a big-endian host. */
#ifndef TCPIP_EXPORTER_BYTES_H
#define TCPIP_EXPORTER_BYTES_H

#include <stdint.h>
#include <string.h>

#define ARRAY_SIZE(array) (sizeof(array) / sizeof((array)[0]))

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTES_HOST_IS_LITTLE_ENDIAN 0
#else
#define BYTES_HOST_IS_LITTLE_ENDIAN 1
#endif

static inline uint16_t load_le16(const uint8_t *p)
{
#if BYTES_HOST_IS_LITTLE_ENDIAN
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint16_t)(p[0] | p[1] << 8);
#endif
}

static inline uint32_t load_le32(const uint8_t *p)
{
#if BYTES_HOST_IS_LITTLE_ENDIAN
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

/* Ports are recorded in network byte order (big-endian). */
static inline uint16_t load_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#endif
