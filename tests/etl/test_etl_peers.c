/* Remote peers against an independent decoder, on real traces and on generated ones.
 *
 * The model here reads the same file through the ETL reader (the container, not the
 * decoder), takes each TcpIp/UdpIp payload apart by the documented offsets itself, and
 * applies the peer rules of collector/README.md with plain maps: the remote port of a
 * connection opened by a Connect or Reconnect, the local port of one accepted, else the
 * local port if the process accepted on it before, else the lower of the two; UDP
 * receives name the local socket as the destination; records cut before their endpoints
 * count in the process's other. Then the file is replayed into a table and, per pid and
 * peer (family, protocol, direction, port, remote address), every counter must equal the
 * model's, and per process the sums over peers and other must equal the process counters.
 * With a small store, the same per-process sums must hold with the rest in other, and the
 * evictions must be counted.
 *
 * Usage: test_etl_peers DIR (DIR holds perfview/; the real traces are skipped without it,
 * the generated ones run anyway). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "etl_reader.h"
#include "etl_replay.h"
#include "etl_scenarios.h"
#include "etl_writer.h"
#include "process_table.h"

static int failures;

#define EXPECT(cond, ...)                                                                   \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

enum { MAX_PEERS = 8192, MAX_CONNECTIONS = 8192, MAX_PIDS = 1024, COUNTERS = 10 };

/* Counter order of the model: sent bytes, sent events, received bytes, received events,
 * connects, accepts, disconnects, retransmits, retransmitted bytes, reconnects (the
 * header's enum peer_counter, checked below). */
struct model_peer {
    uint32_t pid;
    uint8_t family, protocol, direction;
    uint16_t port;
    uint8_t address[16];
    uint64_t c[COUNTERS];
    bool matched;
};

struct model_connection {
    uint32_t pid;
    uint8_t family;
    uint8_t local[16], remote[16];
    uint16_t lport, rport;
    uint8_t direction;
    uint16_t port;
};

struct model_pid {
    uint32_t pid;
    uint16_t accepted[64];
    size_t accepted_count;
    uint64_t other[2][2][COUNTERS];   /* [family][protocol] */
};

struct model {
    struct model_peer peers[MAX_PEERS];
    size_t peer_count;
    struct model_connection connections[MAX_CONNECTIONS];
    size_t connection_count;
    struct model_pid pids[MAX_PIDS];
    size_t pid_count;
    uint64_t net_events;
};

