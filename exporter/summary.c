/* The table `--summary` prints: one row per process instance, widest numbers decide the
 * column widths, sorted by total bytes (TCP and UDP, sent and received, IPv4 and IPv6).
 * Instances the table already retired (exited longer ago than the retention) are summed
 * into one "(retired)" row, so the rows always add up to the replay's totals. The last
 * column names the services each process hosts ("-" for none).
 *
 * With --peers, each process's busiest peers (by bytes sent and received) follow its row,
 * and one "other" line holds the bytes of the rest, so a process's peer lines add up to
 * its TCP and UDP bytes. The rows then come from process_table_foreach_peers: each row
 * and its peers are one reading. */
#include "summary.h"
#include "address_text.h"
#include "json_peers.h"   /* peer_protocol_label, peer_direction_label */
#include "metric_names.h"
#include "row_services.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum column {
    COL_SENT_BYTES, COL_SENDS, COL_RECV_BYTES, COL_RECVS, COL_CONNECTS, COL_ACCEPTS,
    COL_DISCONNECTS, COL_RETRANSMITS, COL_RECONNECTS, COL_COPIES, COL_UDP_SENT_BYTES,
    COL_UDP_RECV_BYTES, COL_COUNT
};

static const char *const COLUMN_TITLES[COL_COUNT] = {
    "SENT_BYTES", "SENDS", "RECV_BYTES", "RECVS", "CONNECTS", "ACCEPTS", "DISCONNECTS",
    "RETRANSMITS", "RECONNECTS", "COPIES", "UDP_SENT_BYTES", "UDP_RECV_BYTES",
};

/* Which table counter each column shows (both families summed). */
static const enum counter COLUMN_COUNTERS[COL_COUNT] = {
    CTR_SENT_BYTES, CTR_SENT_EVENTS, CTR_RECV_BYTES, CTR_RECV_EVENTS, CTR_CONNECTS,
    CTR_ACCEPTS, CTR_DISCONNECTS, CTR_RETRANSMITS, CTR_RECONNECTS, CTR_COPIES,
    CTR_UDP_SENT_BYTES, CTR_UDP_RECV_BYTES,
};

struct line {
    char pid[16];
    char name[IMAGE_NAME_MAX + 2];
    uint64_t instance_id;
    uint32_t pid_value;
    uint64_t total_bytes;
    uint64_t values[COL_COUNT];
    char services[96];
    size_t peer_at, peer_count;            /* into lines->peers */
    uint64_t other_sent, other_received;   /* bytes of the peers not listed, and of other */
};

/* One peer line under its process. */
struct summary_peer {
    uint8_t protocol, direction;
    uint16_t port;
    char remote[ADDRESS_TEXT_MAX];
    uint64_t sent, received;
};

struct lines {
    struct line *items;
    size_t count;
    size_t capacity;
    bool out_of_memory;
    uint64_t sums[FAMILY_COUNT][CTR_COUNT]; /* of everything added */
    const struct process_table *table;
    struct summary_peer *peers;
    size_t peer_count, peer_capacity;
};

static uint64_t total_bytes(const uint64_t counters[FAMILY_COUNT][CTR_COUNT])
{
    uint64_t total = 0;
    for (int f = 0; f < FAMILY_COUNT; f++)
        total += counters[f][CTR_SENT_BYTES] + counters[f][CTR_RECV_BYTES]
               + counters[f][CTR_UDP_SENT_BYTES] + counters[f][CTR_UDP_RECV_BYTES];
    return total;
}

static struct line *add_line(struct lines *lines,
                             const uint64_t counters[FAMILY_COUNT][CTR_COUNT])
{
    if (lines->count == lines->capacity) {
        size_t grown = lines->capacity ? lines->capacity * 2 : 64;
        struct line *p = realloc(lines->items, grown * sizeof *p);
        if (!p) {
            lines->out_of_memory = true;
            return NULL;
        }
        lines->items = p;
        lines->capacity = grown;
    }
    struct line *line = &lines->items[lines->count++];
    memset(line, 0, sizeof *line);
    for (int c = 0; c < COL_COUNT; c++)
        line->values[c] = counters[0][COLUMN_COUNTERS[c]] + counters[1][COLUMN_COUNTERS[c]];
    line->total_bytes = total_bytes(counters);
    snprintf(line->services, sizeof line->services, "-");
    return line;
}

