/* The remote peers of each process instance (or image name), beside the process table and
 * private to it. collector/README.md, "Remote peers", says what a peer is and why.
 *
 * One writer (the table's), lock-free readers, the same guarantees as the rows. A row
 * (an instance's row of the process table, or a name entry) has a shared header: a
 * sequence counter, the instance it belongs to, its list of peer slots and its `other`
 * counters. Counters grow in place by plain stores; anything that moves counts or changes
 * which peers a row has (a new peer, a fold into other, a promotion to a shown place, the
 * instance ending) happens with the header's sequence odd, so a reader that copies a
 * row's peers and other under that sequence sees every count exactly once: the sums over
 * peers and other are exact and never go down within an instance.
 *
 * The writer finds a peer through a private hash of its key, with a one-entry cache in
 * front (the events of one connection come in runs). Which port names a peer needs to
 * know who opened the connection: a Connect or an Accept says so; other connections (older
 * than the session) take the local port if the process accepted on it, else the lower of
 * the two. The exceptions to that rule (an outbound connection from a port lower than the
 * remote one, say) are remembered in a small set-associative cache of connections. */
#ifndef TCPIP_EXPORTER_PROCESS_TABLE_PEERS_H
#define TCPIP_EXPORTER_PROCESS_TABLE_PEERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"
#include "process_table.h"
#include "seqlock.h"
#include "trace_record.h"

/* Shared, one per peer: 128 bytes, two cache lines. The first holds all an event of a
 * known peer reads and writes: what the writer compares to find it (address, kind), the
 * traffic counters, last_seen and the ports. */
struct peer_slot {
    _Atomic uint64_t address[2];
    _Atomic uint64_t last_seen;  /* trace timestamp of its latest event */
    _Atomic uint32_t ports;      /* local << 16 | remote, of its latest event */
    _Atomic uint32_t kind;       /* family | protocol << 1 | direction << 2 | shown << 3 | port << 16 */
    _Atomic uint64_t counters[PEER_CTR_COUNT];
    _Atomic uint64_t peer_id;
    _Atomic uint64_t first_seen;
};

/* Shared, one per row, followed by per_process slot numbers. */
struct peer_row {
    _Atomic uint32_t seq;
    _Atomic uint32_t count;
    _Atomic uint64_t instance_id;  /* 0: no instance */
    _Atomic uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
    _Atomic uint32_t slot[];
};

/* What tells two peers of a row apart: its row, its kind as the slot has it (family,
 * protocol, direction and port; never the shown bit) and the remote address in the
 * slot's words (network order, masked to the family's prefix, IPv4 in the first 4 bytes). */
struct peer_key {
    uint32_t row, kind;
    uint64_t address[2];
};

/* Writer only: the entries of the key hash, 8 bytes each, so the whole hash stays in the
 * writer's cache (196 KB at the default capacity). An entry holds the slot and the key's
 * row; the rest of the key is compared in the slot's first line, the one the event then
 * counts into, so an event of a known peer costs that one line (bench_table). The slot's
 * counters are added in place: the writer loads a line readers may share, which stays a
 * local hit (no other core writes it). */
struct peer_entry {
    uint32_t slot;             /* slot + 1; 0 = empty */
    uint32_t row;
};

/* Writer only, one per slot. */
struct peer_private {
    struct peer_key key;
    uint32_t position;         /* index in its row's slot list */
    bool shown;
};

/* Writer only, one per row. */
enum { PEER_ACCEPTED_PORTS = 8 };
struct peer_row_state {
    uint64_t accepted_filter;               /* a bit per accepted port: port_bit */
    uint16_t accepted[PEER_ACCEPTED_PORTS]; /* local ports it accepted on (0: none) */
    uint32_t accepted_next;                 /* where the next one goes, round robin */
    uint32_t shown;                         /* peers marked shown */
    uint32_t exceptions;                    /* cached connections of this instance */
    uint32_t instance;                      /* low bits of its instance id, for the cache */
};

/* A connection whose peer does not follow the rule. Cached, PEER_WAYS per set. */
enum { PEER_WAYS = 4 };
struct peer_connection {
    uint64_t local[2], remote[2];      /* as struct peer_key's address, not masked */
    uint32_t row, instance;
    uint16_t local_port, remote_port, port;
    uint8_t family, protocol, direction, used;
};

/* What an event of each op adds to its peer (bytes to one counter, 1 to another; -1:
 * none) and how it takes the one-entry cache: its `what` joins the family and the row in
 * the cache's tag. Ops that open or close connections, or have no peer, never take it. */
enum {
    PEER_WHAT_SWAPPED = 4u,  /* a UDP receive records its ends the other way round */
    PEER_WHAT_NEVER = 0x80u, /* never equal to a remembered tag */
};
struct peer_op {
    int8_t bytes, events;
    uint8_t protocol;
    uint8_t what;  /* protocol << 1 | PEER_WHAT_SWAPPED or PEER_WHAT_NEVER */
};
extern const struct peer_op PEER_OPS[NET_UDP_RECV + 1];

/* The one-entry cache: the row, op kind and recorded ends of the latest event that was
 * counted into a peer, and that peer. The events of one connection come in runs (48% and
 * 89% of the shared perfview traces' network events continue the one before), so this is
 * checked first and inline, on the payload's bytes as they are. */
#define PEER_NO_TAG UINT64_MAX
struct peer_last {
    uint64_t tag;                      /* peer_last_tag; PEER_NO_TAG when empty */
    uint64_t ends[5];                  /* peer_last_words of its record */
    uint32_t slot;
};