static struct model_pid *model_pid(struct model *m, uint32_t pid)
{
    for (size_t i = 0; i < m->pid_count; i++)
        if (m->pids[i].pid == pid)
            return &m->pids[i];
    if (m->pid_count == MAX_PIDS) {
        fprintf(stderr, "model: too many pids\n");
        exit(1);
    }
    struct model_pid *p = &m->pids[m->pid_count++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    return p;
}

static bool accepted_on(const struct model_pid *p, uint16_t port)
{
    for (size_t i = 0; i < p->accepted_count; i++)
        if (p->accepted[i] == port)
            return true;
    return false;
}

static struct model_connection *find_connection(struct model *m, uint32_t pid, uint8_t family,
                                                const uint8_t *local, uint16_t lport,
                                                const uint8_t *remote, uint16_t rport)
{
    for (size_t i = 0; i < m->connection_count; i++) {
        struct model_connection *c = &m->connections[i];
        if (c->pid == pid && c->family == family && c->lport == lport && c->rport == rport &&
            memcmp(c->local, local, 16) == 0 && memcmp(c->remote, remote, 16) == 0)
            return c;
    }
    return NULL;
}

/* What a TcpIp/UdpIp opcode is: protocol, family, and the counters it adds to. */
struct op {
    bool known;
    uint8_t protocol, family;
    int bytes, events;          /* model counter indexes, -1 none */
    int kind;                   /* 1 connect, 2 accept, 3 disconnect, 4 copy, 0 other */
};

static struct op op_of(bool udp, uint8_t opcode)
{
    struct op o = {.known = true, .protocol = udp, .family = opcode >= 26};
    uint8_t base = opcode >= 26 ? (uint8_t)(opcode - 16) : opcode;
    if (udp) {
        if (base != 10 && base != 11)
            return (struct op){0};
        o.bytes = base == 10 ? 0 : 2;
        o.events = o.bytes + 1;
        return o;
    }
    switch (base) {
    case 10: o.bytes = 0, o.events = 1; break;
    case 11: o.bytes = 2, o.events = 3; break;
    case 12: o.bytes = -1, o.events = 4, o.kind = 1; break;
    case 13: o.bytes = -1, o.events = 6, o.kind = 3; break;
    case 14: o.bytes = 8, o.events = 7; break;
    case 15: o.bytes = -1, o.events = 5, o.kind = 2; break;
    case 16: o.bytes = -1, o.events = 9, o.kind = 1; break;
    case 18: o.kind = 4; break;
    default: return (struct op){0};
    }
    return o;
}

static struct model_peer *model_peer(struct model *m, uint32_t pid, uint8_t family,
                                     uint8_t protocol, uint8_t direction, uint16_t port,
                                     const uint8_t *address)
{
    for (size_t i = 0; i < m->peer_count; i++) {
        struct model_peer *p = &m->peers[i];
        if (p->pid == pid && p->family == family && p->protocol == protocol &&
            p->direction == direction && p->port == port &&
            memcmp(p->address, address, 16) == 0)
            return p;
    }
    if (m->peer_count == MAX_PEERS) {
        fprintf(stderr, "model: too many peers\n");
        exit(1);
    }
    struct model_peer *p = &m->peers[m->peer_count++];
    memset(p, 0, sizeof *p);
    p->pid = pid, p->family = family, p->protocol = protocol, p->direction = direction;
    p->port = port;
    memcpy(p->address, address, 16);
    return p;
}

static void add(uint64_t *c, const struct op *o, uint32_t size)
{
    if (o->bytes >= 0)
        c[o->bytes] += size;
    c[o->events] += 1;
}

/* Direction (0 outbound, 1 inbound) and port of an event's peer, by the documented rule. */
static void which_peer(struct model *m, struct model_pid *p, const struct op *o, uint32_t pid,
                       const uint8_t *local, uint16_t lport, const uint8_t *remote,
                       uint16_t rport, uint8_t *direction, uint16_t *port)
{
    if (o->kind == 2 && !accepted_on(p, lport) && p->accepted_count < 64)
        p->accepted[p->accepted_count++] = lport;
    bool inbound = lport < rport || accepted_on(p, lport);
    *direction = inbound;
    *port = inbound ? lport : rport;
    if (o->protocol == 1)
        return;
    struct model_connection *c = find_connection(m, pid, o->family, local, lport, remote, rport);
    if (o->kind == 1 || o->kind == 2) {
        if (!c) {
            if (m->connection_count == MAX_CONNECTIONS) {
                fprintf(stderr, "model: too many connections\n");
                exit(1);
            }
            c = &m->connections[m->connection_count++];
            *c = (struct model_connection){.pid = pid, .family = o->family, .lport = lport,
                                           .rport = rport};
            memcpy(c->local, local, 16);
            memcpy(c->remote, remote, 16);
        }
        c->direction = o->kind == 2;
        c->port = o->kind == 2 ? lport : rport;
    }
    if (c) {
        *direction = c->direction;
        *port = c->port;
        if (o->kind == 3) /* forgotten: a later connection on the same ports is new */
            *c = m->connections[--m->connection_count];
    }
}

static void model_record(struct model *m, const struct trace_record *r)
{
    bool udp = r->event_class == TRACE_CLASS_UDPIP;
    if ((r->event_class != TRACE_CLASS_TCPIP && !udp) || r->payload_size < 8)
        return;
    struct op o = op_of(udp, r->opcode);
    if (!o.known || o.kind == 4)
        return;
    m->net_events++;
    const uint8_t *b = r->payload;
    uint32_t pid = load_le32(b), size = load_le32(b + 4);
    struct model_pid *p = model_pid(m, pid);
    size_t alen = o.family ? 16 : 4;
    if (r->payload_size < 8 + 2 * alen + 4) {
        add(p->other[o.family][o.protocol], &o, size);
        return;
    }
    uint8_t daddr[16] = {0}, saddr[16] = {0};
    memcpy(daddr, b + 8, alen);
    memcpy(saddr, b + 8 + alen, alen);
    uint16_t dport = (uint16_t)(b[8 + 2 * alen] << 8 | b[9 + 2 * alen]);
    uint16_t sport = (uint16_t)(b[10 + 2 * alen] << 8 | b[11 + 2 * alen]);
    bool local_is_dest = udp && (r->opcode == 11 || r->opcode == 27);
    const uint8_t *local = local_is_dest ? daddr : saddr, *remote = local_is_dest ? saddr : daddr;
    uint16_t lport = local_is_dest ? dport : sport, rport = local_is_dest ? sport : dport;
    uint8_t direction;
    uint16_t port;
    which_peer(m, p, &o, pid, local, lport, remote, rport, &direction, &port);
    add(model_peer(m, pid, o.family, o.protocol, direction, port, remote)->c, &o, size);
}

static bool model_file(struct model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    const char *paths[1] = {path};
    struct etl_reader *reader;
    char error[256];
    if (etl_reader_open(paths, 1, NULL, &reader, error, sizeof error) != ETL_READER_OK) {
        fprintf(stderr, "FAIL %s: %s\n", path, error);
        failures++;
        return false;
    }
    const struct etl_record *r;
    while ((r = etl_reader_next(reader)) != NULL)
        model_record(m, &r->rec);
    etl_reader_close(reader);
    return true;
}

/* ---- the table's side ---- */

struct compare {
    struct model *m;
    bool exact;                    /* every peer must match one of the model's */
    bool generated;                /* scenario_peers: instance k's remotes are 10.<k+1>.x.x
                                    * and 2001:db8:<k>::x (unique key ends in k) */
    const char *what;
    uint64_t table_sums[MAX_PIDS][2][2][COUNTERS];
    uint64_t peers_seen;
};

static size_t pid_index(const struct model *m, uint32_t pid)
{
    for (size_t i = 0; i < m->pid_count; i++)
        if (m->pids[i].pid == pid)
            return i;
    return MAX_PIDS;
}

static void visit(const struct process_peers *e, void *context)
{
    struct compare *cmp = context;
    struct model *m = cmp->m;
    size_t at = pid_index(m, e->process->pid);
    for (int f = 0; f < 2; f++)
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < COUNTERS && at < MAX_PIDS; c++)
                cmp->table_sums[at][f][p][c] += e->other[f][p][c];
    for (size_t i = 0; i < e->count; i++) {
        const struct peer_view *v = &e->peers[i];
        cmp->peers_seen++;
        uint8_t address[16] = {0};
        memcpy(address, v->address, v->family == FAMILY_IPV6 ? 16 : 4);
        for (int c = 0; c < COUNTERS && at < MAX_PIDS; c++)
            cmp->table_sums[at][v->family][v->protocol][c] += v->counters[c];
        unsigned k = (unsigned)(e->process->unique_key & 15);
        EXPECT(!cmp->generated || e->process->unique_key == 0 ||
                   (v->family == FAMILY_IPV6 ? v->address[4] == k : v->address[1] == k + 1),
               "%s: pid %u instance %u holds a peer of another instance", cmp->what,
               e->process->pid, k);
        if (!cmp->exact)
            continue;
        struct model_peer *mp = NULL;
        for (size_t j = 0; j < m->peer_count && !mp; j++) {
            struct model_peer *q = &m->peers[j];
            if (q->pid == e->process->pid && q->family == v->family &&
                q->protocol == v->protocol && q->direction == v->direction &&
                q->port == v->port && memcmp(q->address, address, 16) == 0)
                mp = q;
        }
        EXPECT(mp != NULL, "%s: pid %u: a peer the model does not have (port %u)", cmp->what,
               e->process->pid, v->port);
        if (mp)
            mp->matched = true; /* its counters: compare_peer_counters, over the instances */
    }
}

