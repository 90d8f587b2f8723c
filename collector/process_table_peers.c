/* Remote peers per row: process_table_peers.h says what is shared and why it is exact. */
#include "process_table_peers.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "seqlock.h"

#define CACHE_LINE 64u
#define NO_SLOT UINT32_MAX

/* New peers and the exceptions to the port rule are rare next to the events of known
 * peers: out of line, so the per-event path stays small; what every event runs is inlined
 * into peers_count_record whole (bench_table counts its cost per event). */
#if defined(__GNUC__)
#define NOINLINE_PEERS __attribute__((noinline))
#define HOT static inline __attribute__((always_inline))
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define NOINLINE_PEERS
#define HOT static inline
#define PREFETCH(address) ((void)(address))
#endif

_Static_assert(sizeof(struct peer_slot) == 2 * CACHE_LINE, "a peer fills two cache lines");
_Static_assert(sizeof(struct peer_key) == 24, "a key is three words");
_Static_assert(sizeof(struct peer_entry) == 8, "eight hash entries to a cache line");
/* Sent and received bytes and events: what nearly every event adds to. */
enum { PEER_TRAFFIC = 4 };
_Static_assert(offsetof(struct peer_slot, counters) + PEER_TRAFFIC * 8 <= CACHE_LINE,
               "an event of a known peer touches the slot's first line only");

/* A busier peer takes a shown place only when clearly busier, so two peers of about the
 * same traffic do not trade places (each trade restarts a series) at every housekeeping. */
#define SWAP_RATIO_NUM 5u
#define SWAP_RATIO_DEN 4u

static const int8_t TCP_COUNTERS[PEER_CTR_COUNT] = {
    CTR_SENT_BYTES, CTR_SENT_EVENTS, CTR_RECV_BYTES, CTR_RECV_EVENTS, CTR_CONNECTS,
    CTR_ACCEPTS, CTR_DISCONNECTS, CTR_RETRANSMITS, CTR_RETRANSMIT_BYTES, CTR_RECONNECTS,
};
static const int8_t UDP_COUNTERS[PEER_CTR_COUNT] = {
    CTR_UDP_SENT_BYTES, CTR_UDP_SENT_DATAGRAMS, CTR_UDP_RECV_BYTES, CTR_UDP_RECV_DATAGRAMS,
    -1, -1, -1, -1, -1, -1,
};

int peer_process_counter(enum peer_protocol protocol, enum peer_counter counter)
{
    if ((unsigned)counter >= PEER_CTR_COUNT)
        return -1;
    if (protocol == PEER_TCP)
        return TCP_COUNTERS[counter];
    if (protocol == PEER_UDP)
        return UDP_COUNTERS[counter];
    return -1;
}

#define TCP_WHAT ((uint8_t)(PEER_TCP << 1))
#define UDP_WHAT ((uint8_t)(PEER_UDP << 1))
const struct peer_op PEER_OPS[NET_UDP_RECV + 1] = {
    [NET_TCP_SEND] = {PEER_SENT_BYTES, PEER_SENT_EVENTS, PEER_TCP, TCP_WHAT},
    [NET_TCP_RECV] = {PEER_RECV_BYTES, PEER_RECV_EVENTS, PEER_TCP, TCP_WHAT},
    [NET_TCP_CONNECT] = {-1, PEER_CONNECTS, PEER_TCP, PEER_WHAT_NEVER},
    [NET_TCP_DISCONNECT] = {-1, PEER_DISCONNECTS, PEER_TCP, PEER_WHAT_NEVER},
    [NET_TCP_RETRANSMIT] = {PEER_RETRANSMIT_BYTES, PEER_RETRANSMITS, PEER_TCP, TCP_WHAT},
    [NET_TCP_ACCEPT] = {-1, PEER_ACCEPTS, PEER_TCP, PEER_WHAT_NEVER},
    [NET_TCP_RECONNECT] = {-1, PEER_RECONNECTS, PEER_TCP, PEER_WHAT_NEVER},
    [NET_TCP_COPY] = {-1, -1, PEER_TCP, PEER_WHAT_NEVER}, /* no peer: process counters only */
    [NET_UDP_SEND] = {PEER_SENT_BYTES, PEER_SENT_EVENTS, PEER_UDP, UDP_WHAT},
    [NET_UDP_RECV] = {PEER_RECV_BYTES, PEER_RECV_EVENTS, PEER_UDP,
                      UDP_WHAT | PEER_WHAT_SWAPPED},
};

/* ---- sizing ---- */

struct peer_layout {
    size_t row_stride, rows, slots, shown_from, priv, row_state, free_slots, hash, connections,
        total;
    uint32_t capacity, per_process, hash_slots, connection_sets;
};