struct peer_store {
    /* immutable after creation */
    uint32_t capacity, per_process, shown_max, rows;
    uint8_t prefix[FAMILY_COUNT];
    uint64_t mask[FAMILY_COUNT][2];    /* the prefix as a mask on address words */
    uint64_t seed;                     /* process_table_config.peer_hash_seed */
    size_t row_stride;
    unsigned char *row_block;          /* rows * row_stride bytes of struct peer_row */
    struct peer_slot *slots;           /* shared */
    _Atomic uint64_t (*shown_from)[PEER_CTR_COUNT]; /* shared, per slot: peer_view's */
    void *block;                       /* the one allocation */
    /* writer only */
    struct peer_private *priv;
    struct peer_row_state *row_state;
    uint32_t *free_slots;
    uint32_t free_count;
    struct peer_entry *entries;        /* the key hash, linear probing */
    uint32_t hash_slots;
    struct peer_connection *connections;
    uint32_t connection_sets;          /* a power of two, PEER_WAYS entries each */
    uint32_t connection_clock;         /* round-robin victim within a set */
    struct peer_last last;             /* the latest event's peer */
    uint64_t next_peer_id;
    /* shared statistics */
    _Atomic uint32_t in_use;
    _Atomic uint64_t evicted, refused, swaps;
};

/* rows: the number of row headers; name_rows: every row is its own instance from the
 * start (instance id row + 1), for the per-name store. */
bool peer_store_init(struct peer_store *s, const struct process_table_config *config,
                     uint32_t rows, bool name_rows);
void peer_store_free(struct peer_store *s);
size_t peer_store_footprint(const struct process_table_config *config, uint32_t rows);

/* Writer. op is an enum net_op, family an enum ip_family, both valid. */
void peers_instance_begin(struct peer_store *s, uint32_t row, uint64_t instance_id);
void peers_instance_end(struct peer_store *s, uint32_t row);
/* A network event, from its record: its payload holds, after PID and size
 * (PEER_PAYLOAD_ENDPOINTS bytes), daddr, saddr, then dport and sport big-endian; a record
 * that ends first counts into other. */
enum { PEER_PAYLOAD_ENDPOINTS = 8, PEER_RECORD_BYTES = PEER_PAYLOAD_ENDPOINTS + 36 };
void peers_count_record(struct peer_store *s, uint32_t row, unsigned op, unsigned family,
                        uint32_t size, const struct trace_record *record);
/* The record of a network fact, as far as the peers read it: its ends laid out in payload
 * (room for PEER_RECORD_BYTES) as the event recorded them. */
struct trace_record peers_record_of_fact(uint8_t *payload, const struct net_fact *net,
                                         uint64_t timestamp);
void peers_housekeep(struct peer_store *s);

/* Recorded bytes of the ends: 12 for IPv4, 36 for IPv6. */
static inline size_t peer_ends_bytes(unsigned family)
{
    return family == FAMILY_IPV6 ? 36 : 12;
}

static inline uint64_t peer_last_tag(uint32_t row, unsigned what, unsigned family)
{
    return (uint64_t)row << 32 | what | family;
}

/* An event's recorded ends (the payload's bytes from PEER_PAYLOAD_ENDPOINTS, which are
 * there) as the words struct peer_last keeps: the first two for IPv4, all five for IPv6. */
static inline void peer_last_words(uint64_t w[5], const uint8_t *payload, unsigned family)
{
    const uint8_t *p = payload + PEER_PAYLOAD_ENDPOINTS;
    uint32_t tail;
    if (family == FAMILY_IPV6) {
        memcpy(w, p, 32);
        memcpy(&tail, p + 32, 4);
        w[4] = tail;
    } else {
        memcpy(w, p, 8);
        memcpy(&tail, p + 8, 4);
        w[1] = tail;
    }
}

/* An event of the latest event's peer, counted; false for any other (then
 * peers_count_record counts it). Inlined into process_table_feed: nearly half the events
 * end here. The same guarantees as the rest of the writer: the slot's counters grow in
 * place. */
static inline bool peers_count_last(struct peer_store *s, uint32_t row, unsigned op,
                                    unsigned family, uint32_t size,
                                    const struct trace_record *record)
{
    const struct peer_op *o = &PEER_OPS[op];
    if (peer_last_tag(row, o->what, family) != s->last.tag ||
        record->payload_size < PEER_PAYLOAD_ENDPOINTS + peer_ends_bytes(family))
        return false;
    uint64_t w[5];
    peer_last_words(w, record->payload, family);
    uint64_t differs = (w[0] ^ s->last.ends[0]) | (w[1] ^ s->last.ends[1]);
    if (family == FAMILY_IPV6)
        differs |= (w[2] ^ s->last.ends[2]) | (w[3] ^ s->last.ends[3]) |
                   (w[4] ^ s->last.ends[4]);
    if (differs != 0)
        return false;
    struct peer_slot *sl = &s->slots[s->last.slot];
    if (o->bytes >= 0)
        add_u64(&sl->counters[o->bytes], size);
    add_u64(&sl->counters[o->events], 1);
    /* Events come in time order but for a little jitter between processors' buffers: the
     * latest one seen is close enough for "last seen" and for the least-recent choice. */
    set64(&sl->last_seen, record->timestamp);
    return true;
}

/* Reader: the peers and other of row's instance instance_id into out (room for
 * per_process); false when the row holds another instance by now. */
bool peers_read_row(const struct peer_store *s, uint32_t row, uint64_t instance_id,
                    struct peer_view *out, size_t *count,
                    uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT]);

#endif