static void compare_with_table(struct model *m, struct process_table *t, bool exact,
                               bool generated, const char *what)
{
    static struct compare cmp;
    memset(&cmp, 0, sizeof cmp);
    cmp.m = m;
    cmp.exact = exact;
    cmp.generated = generated;
    cmp.what = what;
    process_table_foreach_peers(t, visit, &cmp);
    for (size_t i = 0; i < m->pid_count; i++) {
        uint64_t want[2][2][COUNTERS];
        memcpy(want, m->pids[i].other, sizeof want);
        for (size_t j = 0; j < m->peer_count; j++) {
            const struct model_peer *q = &m->peers[j];
            if (q->pid != m->pids[i].pid)
                continue;
            for (int c = 0; c < COUNTERS; c++)
                want[q->family][q->protocol][c] += q->c[c];
        }
        for (int f = 0; f < 2; f++)
            for (int p = 0; p < 2; p++)
                for (int c = 0; c < COUNTERS; c++)
                    EXPECT(cmp.table_sums[i][f][p][c] == want[f][p][c],
                           "%s: pid %u family %d protocol %d counter %d: table %" PRIu64
                           ", model %" PRIu64, what, m->pids[i].pid, f, p, c,
                           cmp.table_sums[i][f][p][c], want[f][p][c]);
    }
    if (!exact)
        return;
    /* Every model peer is in the table, with the same counters (summed over the pid's
     * instances, which the comparison by peer key does for the table side). */
    for (size_t j = 0; j < m->peer_count; j++)
        EXPECT(m->peers[j].matched, "%s: pid %u: the model's peer on port %u is missing",
               what, m->peers[j].pid, m->peers[j].port);
}

