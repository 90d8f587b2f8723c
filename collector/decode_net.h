/* The TcpIp/UdpIp payload layouts, as one static inline decoder of the fields a counter
 * needs (PID, size, type, op, family). Private to the collector: decode.c builds full net
 * facts on top of it, and process_table_feed counts with it directly, without building a
 * trace_fact or crossing into another translation unit for the tens of millions of
 * network events per second. One implementation of the layout rules, two callers.
 * Layouts: collector/README.md (kernel event layouts). */
#ifndef TCPIP_EXPORTER_DECODE_NET_H
#define TCPIP_EXPORTER_DECODE_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "decode.h"

/* One row per opcode: what the event is and how long its layout is with 4-byte pointers
 * (every layout ends in one pointer, connid, so 8-byte pointers add 4). len4 == 0 marks
 * opcodes we do not decode as net events (TcpIp 17, Fail, is one: it has no PID). */
struct net_desc {
    uint8_t len4;
    uint8_t type;   /* enum event_type */
    uint8_t op;     /* enum net_op */
    uint8_t family; /* enum ip_family */
};

/* Indexed by opcode; defined in decode.c. */
extern const struct net_desc decode_tcp_desc[256];
extern const struct net_desc decode_udp_desc[256];

/* What a network event does to the counters: the part of a net_fact that is not an
 * address or a port. */
struct net_head {
    uint8_t type;   /* enum event_type */
    uint8_t op;     /* enum net_op */
    uint8_t family; /* enum ip_family */
    bool truncated; /* shorter than the full layout: PID and size are there, the rest not */
    uint32_t pid;   /* from the payload, never the record header */
    uint32_t size;
};

/* What counting reads: PID @0 and size @4. */
#define NET_HEAD_LEN 8u

/* The layout entry of a record, or NULL for classes other than TcpIp and UdpIp. */
static inline const struct net_desc *decode_net_desc(const struct trace_record *r)
{
    if (r->event_class == TRACE_CLASS_TCPIP)
        return &decode_tcp_desc[r->opcode];
    if (r->event_class == TRACE_CLASS_UDPIP)
        return &decode_udp_desc[r->opcode];
    return NULL;
}

/* Where the endpoints end, after daddr, saddr, dport and sport. */
#define NET_V4_ENDPOINTS_END 20u
#define NET_V6_ENDPOINTS_END 44u

/* DECODE_OK with *h filled for a TcpIp/UdpIp event that carries a PID; DECODE_UNKNOWN for
 * anything else (other classes, TcpIp Fail, opcodes we do not decode, version 0);
 * DECODE_MALFORMED for a bad pointer size or a payload too short for PID and size. Every
 * PID-carrying layout of version 1 and later starts with PID @0 and size @4, and those
 * are the only reads: a payload that ends before the layout's trailing fields (seqnum,
 * connid) still counts, with truncated set, rather than losing its bytes (PerfView
 * accepts UdpIp from 20 bytes). A longer payload is fine: newer versions append.
 * Version 0 (Windows 2000 and XP) is another layout: TcpIp puts the addresses first and
 * the PID last, UdpIp has no PID at all (TcpIp_V0_TypeGroup1, UdpIp_V0_TypeGroup1). Read
 * as the later one it would credit its bytes to a pid made of an address; unknown, it is
 * counted as such. Version 1 (XP, 2003) ends after the ports: complete there. */
static inline enum decode_status decode_net_head(const struct trace_record *r,
                                                 struct net_head *h)
{
    const struct net_desc *d = decode_net_desc(r);
    if (d == NULL || d->len4 == 0 || r->version == 0)
        return DECODE_UNKNOWN;
    unsigned ps = r->pointer_size;
    if ((ps != 4 && ps != 8) || r->payload_size < NET_HEAD_LEN)
        return DECODE_MALFORMED;
    uint32_t full = r->version == 1
                        ? (d->family == FAMILY_IPV6 ? NET_V6_ENDPOINTS_END : NET_V4_ENDPOINTS_END)
                        : (uint32_t)d->len4 + ps - 4;
    h->truncated = r->payload_size < full;
    h->type = d->type;
    h->op = d->op;
    h->family = d->family;
    h->pid = load_le32(r->payload);
    h->size = load_le32(r->payload + 4);
    return DECODE_OK;
}

#endif