static struct line *collect_line(const struct process_view *row, struct lines *lines)
{
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            lines->sums[f][c] += row->counters[f][c];
    struct line *line = add_line(lines, row->counters);
    if (!line)
        return NULL;
    line->pid_value = row->pid;
    line->instance_id = row->instance_id;
    if (row->is_overflow)
        snprintf(line->pid, sizeof line->pid, "-");
    else
        snprintf(line->pid, sizeof line->pid, "%" PRIu32, row->pid);
    snprintf(line->name, sizeof line->name, "%s", row->name);
    struct row_services services;
    row_services_of(lines->table, row->service_set, &services);
    if (services.count > 0)
        row_services_text(&services, line->services, sizeof line->services);
    return line;
}

static void collect_row(const struct process_view *row, void *context)
{
    collect_line(row, context);
}

/* ---- peers (--peers) ---- */

static uint64_t peer_bytes(const struct peer_view *p)
{
    return p->counters[PEER_SENT_BYTES] + p->counters[PEER_RECV_BYTES];
}

/* More bytes first; equal ones in a fixed order, so the listing does not depend on where
 * the store happened to keep each peer. */
static bool busier(const struct peer_view *a, const struct peer_view *b)
{
    if (peer_bytes(a) != peer_bytes(b))
        return peer_bytes(a) > peer_bytes(b);
    if (a->protocol != b->protocol)
        return a->protocol < b->protocol;
    if (a->family != b->family)
        return a->family < b->family;
    int by_address = memcmp(a->address, b->address, sizeof a->address);
    if (by_address != 0)
        return by_address < 0;
    if (a->port != b->port)
        return a->port < b->port;
    return a->direction < b->direction;
}

/* The indexes of the busiest peers, busiest first; returns how many. */
static size_t top_peers(const struct peer_view *peers, size_t count,
                        size_t top[SUMMARY_PEERS_SHOWN])
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        size_t at = n;
        while (at > 0 && busier(&peers[i], &peers[top[at - 1]]))
            at--;
        if (at >= SUMMARY_PEERS_SHOWN)
            continue;
        if (n < SUMMARY_PEERS_SHOWN)
            n++;
        memmove(&top[at + 1], &top[at], (n - 1 - at) * sizeof *top);
        top[at] = i;
    }
    return n;
}

static struct summary_peer *add_peer(struct lines *lines)
{
    if (lines->peer_count == lines->peer_capacity) {
        size_t grown = lines->peer_capacity ? lines->peer_capacity * 2 : 64;
        struct summary_peer *p = realloc(lines->peers, grown * sizeof *p);
        if (!p) {
            lines->out_of_memory = true;
            return NULL;
        }
        lines->peers = p;
        lines->peer_capacity = grown;
    }
    return &lines->peers[lines->peer_count++];
}

static void list_peer(struct lines *lines, struct line *line, const struct peer_view *view)
{
    struct summary_peer *peer = add_peer(lines);
    if (!peer)
        return;
    peer->protocol = view->protocol;
    peer->direction = view->direction;
    peer->port = view->port;
    peer->sent = view->counters[PEER_SENT_BYTES];
    peer->received = view->counters[PEER_RECV_BYTES];
    address_text(peer->remote, view->family, view->address,
                 process_table_peer_prefix(lines->table, (enum ip_family)view->family));
    line->peer_count++;
}

/* Everything of the instance: its peers and the table's other, of every family. */
static void sum_all(const struct process_peers *entry, uint64_t *sent, uint64_t *received)
{
    *sent = *received = 0;
    for (size_t i = 0; i < entry->count; i++) {
        *sent += entry->peers[i].counters[PEER_SENT_BYTES];
        *received += entry->peers[i].counters[PEER_RECV_BYTES];
    }
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int p = 0; p < PEER_PROTOCOL_COUNT; p++) {
            *sent += entry->other[f][p][PEER_SENT_BYTES];
            *received += entry->other[f][p][PEER_RECV_BYTES];
        }
}