/* Per peer key, the table's counters summed over a pid's instances equal the model's. */
struct per_key {
    struct model *m;
    uint64_t (*sums)[COUNTERS];
};

static void sum_by_key(const struct process_peers *e, void *context)
{
    struct per_key *k = context;
    for (size_t i = 0; i < e->count; i++) {
        const struct peer_view *v = &e->peers[i];
        uint8_t address[16] = {0};
        memcpy(address, v->address, v->family == FAMILY_IPV6 ? 16 : 4);
        for (size_t j = 0; j < k->m->peer_count; j++) {
            const struct model_peer *q = &k->m->peers[j];
            if (q->pid == e->process->pid && q->family == v->family &&
                q->protocol == v->protocol && q->direction == v->direction &&
                q->port == v->port && memcmp(q->address, address, 16) == 0)
                for (int c = 0; c < COUNTERS; c++)
                    k->sums[j][c] += v->counters[c];
        }
    }
}

static void compare_peer_counters(struct model *m, struct process_table *t, const char *what)
{
    static uint64_t sums[MAX_PEERS][COUNTERS];
    memset(sums, 0, sizeof sums);
    struct per_key k = {m, sums};
    process_table_foreach_peers(t, sum_by_key, &k);
    for (size_t j = 0; j < m->peer_count; j++)
        for (int c = 0; c < COUNTERS; c++)
            EXPECT(sums[j][c] == m->peers[j].c[c],
                   "%s: pid %u port %u counter %d: table %" PRIu64 ", model %" PRIu64, what,
                   m->peers[j].pid, m->peers[j].port, c, sums[j][c], m->peers[j].c[c]);
}

/* Covered process counters equal the row counters of a separate reading. */
struct rows_sum {
    uint64_t peers[FAMILY_COUNT][CTR_COUNT], rows[FAMILY_COUNT][CTR_COUNT];
};

static void add_peer_process(const struct process_peers *e, void *context)
{
    struct rows_sum *s = context;
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            s->peers[f][c] += e->process->counters[f][c];
}

static void add_row(const struct process_view *v, void *context)
{
    struct rows_sum *s = context;
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            s->rows[f][c] += v->counters[f][c];
}