static size_t align_up(size_t n)
{
    return (n + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

static uint32_t power_of_two_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

static struct peer_layout peer_plan(const struct process_table_config *c, uint32_t rows)
{
    struct peer_layout l;
    l.capacity = c->peer_capacity;
    l.per_process = c->peers_per_process ? c->peers_per_process
                                         : PROCESS_TABLE_DEFAULT_PEERS_PER_PROCESS;
    if (l.per_process > PROCESS_TABLE_MAX_PEERS_PER_PROCESS)
        l.per_process = PROCESS_TABLE_MAX_PEERS_PER_PROCESS;
    /* At most two thirds full. Not a power of two: Lemire's reduction needs none. */
    l.hash_slots = l.capacity + l.capacity / 2 + 1;
    /* One cached connection per two peers: exceptions to the port rule are rare. */
    l.connection_sets = power_of_two_at_least(l.capacity / (2 * PEER_WAYS) + 1);
    l.row_stride = align_up(sizeof(struct peer_row) + l.per_process * sizeof(uint32_t));
    size_t at = 0;
    l.rows = at;
    at += (size_t)rows * l.row_stride;
    l.slots = at;
    at += align_up((size_t)l.capacity * sizeof(struct peer_slot));
    l.shown_from = at;
    at += align_up((size_t)l.capacity * PEER_CTR_COUNT * sizeof(uint64_t));
    l.priv = at;
    at += align_up((size_t)l.capacity * sizeof(struct peer_private));
    l.row_state = at;
    at += align_up((size_t)rows * sizeof(struct peer_row_state));
    l.free_slots = at;
    at += align_up((size_t)l.capacity * sizeof(uint32_t));
    l.hash = at;
    at += align_up((size_t)l.hash_slots * sizeof(struct peer_entry));
    l.connections = at;
    at += align_up((size_t)l.connection_sets * PEER_WAYS * sizeof(struct peer_connection));
    l.total = at + CACHE_LINE;
    return l;
}

size_t peer_store_footprint(const struct process_table_config *config, uint32_t rows)
{
    return config->peer_capacity ? peer_plan(config, rows).total : 0;
}

static struct peer_row *row_header(const struct peer_store *s, uint32_t row)
{
    return (struct peer_row *)(s->row_block + (size_t)row * s->row_stride);
}

static void last_forget(struct peer_store *s)
{
    s->last.tag = PEER_NO_TAG;
}

static void row_header_init(struct peer_store *s, uint32_t row, uint64_t instance_id)
{
    struct peer_row *h = row_header(s, row);
    atomic_init(&h->seq, 0);
    atomic_init(&h->count, 0);
    atomic_init(&h->instance_id, instance_id);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
            for (int c = 0; c < PEER_CTR_COUNT; c++)
                atomic_init(&h->other[f][p][c], 0);
    for (uint32_t i = 0; i < s->per_process; i++)
        atomic_init(&h->slot[i], 0);
}

static void slot_init(struct peer_slot *slot)
{
    atomic_init(&slot->peer_id, 0);
    atomic_init(&slot->kind, 0);
    atomic_init(&slot->ports, 0);
    atomic_init(&slot->address[0], 0);
    atomic_init(&slot->address[1], 0);
    atomic_init(&slot->first_seen, 0);
    atomic_init(&slot->last_seen, 0);
    for (int c = 0; c < PEER_CTR_COUNT; c++)
        atomic_init(&slot->counters[c], 0);
}

static uint8_t prefix_or_full(uint8_t prefix, uint8_t full)
{
    return prefix == 0 || prefix > full ? full : prefix;
}

/* The first bits of an address's words (network order in memory), as a mask. */
static void prefix_mask(uint64_t mask[2], unsigned bits)
{
    uint8_t bytes[16] = {0};
    for (unsigned b = 0; b < bits; b++)
        bytes[b / 8] |= (uint8_t)(0x80u >> (b % 8));
    memcpy(mask, bytes, sizeof bytes);
}

bool peer_store_init(struct peer_store *s, const struct process_table_config *config,
                     uint32_t rows, bool name_rows)
{
    memset(s, 0, sizeof *s);
    if (config->peer_capacity == 0)
        return true;
    struct peer_layout l = peer_plan(config, rows);
    unsigned char *block = malloc(l.total);
    if (!block)
        return false;
    unsigned char *base = block + ((CACHE_LINE - (uintptr_t)block % CACHE_LINE) % CACHE_LINE);
    s->block = block;
    s->capacity = l.capacity;
    s->per_process = l.per_process;
    s->shown_max = config->peers_shown;
    s->rows = rows;
    s->seed = config->peer_hash_seed;
    s->prefix[FAMILY_IPV4] = prefix_or_full(config->peer_ipv4_prefix, 32);
    s->prefix[FAMILY_IPV6] = prefix_or_full(config->peer_ipv6_prefix, 128);
    for (int f = 0; f < FAMILY_COUNT; f++)
        prefix_mask(s->mask[f], s->prefix[f]);
    s->row_stride = l.row_stride;
    s->row_block = base + l.rows;
    s->slots = (struct peer_slot *)(base + l.slots);
    s->shown_from = (_Atomic uint64_t (*)[PEER_CTR_COUNT])(base + l.shown_from);
    s->priv = (struct peer_private *)(base + l.priv);
    s->row_state = (struct peer_row_state *)(base + l.row_state);
    s->free_slots = (uint32_t *)(base + l.free_slots);
    s->entries = (struct peer_entry *)(base + l.hash);
    s->hash_slots = l.hash_slots;
    s->connections = (struct peer_connection *)(base + l.connections);
    s->connection_sets = l.connection_sets;
    for (uint32_t r = 0; r < rows; r++)
        row_header_init(s, r, name_rows ? (uint64_t)r + 1 : 0);
    for (uint32_t i = 0; i < l.capacity; i++) {
        slot_init(&s->slots[i]);
        for (int c = 0; c < PEER_CTR_COUNT; c++)
            atomic_init(&s->shown_from[i][c], 0);
    }
    memset(s->priv, 0, (size_t)l.capacity * sizeof *s->priv);
    memset(s->row_state, 0, (size_t)rows * sizeof *s->row_state);
    memset(s->entries, 0, (size_t)l.hash_slots * sizeof *s->entries);
    memset(s->connections, 0, (size_t)l.connection_sets * PEER_WAYS * sizeof *s->connections);
    /* Popped from the top: slot 0 first, so a small store stays in few pages. */
    for (uint32_t i = 0; i < l.capacity; i++)
        s->free_slots[i] = l.capacity - 1 - i;
    s->free_count = l.capacity;
    s->next_peer_id = 1;
    last_forget(s);
    atomic_init(&s->in_use, 0);
    atomic_init(&s->evicted, 0);
    atomic_init(&s->refused, 0);
    atomic_init(&s->swaps, 0);
    return true;
}

void peer_store_free(struct peer_store *s)
{
    free(s->block);
    memset(s, 0, sizeof *s);
}

/* ---- writer: the key hash ---- */

#define KIND_SHOWN (1u << 3)

/* The kind a slot publishes: its key's, and whether it is shown. */
static uint32_t slot_kind(const struct peer_private *p)
{
    return p->key.kind | (p->shown ? KIND_SHOWN : 0);
}

HOT unsigned key_family(const struct peer_key *k)
{
    return k->kind & 1u;
}

static unsigned key_protocol(const struct peer_key *k)
{
    return (k->kind >> 1) & 1u;
}

/* The home entry of a key: a multiplicative mix of its words (an IPv4 key's second is
 * zero), mapped onto the table by multiplication (Lemire's range reduction), as the size
 * is not a power of two. */
HOT uint32_t key_home(const struct peer_store *s, const struct peer_key *k)
{
    uint64_t h = (((uint64_t)k->kind << 32 | k->row) ^ s->seed) * 0x9E3779B97F4A7C15ull;
    h = (h ^ k->address[0]) * 0xC2B2AE3D27D4EB4Full;
    if (key_family(k) == FAMILY_IPV6)
        h = (h ^ k->address[1]) * 0x165667B19E3779F9ull;
    return (uint32_t)(((h >> 32) * (uint64_t)s->hash_slots) >> 32);
}

HOT uint32_t next_entry(const struct peer_store *s, uint32_t i)
{
    return i + 1 == s->hash_slots ? 0 : i + 1;
}

/* Whether slot holds the peer of k: its row is known to match. The slot's kind and
 * address are the rest of the key (the writer published them and alone changes them). */
HOT bool slot_is(const struct peer_store *s, uint32_t slot, const struct peer_key *k)
{
    const struct peer_slot *sl = &s->slots[slot];
    /* The same kind is the same family: an IPv4 slot's second word is zero, as the key's. */
    return (get32(&sl->kind) & ~KIND_SHOWN) == k->kind &&
           get64(&sl->address[0]) == k->address[0] &&
           (key_family(k) == FAMILY_IPV4 || get64(&sl->address[1]) == k->address[1]);
}

/* The entry of a key whose home is known, or NO_SLOT. */
HOT uint32_t hash_find_from(const struct peer_store *s, const struct peer_key *k, uint32_t home)
{
    for (uint32_t i = home;; i = next_entry(s, i)) {
        const struct peer_entry *e = &s->entries[i];
        if (e->slot == 0)
            return NO_SLOT;
        if (e->row == k->row && slot_is(s, e->slot - 1, k))
            return i;
    }
}

static uint32_t hash_find(const struct peer_store *s, const struct peer_key *k)
{
    return hash_find_from(s, k, key_home(s, k));
}

/* A new entry for slot (its key in priv). */
static void hash_insert(struct peer_store *s, uint32_t slot)
{
    uint32_t i = key_home(s, &s->priv[slot].key);
    while (s->entries[i].slot != 0)
        i = next_entry(s, i);
    s->entries[i] = (struct peer_entry){.slot = slot + 1, .row = s->priv[slot].key.row};
}

/* Linear probing's deletion: entries after the hole that would not be found across it
 * move back into it (Knuth 6.4, algorithm R), so no tombstones accumulate. */
static void hash_remove(struct peer_store *s, uint32_t slot)
{
    uint32_t i = hash_find(s, &s->priv[slot].key);
    for (uint32_t j = i;;) {
        s->entries[i].slot = 0;
        for (;;) {
            j = next_entry(s, j);
            if (s->entries[j].slot == 0)
                return;
            uint32_t home = key_home(s, &s->priv[s->entries[j].slot - 1].key);
            /* Stays put when its home lies cyclically in (i, j]. */
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        s->entries[i] = s->entries[j];
        i = j;
    }
}

/* ---- writer: rows ---- */

static void add_counts(_Atomic uint64_t *to, const _Atomic uint64_t *from)
{
    for (int c = 0; c < PEER_CTR_COUNT; c++)
        add_u64(&to[c], get64(&from[c]));
}

/* Take slot out of its row (the row's sequence is odd): the last one fills its place. */
static void row_unlink(struct peer_store *s, struct peer_row *h, uint32_t slot)
{
    uint32_t count = get32(&h->count), at = s->priv[slot].position;
    uint32_t last = get32(&h->slot[count - 1]);
    set32(&h->slot[at], last);
    s->priv[last].position = at;
    set32(&h->count, count - 1);
}

static void slot_release(struct peer_store *s, uint32_t slot)
{
    hash_remove(s, slot);
    last_forget(s); /* it may take another peer */
    s->free_slots[s->free_count++] = slot;
    add_u32(&s->in_use, (uint32_t)-1);
}

/* Fold a peer into its row's other and free it (the row's sequence is odd). */
static void fold_into_other(struct peer_store *s, struct peer_row *h, uint32_t slot)
{
    const struct peer_private *p = &s->priv[slot];
    add_counts(h->other[key_family(&p->key)][key_protocol(&p->key)], s->slots[slot].counters);
    if (p->shown)
        s->row_state[p->key.row].shown--;
    row_unlink(s, h, slot);
    slot_release(s, slot);
}

void peers_instance_begin(struct peer_store *s, uint32_t row, uint64_t instance_id)
{
    if (s->capacity == 0)
        return;
    struct peer_row *h = row_header(s, row);
    seq_begin(&h->seq);
    set64(&h->instance_id, instance_id);
    seq_end(&h->seq);
    struct peer_row_state *st = &s->row_state[row];
    memset(st, 0, sizeof *st);
    st->instance = (uint32_t)instance_id;
}

/* The instance's peers and other go with it; its cached connections become stale (they
 * name the old instance) and are replaced as the cache needs room. */
void peers_instance_end(struct peer_store *s, uint32_t row)
{
    if (s->capacity == 0)
        return;
    struct peer_row *h = row_header(s, row);
    seq_begin(&h->seq);
    for (uint32_t n = get32(&h->count); n > 0; n--)
        slot_release(s, get32(&h->slot[n - 1]));
    set32(&h->count, 0);
    set64(&h->instance_id, 0);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
            for (int c = 0; c < PEER_CTR_COUNT; c++)
                set64(&h->other[f][p][c], 0);
    seq_end(&h->seq);
    memset(&s->row_state[row], 0, sizeof s->row_state[row]);
}

/* ---- writer: which peer an event belongs to ---- */

/* The two ends of an event, as address words (struct peer_connection's) and ports. For
 * UDP receives the recorded destination is the local socket (collector/README.md shows it
 * on real traces); for everything else it is the remote. */
struct sides {
    uint64_t local[2], remote[2];
    uint16_t local_port, remote_port;
};

/* A recorded address as words: a fixed-size copy, the rest zero. */
HOT void address_words(uint64_t words[2], const uint8_t *address, unsigned family)
{
    words[0] = 0;
    words[1] = 0;
    if (family == FAMILY_IPV6)
        memcpy(words, address, 16);
    else
        memcpy(words, address, 4);
}

/* From an event's recorded ends: daddr, saddr, then dport and sport big-endian. */
HOT void sides_of(struct sides *e, const uint8_t *bytes, unsigned family, bool swapped)
{
    size_t alen = family == FAMILY_IPV6 ? 16 : 4;
    const uint8_t *d = bytes, *sa = bytes + alen, *ports = bytes + 2 * alen;
    uint16_t dport = load_be16(ports), sport = load_be16(ports + 2);
    address_words(e->local, swapped ? d : sa, family);
    address_words(e->remote, swapped ? sa : d, family);
    e->local_port = swapped ? dport : sport;
    e->remote_port = swapped ? sport : dport;
}

HOT uint32_t sides_ports(const struct sides *e)
{
    return (uint32_t)e->local_port << 16 | e->remote_port;
}

static bool same_words(const uint64_t a[2], const uint64_t b[2])
{
    return ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0;
}

/* Which end names a peer (its direction and port), as its bits of a kind: what the port
 * rule decides, in one word. */
HOT uint32_t naming(unsigned direction, uint16_t port)
{
    return (uint32_t)direction << 2 | (uint32_t)port << 16;
}

/* A port's bit in a row's accepted_filter. */
HOT uint64_t port_bit(uint16_t port)
{
    return UINT64_C(1) << ((uint32_t)port * 0x9E3779B1u >> 26);
}

/* Most ports asked about are ephemeral ones the row never accepted on: the filter says so
 * without the scan. */
HOT bool accepted_on(const struct peer_row_state *st, uint16_t port)
{
    if (!(st->accepted_filter & port_bit(port)) || port == 0)
        return false;
    for (int i = 0; i < PEER_ACCEPTED_PORTS; i++)
        if (st->accepted[i] == port)
            return true;
    return false;
}

static void remember_accepted(struct peer_row_state *st, uint16_t port)
{
    if (port == 0 || accepted_on(st, port))
        return;
    st->accepted[st->accepted_next] = port;
    st->accepted_next = (st->accepted_next + 1) % PEER_ACCEPTED_PORTS;
    st->accepted_filter = 0;
    for (int i = 0; i < PEER_ACCEPTED_PORTS; i++)
        if (st->accepted[i] != 0)
            st->accepted_filter |= port_bit(st->accepted[i]);
}

/* The rule for a connection nobody saw open: the local port it accepted on, else the
 * lower of the two (a server's port is the low one; an ephemeral port is high). */
HOT uint32_t port_by_rule(const struct peer_row_state *st, uint16_t local_port,
                         uint16_t remote_port)
{
    bool inbound = local_port < remote_port || accepted_on(st, local_port);
    return inbound ? naming(PEER_INBOUND, local_port) : naming(PEER_OUTBOUND, remote_port);
}

/* What the rule guesses before the row's state is read: the lower port. */
HOT uint32_t port_guessed(uint16_t local_port, uint16_t remote_port)
{
    return local_port < remote_port ? naming(PEER_INBOUND, local_port)
                                    : naming(PEER_OUTBOUND, remote_port);
}

static struct peer_connection *connection_set(struct peer_store *s, uint32_t row,
                                              const struct sides *e)
{
    uint64_t h = (((uint64_t)row << 32 | sides_ports(e)) ^ s->seed) * 0x9E3779B97F4A7C15ull;
    h = (h ^ e->remote[0]) * 0xC2B2AE3D27D4EB4Full;
    h = (h ^ e->remote[1]) * 0x165667B19E3779F9ull;
    return &s->connections[((uint32_t)(h >> 32) & (s->connection_sets - 1)) * PEER_WAYS];
}

static bool connection_is(const struct peer_connection *c, const struct peer_store *s,
                          uint32_t row, unsigned family, unsigned protocol, const struct sides *e)
{
    return c->used && c->row == row && c->instance == s->row_state[row].instance &&
           c->family == family && c->protocol == protocol &&
           c->local_port == e->local_port && c->remote_port == e->remote_port &&
           same_words(c->remote, e->remote) && same_words(c->local, e->local);
}

static struct peer_connection *connection_find(struct peer_store *s, uint32_t row,
                                               unsigned family, unsigned protocol,
                                               const struct sides *e)
{
    struct peer_connection *set = connection_set(s, row, e);
    for (int w = 0; w < PEER_WAYS; w++)
        if (connection_is(&set[w], s, row, family, protocol, e))
            return &set[w];
    return NULL;
}

static void connection_drop(struct peer_store *s, struct peer_connection *c)
{
    if (c->used && c->instance == s->row_state[c->row].instance &&
        s->row_state[c->row].exceptions > 0)
        s->row_state[c->row].exceptions--;
    c->used = 0;
}

/* Remember a connection the rule would name wrongly; an empty or stale way first. */
static void connection_remember(struct peer_store *s, uint32_t row, unsigned family,
                                unsigned protocol, const struct sides *e, uint8_t direction,
                                uint16_t port)
{
    struct peer_connection *set = connection_set(s, row, e), *c = NULL;
    for (int w = 0; w < PEER_WAYS && !c; w++)
        if (!set[w].used || set[w].instance != s->row_state[set[w].row].instance ||
            connection_is(&set[w], s, row, family, protocol, e))
            c = &set[w];
    if (!c)
        c = &set[s->connection_clock++ % PEER_WAYS];
    connection_drop(s, c);
    *c = (struct peer_connection){
        .local = {e->local[0], e->local[1]}, .remote = {e->remote[0], e->remote[1]},
        .row = row, .instance = s->row_state[row].instance, .local_port = e->local_port,
        .remote_port = e->remote_port, .port = port, .family = (uint8_t)family,
        .protocol = (uint8_t)protocol, .direction = direction, .used = 1,
    };
    s->row_state[row].exceptions++;
}

/* peer_port for the events that open or close connections, or of a row with cached
 * exceptions. */
NOINLINE_PEERS static uint32_t peer_port_cached(struct peer_store *s, uint32_t row,
                                                unsigned op, unsigned family, unsigned protocol,
                                                const struct sides *e)
{
    struct peer_row_state *st = &s->row_state[row];
    if (op == NET_TCP_ACCEPT)
        remember_accepted(st, e->local_port);
    uint32_t by_rule = port_by_rule(st, e->local_port, e->remote_port);
    if (op == NET_TCP_CONNECT || op == NET_TCP_RECONNECT || op == NET_TCP_ACCEPT) {
        uint8_t seen = op == NET_TCP_ACCEPT ? PEER_INBOUND : PEER_OUTBOUND;
        uint16_t seen_port = seen == PEER_INBOUND ? e->local_port : e->remote_port;
        struct peer_connection *c = st->exceptions ? connection_find(s, row, family, protocol, e)
                                                   : NULL;
        if (c)
            connection_drop(s, c);
        /* Against the rule as it stands and the lower-port rule alone: the accepted ports
         * are a few, and one that drops out of them must not change the peer of a
         * connection seen opening. */
        bool low_is_local = e->local_port < e->remote_port;
        uint32_t named = naming(seen, seen_port);
        if (named != by_rule || seen != (low_is_local ? PEER_INBOUND : PEER_OUTBOUND))
            connection_remember(s, row, family, protocol, e, seen, seen_port);
        return named;
    }
    if (st->exceptions == 0)
        return by_rule;
    struct peer_connection *c = connection_find(s, row, family, protocol, e);
    if (!c)
        return by_rule;
    uint32_t named = naming(c->direction, c->port);
    if (op == NET_TCP_DISCONNECT)
        connection_drop(s, c);
    return named;
}

/* Direction and port of an event's peer; Connect, Accept and Disconnect keep the cache.
 * plain: the op is none of those. */
HOT uint32_t peer_port(struct peer_store *s, uint32_t row, unsigned op, bool plain,
                       unsigned family, unsigned protocol, const struct sides *e)
{
    const struct peer_row_state *st = &s->row_state[row];
    if (plain && st->exceptions == 0)
        return port_by_rule(st, e->local_port, e->remote_port);
    return peer_port_cached(s, row, op, family, protocol, e);
}

/* named: as naming gives it. */
HOT void key_of(const struct peer_store *s, struct peer_key *k, uint32_t row,
                unsigned family, unsigned protocol, uint32_t named, const uint64_t remote[2])
{
    k->row = row;
    k->kind = (uint32_t)family | (uint32_t)protocol << 1 | named;
    k->address[0] = remote[0] & s->mask[family][0];
    k->address[1] = remote[1] & s->mask[family][1];
}

/* The key of the lower port's peer, whose hash entry is then on its way: nearly always the
 * one, and the caller reads the row's state meanwhile, so the two cache misses overlap
 * (without, 17% slower at 1,000 processes in bench_table). Returns its home entry. */
HOT uint32_t key_guess(const struct peer_store *s, struct peer_key *k, uint32_t row,
                       unsigned family, unsigned protocol, uint16_t local_port,
                       uint16_t remote_port, const uint64_t remote[2])
{
    key_of(s, k, row, family, protocol, port_guessed(local_port, remote_port), remote);
    uint32_t home = key_home(s, k);
    PREFETCH(&s->entries[home]);
    return home;
}

/* The entry of the peer that named (as naming gives it) says, from key_guess's key and
 * home: the guess corrected when it was wrong. NO_SLOT when the store has no such peer. */
HOT uint32_t key_find(const struct peer_store *s, struct peer_key *k, uint32_t home,
                      uint32_t named)
{
    const uint32_t family_protocol = 3u; /* the kind's bits below the naming's */
    if ((k->kind & ~family_protocol) != named) {
        k->kind = (k->kind & family_protocol) | named;
        home = key_home(s, k);
    }
    return hash_find_from(s, k, home);
}

/* ---- writer: new peers ---- */

/* The least recently active peer of a row, or NO_SLOT for a row without peers. */
static uint32_t least_recent(const struct peer_store *s, const struct peer_row *h)
{
    uint32_t best = NO_SLOT, count = get32(&h->count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t slot = get32(&h->slot[i]);
        if (best == NO_SLOT ||
            get64(&s->slots[slot].last_seen) < get64(&s->slots[best].last_seen))
            best = slot;
    }
    return best;
}

static void slot_publish_identity(struct peer_store *s, uint32_t slot, const struct sides *e,
                                  uint64_t timestamp)
{
    struct peer_slot *sl = &s->slots[slot];
    struct peer_private *p = &s->priv[slot];
    set64(&sl->peer_id, s->next_peer_id++);
    set32(&sl->kind, slot_kind(p));
    set32(&sl->ports, sides_ports(e));
    set64(&sl->address[0], p->key.address[0]);
    set64(&sl->address[1], p->key.address[1]);
    set64(&sl->first_seen, timestamp);
    set64(&sl->last_seen, timestamp);
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        set64(&sl->counters[c], 0);
        set64(&s->shown_from[slot][c], 0);
    }
}

/* A slot for a new peer of row h: a free one, else the row's least recent peer folded.
 * NO_SLOT when the store is full and the row has none to give. */
static uint32_t slot_for_new_peer(struct peer_store *s, struct peer_row *h)
{
    bool row_full = get32(&h->count) >= s->per_process;
    if (!row_full && s->free_count > 0)
        return s->free_slots[--s->free_count];
    uint32_t victim = least_recent(s, h);
    if (victim == NO_SLOT)
        return NO_SLOT;
    fold_into_other(s, h, victim);
    add_u64(&s->evicted, 1);
    return s->free_slots[--s->free_count];
}

/* The slot of a new peer, or NO_SLOT when there is no room for it. */
NOINLINE_PEERS static uint32_t peer_create(struct peer_store *s, const struct peer_key *k,
                                           const struct sides *e, uint64_t timestamp)
{
    struct peer_row *h = row_header(s, k->row);
    struct peer_row_state *st = &s->row_state[k->row];
    seq_begin(&h->seq);
    uint32_t slot = slot_for_new_peer(s, h);
    if (slot != NO_SLOT) {
        struct peer_private *p = &s->priv[slot];
        *p = (struct peer_private){.key = *k};
        p->shown = s->shown_max == 0 || st->shown < s->shown_max;
        st->shown += p->shown;
        slot_publish_identity(s, slot, e, timestamp);
        uint32_t count = get32(&h->count);
        p->position = count;
        set32(&h->slot[count], slot);
        set32(&h->count, count + 1);
        add_u32(&s->in_use, 1);
    }
    seq_end(&h->seq);
    if (slot != NO_SLOT)
        hash_insert(s, slot);
    return slot;
}

/* ---- writer: counting ---- */

/* The tag an event's peer is remembered under: what a plain event of the same connection
 * (a send, a receive) will match, whichever op made it. */
HOT uint64_t remembered_tag(uint32_t row, unsigned op, unsigned family)
{
    unsigned what = (unsigned)PEER_OPS[op].protocol << 1 |
                    (op == NET_UDP_RECV ? PEER_WHAT_SWAPPED : 0u);
    return peer_last_tag(row, what, family);
}

/* The slot of an event's peer, found in the hash or made; NO_SLOT when there is no room.
 * A new connection's event also records its ports in the slot. */
HOT uint32_t peer_slot_of(struct peer_store *s, uint32_t row, unsigned op, unsigned family,
                          const struct sides *e, uint64_t timestamp)
{
    unsigned protocol = PEER_OPS[op].protocol;
    struct peer_key k;
    uint32_t home = key_guess(s, &k, row, family, protocol, e->local_port, e->remote_port,
                              e->remote);
    bool plain = PEER_OPS[op].what != PEER_WHAT_NEVER;
    uint32_t entry = key_find(s, &k, home, peer_port(s, row, op, plain, family, protocol, e));
    uint32_t slot = entry != NO_SLOT ? s->entries[entry].slot - 1
                                     : peer_create(s, &k, e, timestamp);
    if (slot != NO_SLOT)
        set32(&s->slots[slot].ports, sides_ports(e));
    return slot;
}

HOT void count_into(_Atomic uint64_t *counters, const struct peer_op *o, uint32_t size)
{
    if (o->bytes >= 0)
        add_u64(&counters[o->bytes], size);
    add_u64(&counters[o->events], 1);
}

/* Into its row's other: the event's record ends before its endpoints, or its peer has no
 * room. */
HOT void count_other(struct peer_store *s, uint32_t row, const struct peer_op *o,
                     unsigned family, uint32_t size)
{
    count_into(row_header(s, row)->other[family][o->protocol], o, size);
}

HOT void count_into_slot(struct peer_store *s, uint32_t slot, const struct peer_op *o,
                         uint32_t size, uint64_t timestamp)
{
    struct peer_slot *sl = &s->slots[slot];
    count_into(sl->counters, o, size);
    set64(&sl->last_seen, timestamp);
}

HOT void last_remember(struct peer_store *s, uint64_t tag, unsigned family,
                       const uint8_t *payload, uint32_t slot)
{
    s->last.tag = tag;
    peer_last_words(s->last.ends, payload, family);
    s->last.slot = slot;
}

/* An event the one-entry cache could not place, in general (whatever its op and its
 * row's exceptions; a new peer too): counted into its peer, which the cache then
 * remembers, or into other when the store has no room for a new one. */
NOINLINE_PEERS static void count_looked_up(struct peer_store *s, uint32_t row, unsigned op,
                                           unsigned family, uint32_t size,
                                           const uint8_t *payload, uint64_t timestamp)
{
    const struct peer_op *o = &PEER_OPS[op];
    struct sides e;
    sides_of(&e, payload + PEER_PAYLOAD_ENDPOINTS, family, op == NET_UDP_RECV);
    uint32_t slot = peer_slot_of(s, row, op, family, &e, timestamp);
    if (slot == NO_SLOT) {
        add_u64(&s->refused, 1);
        count_other(s, row, o, family, size);
        return;
    }
    count_into_slot(s, slot, o, size, timestamp);
    /* After a Disconnect the connection's next events (a new one on the same ports)
     * must ask again which peer they belong to. */
    if (op == NET_TCP_DISCONNECT)
        last_forget(s);
    else
        last_remember(s, remembered_tag(row, op, family), family, payload, slot);
}

/* The common case of count_looked_up, with family a constant: a send or receive, of a row
 * whose connections all follow the port rule, to a peer the store has. Only the remote
 * end is read, and only the words its family has; false, having changed nothing, for any
 * other event. */
HOT bool count_known(struct peer_store *s, uint32_t row, unsigned op, unsigned family,
                     uint32_t size, const uint8_t *payload, uint64_t timestamp)
{
    const struct peer_op *o = &PEER_OPS[op];
    if (o->what == PEER_WHAT_NEVER)
        return false;
    const uint8_t *ends = payload + PEER_PAYLOAD_ENDPOINTS;
    size_t alen = family == FAMILY_IPV6 ? 16 : 4;
    bool swapped = o->what & PEER_WHAT_SWAPPED;
    uint16_t dport = load_be16(ends + 2 * alen), sport = load_be16(ends + 2 * alen + 2);
    uint16_t local_port = swapped ? dport : sport, remote_port = swapped ? sport : dport;
    uint64_t remote[2];
    address_words(remote, swapped ? ends + alen : ends, family);
    struct peer_key k;
    uint32_t home = key_guess(s, &k, row, family, o->protocol, local_port, remote_port,
                              remote);
    const struct peer_row_state *st = &s->row_state[row];
    if (st->exceptions != 0)
        return false;
    uint32_t entry = key_find(s, &k, home, port_by_rule(st, local_port, remote_port));
    if (entry == NO_SLOT)
        return false;
    uint32_t slot = s->entries[entry].slot - 1;
    set32(&s->slots[slot].ports, (uint32_t)local_port << 16 | remote_port);
    count_into_slot(s, slot, o, size, timestamp);
    /* A plain op: its own what is the tag's. */
    last_remember(s, peer_last_tag(row, o->what, family), family, payload, slot);
    return true;
}

void peers_count_record(struct peer_store *s, uint32_t row, unsigned op, unsigned family,
                        uint32_t size, const struct trace_record *record)
{
    const struct peer_op *o = &PEER_OPS[op];
    if (o->events < 0)
        return;
    if (record->payload_size < PEER_PAYLOAD_ENDPOINTS + peer_ends_bytes(family)) {
        count_other(s, row, o, family, size);
        return;
    }
    /* A copy of the common case for each family, each with its family a constant. */
    bool counted = family == FAMILY_IPV4
                       ? count_known(s, row, op, FAMILY_IPV4, size, record->payload,
                                     record->timestamp)
                       : count_known(s, row, op, FAMILY_IPV6, size, record->payload,
                                     record->timestamp);
    if (!counted)
        count_looked_up(s, row, op, family, size, record->payload, record->timestamp);
}

struct trace_record peers_record_of_fact(uint8_t *payload, const struct net_fact *net,
                                         uint64_t timestamp)
{
    size_t alen = net->family == FAMILY_IPV6 ? 16 : 4;
    uint8_t *at = payload + PEER_PAYLOAD_ENDPOINTS;
    memset(payload, 0, PEER_RECORD_BYTES);
    memcpy(at, net->daddr, alen);
    memcpy(at + alen, net->saddr, alen);
    store_be16(at + 2 * alen, net->dport);
    store_be16(at + 2 * alen + 2, net->sport);
    return (struct trace_record){
        .payload = payload, .timestamp = timestamp,
        .payload_size = (uint32_t)(PEER_PAYLOAD_ENDPOINTS + peer_ends_bytes(net->family)),
    };
}

/* ---- writer: shown places (top N per row) ---- */

/* Busiest: bytes sent and received since the peer was first seen. */
static uint64_t peer_rank(const struct peer_store *s, uint32_t slot)
{
    const struct peer_slot *sl = &s->slots[slot];
    return get64(&sl->counters[PEER_SENT_BYTES]) + get64(&sl->counters[PEER_RECV_BYTES]);
}

static void set_shown(struct peer_store *s, uint32_t slot, bool shown)
{
    struct peer_private *p = &s->priv[slot];
    s->row_state[p->key.row].shown += shown ? 1u : (uint32_t)-1;
    p->shown = shown;
    set32(&s->slots[slot].kind, slot_kind(p));
}

/* A peer not shown takes a shown place. Its counters go on (they are the peer's since it
 * was first seen); what it had counted so far is recorded as its shown_from, which
 * renderers of series leave in other, where they already counted it (other plus the peers
 * not shown): its series starts at 0 and other does not move. The row's sequence is odd. */
static void promote(struct peer_store *s, uint32_t slot)
{
    for (int c = 0; c < PEER_CTR_COUNT; c++)
        set64(&s->shown_from[slot][c], get64(&s->slots[slot].counters[c]));
    set_shown(s, slot, true);
}

/* best takes weakest's place; weakest's series ends and all it counted joins the peers
 * not shown (its shown_from was there already), so rendered other only grows. */
static void swap_shown(struct peer_store *s, uint32_t best, uint32_t weakest)
{
    set_shown(s, weakest, false);
    promote(s, best);
    add_u64(&s->swaps, 1);
}

/* Trade places while a peer not shown is clearly busier than the weakest shown one. */
static void row_rebalance(struct peer_store *s, uint32_t row)
{
    struct peer_row *h = row_header(s, row);
    uint32_t count = get32(&h->count);
    bool open = false;
    for (uint32_t round = 0; round < s->shown_max; round++) {
        uint32_t best = NO_SLOT, weakest = NO_SLOT;
        uint64_t best_rank = 0, weakest_rank = UINT64_MAX;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t slot = get32(&h->slot[i]);
            uint64_t rank = peer_rank(s, slot);
            if (s->priv[slot].shown && rank < weakest_rank) {
                weakest = slot;
                weakest_rank = rank;
            } else if (!s->priv[slot].shown && (best == NO_SLOT || rank > best_rank)) {
                best = slot;
                best_rank = rank;
            }
        }
        if (best == NO_SLOT)
            break;
        bool free_place = s->row_state[row].shown < s->shown_max;
        if (!free_place &&
            (best_rank / SWAP_RATIO_NUM * SWAP_RATIO_DEN <= weakest_rank || best_rank == 0))
            break;
        if (!open)
            seq_begin(&h->seq);
        open = true;
        if (free_place) /* its peer was evicted */
            promote(s, best);
        else
            swap_shown(s, best, weakest);
    }
    if (open)
        seq_end(&h->seq);
}

/* Free shown places are taken at once by new peers; this also fills the ones an eviction
 * freed and lets busier peers in. A scan of every row with peers: at most once a second. */
void peers_housekeep(struct peer_store *s)
{
    if (s->capacity == 0 || s->shown_max == 0)
        return;
    for (uint32_t r = 0; r < s->rows; r++) {
        if (get32(&row_header(s, r)->count) > s->row_state[r].shown)
            row_rebalance(s, r); /* some peers are not shown */
    }
}

/* ---- readers ---- */

static void slot_read(const struct peer_slot *sl, const _Atomic uint64_t *shown_from,
                      struct peer_view *v)
{
    v->peer_id = get64(&sl->peer_id);
    uint32_t kind = get32(&sl->kind), ports = get32(&sl->ports);
    v->family = kind & 1u;
    v->protocol = (kind >> 1) & 1u;
    v->direction = (kind >> 2) & 1u;
    v->shown = (kind >> 3) & 1u;
    v->port = (uint16_t)(kind >> 16);
    v->local_port = (uint16_t)(ports >> 16);
    v->remote_port = (uint16_t)ports;
    uint64_t a[2] = {get64(&sl->address[0]), get64(&sl->address[1])};
    memcpy(v->address, a, sizeof v->address);
    v->first_seen = get64(&sl->first_seen);
    v->last_seen = get64(&sl->last_seen);
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        v->counters[c] = get64(&sl->counters[c]);
        v->shown_from[c] = v->shown ? get64(&shown_from[c]) : 0;
    }
}

bool peers_read_row(const struct peer_store *s, uint32_t row, uint64_t instance_id,
                    struct peer_view *out, size_t *count,
                    uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT])
{
    const struct peer_row *h = row_header(s, row);
    for (;;) {
        uint32_t begun = seq_read_begin(&h->seq);
        bool same = get64(&h->instance_id) == instance_id;
        uint32_t n = same ? get32(&h->count) : 0;
        if (n > s->per_process)
            n = s->per_process; /* only mid-change, and then the check below retries */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t slot = get32(&h->slot[i]);
            if (slot < s->capacity)
                slot_read(&s->slots[slot], s->shown_from[slot], &out[i]);
        }
        for (int f = 0; f < FAMILY_COUNT && same; f++)
            for (int p = 0; p < PEER_PROTOCOL_COUNT; p++)
                for (int c = 0; c < PEER_CTR_COUNT; c++)
                    other[f][p][c] = get64(&h->other[f][p][c]);
        if (!seq_read_retry(&h->seq, begun)) {
            *count = n;
            return same;
        }
    }
}