static void collect_peers_row(const struct process_peers *entry, void *context)
{
    struct lines *lines = context;
    struct line *line = collect_line(entry->process, lines);
    if (!line)
        return;
    size_t top[SUMMARY_PEERS_SHOWN];
    size_t n = top_peers(entry->peers, entry->count, top);
    /* other is what the listed lines leave of the whole: the lines then add up exactly */
    sum_all(entry, &line->other_sent, &line->other_received);
    line->peer_at = lines->peer_count;
    for (size_t i = 0; i < n; i++) {
        const struct peer_view *view = &entry->peers[top[i]];
        list_peer(lines, line, view);
        line->other_sent -= view->counters[PEER_SENT_BYTES];
        line->other_received -= view->counters[PEER_RECV_BYTES];
    }
}

/* Totals by name include retired instances; what the rows lack is theirs. */
static void collect_name(const struct name_view *totals, void *context)
{
    uint64_t (*sums)[CTR_COUNT] = context;
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++)
            sums[f][c] += totals->counters[f][c];
}

static void add_retired_line(struct lines *lines, const struct process_table *table)
{
    uint64_t names[FAMILY_COUNT][CTR_COUNT] = { { 0 } };
    uint64_t retired[FAMILY_COUNT][CTR_COUNT];
    bool any = false;
    process_table_foreach_name(table, collect_name, names);
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int c = 0; c < CTR_COUNT; c++) {
            retired[f][c] = names[f][c] > lines->sums[f][c] ? names[f][c] - lines->sums[f][c] : 0;
            any |= retired[f][c] != 0;
        }
    if (!any)
        return;
    struct line *line = add_line(lines, retired);
    if (!line)
        return;
    line->pid_value = UINT32_MAX;
    line->instance_id = UINT64_MAX;
    snprintf(line->pid, sizeof line->pid, "-");
    snprintf(line->name, sizeof line->name, "(retired)");
}

static int by_total_bytes(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->total_bytes != y->total_bytes)
        return x->total_bytes > y->total_bytes ? -1 : 1;
    if (x->pid_value != y->pid_value)
        return x->pid_value < y->pid_value ? -1 : 1;
    return x->instance_id < y->instance_id ? -1 : x->instance_id > y->instance_id;
}

static int digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Widths of the peer lines' remote, sent and received columns, over every line. */
struct peer_widths {
    int remote, sent, received;
};

static void widen(int *width, int value)
{
    if (value > *width)
        *width = value;
}

static struct peer_widths peer_widths(const struct lines *lines)
{
    struct peer_widths w = { (int)strlen("other"), 1, 1 };
    for (size_t i = 0; i < lines->peer_count; i++) {
        widen(&w.remote, (int)strlen(lines->peers[i].remote));
        widen(&w.sent, digits(lines->peers[i].sent));
        widen(&w.received, digits(lines->peers[i].received));
    }
    for (size_t i = 0; i < lines->count; i++) {
        widen(&w.sent, digits(lines->items[i].other_sent));
        widen(&w.received, digits(lines->items[i].other_received));
    }
    return w;
}

/* Under the IMAGE column: protocol, direction, remote, port, bytes sent and received. */
static void print_peers(FILE *out, const struct lines *lines, const struct line *l,
                        int indent, const struct peer_widths *w)
{
    for (size_t i = 0; i < l->peer_count; i++) {
        const struct summary_peer *p = &lines->peers[l->peer_at + i];
        fprintf(out, "%*s%-3s  %-8s  %-*s  %5u  sent %*" PRIu64 "  received %*" PRIu64 "\n",
                indent, "", peer_protocol_label((enum peer_protocol)p->protocol),
                peer_direction_label((enum peer_direction)p->direction), w->remote, p->remote,
                (unsigned)p->port, w->sent, p->sent, w->received, p->received);
    }
    if (l->other_sent != 0 || l->other_received != 0)
        fprintf(out, "%*s%-3s  %-8s  %-*s  %5s  sent %*" PRIu64 "  received %*" PRIu64 "\n",
                indent, "", "-", "-", w->remote, "other", "-", w->sent, l->other_sent,
                w->received, l->other_received);
}