static struct process_table *replay(const char *path, const struct process_table_config *c)
{
    struct process_table *t = process_table_create(c);
    const char *paths[1] = {path};
    struct etl_replay_report report;
    enum etl_replay_status st = etl_replay_files(t, paths, 1, NULL, NULL, &report);
    EXPECT(st == ETL_REPLAY_OK, "%s: replay status %d: %s", path, (int)st, report.error);
    struct rows_sum s;
    memset(&s, 0, sizeof s);
    process_table_foreach_peers(t, add_peer_process, &s);
    process_table_foreach(t, add_row, &s);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            EXPECT(s.peers[f][c] == s.rows[f][c], "%s: family %d counter %d: peers %" PRIu64
                   ", rows %" PRIu64, path, f, c, s.peers[f][c], s.rows[f][c]);
    return t;
}

static void check_file(const char *path, bool generated)
{
    static struct model m;
    if (!model_file(&m, path))
        return;
    EXPECT(m.peer_count > 0, "%s: the model found no peers", path);
    /* Room for everything: every peer exactly, with two shown places per process so that
     * places change hands during the replay (a peer's counters are all since it was first
     * seen, shown or not). */
    struct process_table_config big = {.capacity = 4096, .retention = UINT64_MAX / 2,
                                       .peer_capacity = 65536, .peers_per_process = 1024,
                                       .peers_shown = 2};
    struct process_table *t = replay(path, &big);
    compare_with_table(&m, t, true, generated, path);
    compare_peer_counters(&m, t, path);
    struct table_stats st;
    process_table_stats(t, &st);
    EXPECT(st.peers_evicted == 0 && st.peers_refused == 0, "%s: evictions with room", path);
    EXPECT(!generated || st.peer_swaps > 0, "%s: no shown place changed hands", path);
    printf("%s: %" PRIu64 " network events, %zu peers of %zu pids, all equal to the "
           "independent decoder's\n", path, m.net_events, m.peer_count, m.pid_count);
    process_table_destroy(t);
    /* A small store: per process, the sums still equal, the rest folded and counted. */
    struct process_table_config small = {.capacity = 4096, .retention = UINT64_MAX / 2,
                                         .peer_capacity = 24, .peers_per_process = 3};
    t = replay(path, &small);
    compare_with_table(&m, t, false, generated, path);
    process_table_stats(t, &st);
    EXPECT(m.peer_count <= 3 * m.pid_count || st.peers_evicted > 0,
           "%s: no evictions in a small store", path);
    EXPECT(!generated || st.peers_refused > 0, "%s: a full store refused nothing", path);
    printf("%s: with 24 peers, 3 per process: %" PRIu64 " evicted, %" PRIu64 " refused, "
           "sums equal\n", path, st.peers_evicted, st.peers_refused);
    process_table_destroy(t);
}

int main(int argc, char **argv)
{
    _Static_assert(PEER_SENT_BYTES == 0 && PEER_RECV_EVENTS == 3 && PEER_CONNECTS == 4 &&
                       PEER_ACCEPTS == 5 && PEER_DISCONNECTS == 6 && PEER_RETRANSMITS == 7 &&
                       PEER_RETRANSMIT_BYTES == 8 && PEER_RECONNECTS == 9,
                   "the model's counter order");
    /* Generated traces first: they need nothing outside the repository. */
    char path[4096];
    for (uint32_t seed = 1; seed <= 3; seed++) {
        snprintf(path, sizeof path, "test_etl_peers_%u.etl", (unsigned)seed);
        struct etl_writer *w = scenario_peers(seed, 12, 60);
        if (!etl_writer_save(w, path)) {
            fprintf(stderr, "FAIL: cannot write %s\n", path);
            return 1;
        }
        etl_writer_free(w);
        check_file(path, true);
        remove(path);
    }
    const char *dir = argc > 1 ? argv[1] : "../shared/data/etl";
    static const char *const real[] = {"perfview/net.4.5.2.x64.etl", "perfview/net.4.5.2.x86.etl"};
    for (size_t i = 0; i < ARRAY_SIZE(real); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, real[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("skip %s: not found (the shared traces are outside the repository)\n", path);
            continue;
        }
        fclose(f);
        check_file(path, false);
    }
    if (failures)
        fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