static void print_table(FILE *out, const struct lines *lines)
{
    int pid_width = 3, name_width = 5, widths[COL_COUNT];
    for (int c = 0; c < COL_COUNT; c++)
        widths[c] = (int)strlen(COLUMN_TITLES[c]);
    for (size_t i = 0; i < lines->count; i++) {
        const struct line *l = &lines->items[i];
        if ((int)strlen(l->pid) > pid_width) pid_width = (int)strlen(l->pid);
        if ((int)strlen(l->name) > name_width) name_width = (int)strlen(l->name);
        for (int c = 0; c < COL_COUNT; c++)
            if (digits(l->values[c]) > widths[c]) widths[c] = digits(l->values[c]);
    }
    struct peer_widths pw = peer_widths(lines);
    fprintf(out, "%*s  %-*s", pid_width, "PID", name_width, "IMAGE");
    for (int c = 0; c < COL_COUNT; c++)
        fprintf(out, "  %*s", widths[c], COLUMN_TITLES[c]);
    fputs("  SERVICES\n", out);
    for (size_t i = 0; i < lines->count; i++) {
        const struct line *l = &lines->items[i];
        fprintf(out, "%*s  %-*s", pid_width, l->pid, name_width, l->name);
        for (int c = 0; c < COL_COUNT; c++)
            fprintf(out, "  %*" PRIu64, widths[c], l->values[c]);
        fprintf(out, "  %s\n", l->services);
        print_peers(out, lines, l, pid_width + 2, &pw);
    }
}

static void print_totals(FILE *out, const struct process_table *table,
                         const struct etl_replay_report *report)
{
    struct table_stats stats;
    process_table_stats(table, &stats);
    uint64_t failures = 0;
    for (int f = 0; f < FAMILY_COUNT; f++)
        for (int i = 0; i < FAIL_CODE_SLOTS; i++)
            failures += stats.fails[f][i];
    fprintf(out, "\n");
    fprintf(out, "failures: %" PRIu64 "\n", failures);
    fprintf(out, "malformed records: %" PRIu64 "\n", stats.dropped[DROP_MALFORMED]);
    fprintf(out, "short network records (counted): %" PRIu64 "\n", stats.short_records);
    fprintf(out, "unknown records: %" PRIu64 "\n", stats.dropped[DROP_UNKNOWN]);
    fprintf(out, "unknown header kinds: %" PRIu64 "\n", report->unknown_header_kinds);
    fprintf(out, "processes untracked (table full): %" PRIu64 "\n", stats.processes_untracked);
    fprintf(out, "lost events: %" PRIu64 " (file headers), %" PRIu64 " (lost-event records), %"
            PRIu64 " (lost-buffer records)\n", report->file_events_lost, stats.lost_events,
            stats.lost_buffers);
    fprintf(out, "damaged files: %" PRIu64 "\n", report->damaged_files);
    fprintf(out, "records: %" PRIu64 " read, %" PRIu64 " of TcpIp/UdpIp/Process/lost-event "
            "classes\n", report->records, report->records_fed);
    fprintf(out, "files: %" PRIu64 ", buffers: %" PRIu64 ", bytes: %" PRIu64 "\n",
            report->files, report->buffers, report->bytes_read);
}

void summary_print(FILE *out, const struct process_table *table,
                   const struct etl_replay_report *report)
{
    struct summary_options options = { .peers = false };
    summary_print_with(out, table, report, &options);
}

void summary_print_with(FILE *out, const struct process_table *table,
                        const struct etl_replay_report *report,
                        const struct summary_options *options)
{
    struct lines lines = { .table = table };
    if (!options->peers || !process_table_peers_enabled(table))
        process_table_foreach(table, collect_row, &lines);
    else if (!process_table_foreach_peers(table, collect_peers_row, &lines))
        lines.out_of_memory = true;
    add_retired_line(&lines, table);
    if (lines.count)
        qsort(lines.items, lines.count, sizeof *lines.items, by_total_bytes);
    print_table(out, &lines);
    if (lines.out_of_memory)
        fprintf(out, "(out of memory: some rows are missing)\n");
    free(lines.items);
    free(lines.peers);
    print_totals(out, table, report);
}
