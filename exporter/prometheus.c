/* The /metrics exposition. A render first copies the rows it will show into a snapshot
 * (one consistent view per row, filtered, sorted, one instance per label set), then writes
 * one metric family after another from it: the text formats require every sample of a
 * family to be contiguous, and the snapshot keeps all families of one row in agreement.
 *
 * The inner loop writes ~16 lines per process and family with memcpy and a table-driven
 * integer formatter: 10,000 processes are a few MB of text, and snprintf per line would
 * cost more than everything else together.
 *
 * With --collector.peers the snapshot also holds each row's remote peers: the ones shown
 * (--collector.peers.top) with their label text built once, and per family and protocol
 * an `other` that adds the table's other and every peer not shown, so that a sum over
 * `remote` is the process's counter exactly. In per-instance form the rows and their peers
 * come from one reading (process_table_foreach_peers), so that sum holds within a render
 * even while events arrive. */
#include "prometheus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../collector/bytes.h"
#include "address_text.h"
#include "connection_owners.h"
#include "label_text.h"
#include "json_peers.h"   /* peer_protocol_label, peer_direction_label */
#include "metric_names.h"
#include "name_filter.h"
#include "row_services.h"

struct series_row {
    char name[IMAGE_NAME_MAX];
    uint32_t pid;
    uint32_t parent_pid;
    uint32_t service_set;
    uint64_t instance_id;
    uint64_t start_time;
    uint64_t counters[FAMILY_COUNT][CTR_COUNT];
    size_t label_offset[FAMILY_COUNT];   /* into renderer->labels */
    size_t label_length[FAMILY_COUNT];   /* 0: the family has no activity, no series */
    size_t peers;                        /* into renderer->peer_rows; NO_PEERS: none */
};

#define NO_PEERS SIZE_MAX

/* A shown peer: its counters and its whole label text, built once for every family. */
struct series_peer {
    uint64_t counters[PEER_CTR_COUNT];
    uint8_t address[16];
    uint8_t family, protocol, direction;
    uint16_t port;
    size_t label_offset, label_length;   /* into renderer->peer_labels */
};

/* The peers of one row: its shown peers (renderer->peers[first..first + count), sorted by
 * protocol, family, address, direction and port), and per family and protocol the other
 * series, which has a label text once it counted anything. */
struct peer_row {
    size_t first, count;
    uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
    size_t other_offset[FAMILY_COUNT][PEER_PROTOCOL_COUNT];
    size_t other_length[FAMILY_COUNT][PEER_PROTOCOL_COUNT];   /* 0: no other series */
};

struct metrics_renderer {
    struct series_row *rows;
    size_t row_count;
    size_t row_capacity;
    bool out_of_memory;
    struct text_buffer labels;           /* `process="x",pid="1",service="",family="ipv4"` */
    struct text_buffer scratch;          /* a row's joined services */
    const struct render_options *options;
    const struct process_table *table;
    /* peers (options->peers only) */
    struct peer_row *peer_rows;
    size_t peer_row_count, peer_row_capacity;
    struct series_peer *peers;
    size_t peer_count, peer_capacity;
    struct text_buffer peer_labels;      /* `process=...,protocol="tcp",...,port="443"` */
    struct text_buffer owner;            /* a row's `process=..,pid=..,service=..` */
};

struct metrics_renderer *metrics_renderer_create(void)
{
    struct metrics_renderer *renderer = calloc(1, sizeof *renderer);
    if (renderer != NULL) {
        text_buffer_init(&renderer->labels);
        text_buffer_init(&renderer->scratch);
        text_buffer_init(&renderer->peer_labels);
        text_buffer_init(&renderer->owner);
    }
    return renderer;
}

void metrics_renderer_destroy(struct metrics_renderer *renderer)
{
    if (renderer == NULL)
        return;
    free(renderer->rows);
    free(renderer->peer_rows);
    free(renderer->peers);
    text_buffer_free(&renderer->labels);
    text_buffer_free(&renderer->scratch);
    text_buffer_free(&renderer->peer_labels);
    text_buffer_free(&renderer->owner);
    free(renderer);
}

/* ---- snapshot ---- */

/* A growing array of the snapshot with room for one more item than count: items itself,
 * or its reallocation; NULL when memory ran out (items is then unchanged). */
static void *room_for_one(struct metrics_renderer *renderer, void *items, size_t count,
                          size_t *capacity, size_t item_size)
{
    if (count < *capacity)
        return items;
    size_t grown = *capacity ? *capacity * 2 : 256;
    void *more = realloc(items, grown * item_size);
    if (more == NULL) {
        renderer->out_of_memory = true;
        return NULL;
    }
    *capacity = grown;
    return more;
}

static struct series_row *next_row(struct metrics_renderer *renderer)
{
    struct series_row *rows = room_for_one(renderer, renderer->rows, renderer->row_count,
                                           &renderer->row_capacity, sizeof *rows);
    if (rows == NULL)
        return NULL;
    renderer->rows = rows;
    return &rows[renderer->row_count++];
}

/* What take_row copies: a process view, or a name view with the fields it lacks zero. */
struct row_source {
    const char *name;  /* a view's whole fixed-size array, so copying all of it stays in bounds */
    uint32_t pid, parent_pid, service_set;
    uint64_t instance_id, start_time;
    const uint64_t (*counters)[CTR_COUNT];
};

/* Copies one row into the snapshot if the filters let it through; NULL if they did not
 * (or memory ran out). */
static struct series_row *take_row(struct metrics_renderer *renderer,
                                   const struct row_source *from)
{
    struct row_services services;
    row_services_of(renderer->table, from->service_set, &services);
    if (!row_filter_allows(renderer->options, from->name, services.refs, services.count))
        return NULL;
    struct series_row *row = next_row(renderer);
    if (row == NULL)
        return NULL;
    memcpy(row->name, from->name, sizeof row->name);
    row->name[sizeof row->name - 1] = '\0';
    row->pid = from->pid;
    row->parent_pid = from->parent_pid;
    row->service_set = from->service_set;
    row->instance_id = from->instance_id;
    row->start_time = from->start_time;
    memcpy(row->counters, from->counters, sizeof row->counters);
    row->peers = NO_PEERS;
    return row;
}

static void take_process(const struct process_view *view, void *context)
{
    struct row_source from = {
        .name = view->name, .pid = view->pid, .parent_pid = view->parent_pid,
        .service_set = view->service_set, .instance_id = view->instance_id,
        .start_time = view->start_time, .counters = view->counters,
    };
    take_row(context, &from);
}

/* Aggregated by name: no pid label, so pid and instance are 0 for the sort. */
static void take_name(const struct name_view *view, void *context)
{
    struct row_source from = {
        .name = view->name, .service_set = view->service_set, .counters = view->counters,
    };
    take_row(context, &from);
}

/* ---- snapshot: peers ---- */

static struct series_peer *next_peer(struct metrics_renderer *renderer)
{
    struct series_peer *peers = room_for_one(renderer, renderer->peers, renderer->peer_count,
                                             &renderer->peer_capacity, sizeof *peers);
    if (peers == NULL)
        return NULL;
    renderer->peers = peers;
    return &peers[renderer->peer_count++];
}

static struct peer_row *next_peer_row(struct metrics_renderer *renderer)
{
    struct peer_row *rows = room_for_one(renderer, renderer->peer_rows,
                                         renderer->peer_row_count,
                                         &renderer->peer_row_capacity, sizeof *rows);
    if (rows == NULL)
        return NULL;
    renderer->peer_rows = rows;
    return &rows[renderer->peer_row_count++];
}

static void add_peer_counters(uint64_t to[PEER_CTR_COUNT], const uint64_t from[PEER_CTR_COUNT])
{
    for (int c = 0; c < PEER_CTR_COUNT; c++)
        to[c] += from[c];
}

/* Copies the shown peers of one row and sums the others into its other; returns the index
 * of its peer_row, or NO_PEERS when memory ran out. A peer that stops being shown joins
 * that sum with all it counted, and one that takes a place leaves what it had counted
 * there (peer_view.shown_from), so other never goes down. */
static size_t take_peers(struct metrics_renderer *renderer, const struct peer_view *peers,
                         size_t count,
                         const uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT])
{
    struct peer_row *row = next_peer_row(renderer); /* next_peer leaves it in place */
    if (row == NULL)
        return NO_PEERS;
    memset(row, 0, sizeof *row);
    row->first = renderer->peer_count;
    memcpy(row->other, other, sizeof row->other);
    for (size_t i = 0; i < count; i++) {
        const struct peer_view *view = &peers[i];
        if (view->family >= FAMILY_COUNT || view->protocol >= PEER_PROTOCOL_COUNT)
            continue; /* cannot happen: the store writes only these */
        if (!view->shown) {
            add_peer_counters(row->other[view->family][view->protocol], view->counters);
            continue;
        }
        struct series_peer *peer = next_peer(renderer);
        if (peer == NULL)
            return NO_PEERS;
        /* Its series starts where it took its place; what it counted before stays in
         * other, where it was rendered while it was not shown. */
        for (int c = 0; c < PEER_CTR_COUNT; c++) {
            peer->counters[c] = view->counters[c] - view->shown_from[c];
            row->other[view->family][view->protocol][c] += view->shown_from[c];
        }
        memcpy(peer->address, view->address, sizeof peer->address);
        peer->family = view->family;
        peer->protocol = view->protocol;
        peer->direction = view->direction;
        peer->port = view->port;
        row->count++;
    }
    return (size_t)(row - renderer->peer_rows);
}

/* Per instance: the row and its peers from one reading. */
static void take_process_peers(const struct process_peers *entry, void *context)
{
    struct metrics_renderer *renderer = context;
    const struct process_view *view = entry->process;
    struct row_source from = {
        .name = view->name, .pid = view->pid, .parent_pid = view->parent_pid,
        .service_set = view->service_set, .instance_id = view->instance_id,
        .start_time = view->start_time, .counters = view->counters,
    };
    struct series_row *row = take_row(renderer, &from);
    if (row != NULL) /* take_peers grows the peer arrays only: row stays valid */
        row->peers = take_peers(renderer, entry->peers, entry->count, entry->other);
}

static int compare_rows(const void *a, const void *b)
{
    const struct series_row *x = a;
    const struct series_row *y = b;
    int by_name = strcmp(x->name, y->name);
    if (by_name != 0)
        return by_name;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->service_set != y->service_set) /* aggregated: one row per name and set */
        return x->service_set < y->service_set ? -1 : 1;
    if (x->instance_id != y->instance_id)
        return x->instance_id < y->instance_id ? -1 : 1;
    return 0;
}

/* A pid reused by a process of the same name and services while the exited one is still
 * retained would give two series with one label set, which Prometheus rejects. Show the
 * newest instance: to Prometheus that reads as a counter reset, which is what a new
 * process is. In the aggregated form the table already gives each name and set once. */
static void keep_newest_per_label_set(struct metrics_renderer *renderer)
{
    size_t kept = 0;
    for (size_t i = 0; i < renderer->row_count; i++) {
        const struct series_row *last = kept > 0 ? &renderer->rows[kept - 1] : NULL;
        if (last && last->pid == renderer->rows[i].pid &&
            strcmp(last->name, renderer->rows[i].name) == 0 &&
            last->service_set == renderer->rows[i].service_set) { /* interned: same ids */
            renderer->rows[kept - 1] = renderer->rows[i];   /* sorted: i is newer */
            continue;
        }
        if (kept != i)
            renderer->rows[kept] = renderer->rows[i];
        kept++;
    }
    renderer->row_count = kept;
}

/* Aggregated: a name's peers join the row of that name and set of services (the rows are
 * sorted by then); a name the filters hide has no row, so its peers stay out too. */
static void take_name_peers(const struct name_peers *entry, void *context)
{
    struct metrics_renderer *renderer = context;
    struct series_row key;
    memset(&key, 0, sizeof key);
    snprintf(key.name, sizeof key.name, "%s", entry->name);
    key.service_set = entry->service_set;
    struct series_row *row = renderer->row_count == 0 ? NULL
        : bsearch(&key, renderer->rows, renderer->row_count, sizeof *renderer->rows,
                  compare_rows);
    if (row == NULL || row->peers != NO_PEERS)
        return;
    row->peers = take_peers(renderer, entry->peers, entry->count, entry->other);
    /* The name's series from the same reading as its peers: a sum over remote is exact in
     * every render, as for instances. Both only grow, so the series never goes down. */
    peer_covered_sums(row->counters, entry->peers, entry->count, entry->other);
}

static bool family_active(const uint64_t counters[CTR_COUNT])
{
    for (int c = 0; c < CTR_COUNT; c++) {
        if (counters[c] != 0)
            return true;
    }
    return false;
}

/* A series exists for a process and address family once anything was counted there, so a
 * process that only used IPv4 does not carry sixteen IPv6 zeros. */
static void build_labels(struct metrics_renderer *renderer, bool with_pid)
{
    struct text_buffer *labels = &renderer->labels;
    text_buffer_reset(labels);
    for (size_t i = 0; i < renderer->row_count; i++) {
        struct series_row *row = &renderer->rows[i];
        struct row_services services;
        row_services_of(renderer->table, row->service_set, &services);
        text_buffer_reset(&renderer->scratch);
        row_services_join(&services, false, &renderer->scratch);
        const char *service = renderer->scratch.length ? renderer->scratch.data : "";
        for (int f = 0; f < FAMILY_COUNT; f++) {
            row->label_offset[f] = labels->length;
            row->label_length[f] = 0;
            if (!family_active(row->counters[f]))
                continue;
            text_buffer_append_str(labels, "process=\"");
            append_label_value(labels, row->name);
            if (with_pid) {
                text_buffer_append_str(labels, "\",pid=\"");
                text_buffer_append_u64(labels, row->pid);
            }
            text_buffer_append_str(labels, "\",service=\"");
            append_label_value(labels, service);
            text_buffer_append_str(labels, "\",family=\"");
            text_buffer_append_str(labels, family_label((enum ip_family)f));
            text_buffer_append_char(labels, '"');
            row->label_length[f] = labels->length - row->label_offset[f];
        }
    }
}

/* ---- peer labels ---- */

static int compare_peers(const void *a, const void *b)
{
    const struct series_peer *x = a, *y = b;
    if (x->protocol != y->protocol)
        return x->protocol < y->protocol ? -1 : 1;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    int by_address = memcmp(x->address, y->address, sizeof x->address);
    if (by_address != 0)
        return by_address;
    if (x->direction != y->direction)
        return x->direction < y->direction ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

/* `process="x",pid="1",service="y"` of a row, into renderer->owner. */
static void owner_text(struct metrics_renderer *renderer, const struct series_row *row,
                       bool with_pid)
{
    struct row_services services;
    row_services_of(renderer->table, row->service_set, &services);
    text_buffer_reset(&renderer->scratch);
    row_services_join(&services, false, &renderer->scratch);
    struct text_buffer *owner = &renderer->owner;
    text_buffer_reset(owner);
    text_buffer_append_str(owner, "process=\"");
    append_label_value(owner, row->name);
    if (with_pid) {
        text_buffer_append_str(owner, "\",pid=\"");
        text_buffer_append_u64(owner, row->pid);
    }
    text_buffer_append_str(owner, "\",service=\"");
    append_label_value(owner, renderer->scratch.length ? renderer->scratch.data : "");
    text_buffer_append_char(owner, '"');
}

/* Appends owner plus the peer's own labels; remote "other" has neither direction nor port
 * (empty values), so every series of a family has the same label names. */
static void peer_label(struct metrics_renderer *renderer, unsigned protocol, unsigned family,
                       const char *direction, const char *remote, const char *port,
                       size_t *offset, size_t *length)
{
    struct text_buffer *labels = &renderer->peer_labels;
    *offset = labels->length;
    text_buffer_append(labels, renderer->owner.data, renderer->owner.length);
    text_buffer_append_str(labels, ",protocol=\"");
    text_buffer_append_str(labels, peer_protocol_label((enum peer_protocol)protocol));
    text_buffer_append_str(labels, "\",family=\"");
    text_buffer_append_str(labels, family_label((enum ip_family)family));
    text_buffer_append_str(labels, "\",direction=\"");
    text_buffer_append_str(labels, direction);
    text_buffer_append_str(labels, "\",remote=\"");
    append_label_value(labels, remote);
    text_buffer_append_str(labels, "\",port=\"");
    text_buffer_append_str(labels, port);
    text_buffer_append_char(labels, '"');
    *length = labels->length - *offset;
}

static void shown_peer_label(struct metrics_renderer *renderer, struct series_peer *peer)
{
    char remote[ADDRESS_TEXT_MAX], port[8];
    unsigned prefix = process_table_peer_prefix(renderer->table, (enum ip_family)peer->family);
    address_text(remote, peer->family, peer->address, prefix);
    snprintf(port, sizeof port, "%u", (unsigned)peer->port);
    peer_label(renderer, peer->protocol, peer->family,
               peer_direction_label((enum peer_direction)peer->direction), remote, port,
               &peer->label_offset, &peer->label_length);
}

/* Whether a counter that applies to the protocol counted anything. */
static bool other_active(unsigned protocol, const uint64_t counters[PEER_CTR_COUNT])
{
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        if (counters[c] != 0 && peer_process_counter((enum peer_protocol)protocol,
                                                     (enum peer_counter)c) >= 0)
            return true;
    }
    return false;
}

/* Label texts of each row's shown peers and of its other series once other counted
 * something: other never goes down, so once there it stays for the instance's life. */
static void build_peer_labels(struct metrics_renderer *renderer, bool with_pid)
{
    text_buffer_reset(&renderer->peer_labels);
    for (size_t i = 0; i < renderer->row_count; i++) {
        const struct series_row *row = &renderer->rows[i];
        if (row->peers == NO_PEERS)
            continue;
        struct peer_row *peers = &renderer->peer_rows[row->peers];
        struct series_peer *first = renderer->peers + peers->first;
        if (peers->count > 1)
            qsort(first, peers->count, sizeof *first, compare_peers);
        owner_text(renderer, row, with_pid);
        for (size_t p = 0; p < peers->count; p++)
            shown_peer_label(renderer, &first[p]);
        for (unsigned f = 0; f < FAMILY_COUNT; f++)
            for (unsigned p = 0; p < PEER_PROTOCOL_COUNT; p++) {
                peers->other_length[f][p] = 0;
                if (other_active(p, peers->other[f][p]))
                    peer_label(renderer, p, f, "", "other", "", &peers->other_offset[f][p],
                               &peers->other_length[f][p]);
            }
    }
}

static bool take_snapshot(struct metrics_renderer *renderer, const struct process_table *table,
                          const struct render_options *options)
{
    renderer->row_count = 0;
    renderer->peer_row_count = 0;
    renderer->peer_count = 0;
    renderer->out_of_memory = false;
    renderer->options = options;
    renderer->table = table;
    bool peers = options->peers && process_table_peers_enabled(table);
    if (options->aggregate_by_name)
        process_table_foreach_name(table, take_name, renderer);
    else if (peers) {
        if (!process_table_foreach_peers(table, take_process_peers, renderer))
            renderer->out_of_memory = true;
    } else
        process_table_foreach(table, take_process, renderer);
    if (renderer->out_of_memory)
        return false;
    /* qsort's pointer must be valid even for zero rows, and rows is NULL until the first */
    if (renderer->row_count > 1)
        qsort(renderer->rows, renderer->row_count, sizeof *renderer->rows, compare_rows);
    if (!options->aggregate_by_name)
        keep_newest_per_label_set(renderer);
    else if (peers && /* looked up by name and set in the sorted rows */
             !process_table_foreach_name_peers(table, take_name_peers, renderer))
        renderer->out_of_memory = true;
    if (renderer->out_of_memory)
        return false;
    build_labels(renderer, !options->aggregate_by_name);
    if (peers)
        build_peer_labels(renderer, !options->aggregate_by_name);
    return !renderer->labels.failed && !renderer->scratch.failed &&
           !renderer->peer_labels.failed && !renderer->owner.failed;
}

/* ---- writing ---- */

enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_INFO };

struct writer {
    struct text_buffer *out;
    bool openmetrics;
    char sample_name[128];   /* the current family's sample name */
    size_t sample_name_length;
};

/* Writes HELP/TYPE (and UNIT) and sets the sample name. `base` is the OpenMetrics family
 * name; the text format names counters and info metrics by their sample name. */
static void family_header(struct writer *w, const char *base, enum metric_kind kind,
                          const char *unit, const char *help)
{
    static const char *const suffix[] = { "_total", "", "_info" };
    static const char *const text_type[] = { "counter", "gauge", "gauge" };
    static const char *const om_type[] = { "counter", "gauge", "info" };
    snprintf(w->sample_name, sizeof w->sample_name, "%s%s", base, suffix[kind]);
    w->sample_name_length = strlen(w->sample_name);
    const char *family = w->openmetrics ? base : w->sample_name;
    const char *type = w->openmetrics ? om_type[kind] : text_type[kind];

    text_buffer_append_str(w->out, "# HELP ");
    text_buffer_append_str(w->out, family);
    text_buffer_append_char(w->out, ' ');
    append_help_text(w->out, help, w->openmetrics);
    text_buffer_append_str(w->out, "\n# TYPE ");
    text_buffer_append_str(w->out, family);
    text_buffer_append_char(w->out, ' ');
    text_buffer_append_str(w->out, type);
    text_buffer_append_char(w->out, '\n');
    if (w->openmetrics && unit != NULL) {
        text_buffer_append_str(w->out, "# UNIT ");
        text_buffer_append_str(w->out, family);
        text_buffer_append_char(w->out, ' ');
        text_buffer_append_str(w->out, unit);
        text_buffer_append_char(w->out, '\n');
    }
}

/* One sample line from pre-escaped label text (may be empty). */
static void sample_u64(struct writer *w, const char *labels, size_t labels_length,
                       uint64_t value)
{
    struct text_buffer *out = w->out;
    if (!text_buffer_reserve(out, w->sample_name_length + labels_length + 28))
        return;
    char *p = out->data + out->length;
    memcpy(p, w->sample_name, w->sample_name_length);
    p += w->sample_name_length;
    if (labels_length > 0) {
        *p++ = '{';
        memcpy(p, labels, labels_length);
        p += labels_length;
        *p++ = '}';
    }
    *p++ = ' ';
    p += format_u64(p, value);
    *p++ = '\n';
    *p = '\0';
    out->length = (size_t)(p - out->data);
}

/* A sample whose labels are built here: self-metrics, a handful of lines. */
static void labelled_sample(struct writer *w, const char *const *names,
                            const char *const *values, size_t count, const char *value_text)
{
    text_buffer_append(w->out, w->sample_name, w->sample_name_length);
    if (count > 0) {
        text_buffer_append_char(w->out, '{');
        for (size_t i = 0; i < count; i++) {
            if (i > 0)
                text_buffer_append_char(w->out, ',');
            text_buffer_append_str(w->out, names[i]);
            text_buffer_append_str(w->out, "=\"");
            append_label_value(w->out, values[i]);
            text_buffer_append_char(w->out, '"');
        }
        text_buffer_append_char(w->out, '}');
    }
    text_buffer_append_char(w->out, ' ');
    text_buffer_append_str(w->out, value_text);
    text_buffer_append_char(w->out, '\n');
}

static void labelled_u64(struct writer *w, const char *const *names, const char *const *values,
                         size_t count, uint64_t value)
{
    char text[24];
    text[format_u64(text, value)] = '\0';
    labelled_sample(w, names, values, count, text);
}

/* A family of one unlabelled sample. */
static void single_u64(struct writer *w, const char *base, enum metric_kind kind,
                       const char *help, uint64_t value)
{
    family_header(w, base, kind, NULL, help);
    labelled_u64(w, NULL, NULL, 0, value);
}

static void process_families(struct writer *w, const struct metrics_renderer *renderer)
{
    const char *labels = renderer->labels.data;
    for (int c = 0; c < CTR_COUNT; c++) {
        family_header(w, counter_names[c].metric, KIND_COUNTER, counter_names[c].unit,
                      counter_names[c].help);
        for (size_t i = 0; i < renderer->row_count; i++) {
            const struct series_row *row = &renderer->rows[i];
            for (int f = 0; f < FAMILY_COUNT; f++) {
                if (row->label_length[f] == 0)
                    continue;
                sample_u64(w, labels + row->label_offset[f], row->label_length[f],
                           row->counters[f][c]);
            }
        }
    }
}

/* FILETIME (100 ns since 1601) to Unix seconds; 0 stays 0 (unknown). */
static uint64_t unix_seconds(uint64_t filetime)
{
    const uint64_t epoch_1970 = 116444736000000000ull;
    return filetime > epoch_1970 ? (filetime - epoch_1970) / 10000000ull : 0;
}

/* One series per process instance shown: what it is, beyond the labels every counter
 * carries. Joined by (process, pid, service) with the counters. */
static void process_info(struct writer *w, struct metrics_renderer *renderer)
{
    family_header(w, "tcpip_process", KIND_INFO, NULL,
                  "A process instance shown above (value 1): the display names of the "
                  "services it hosts, its parent pid and its start time (Unix seconds; "
                  "the first event's time when the trace did not say).");
    static const char *const names[] = { "process", "pid", "service", "service_display",
                                         "parent_pid", "start_time" };
    for (size_t i = 0; i < renderer->row_count; i++) {
        const struct series_row *row = &renderer->rows[i];
        if (row->label_length[FAMILY_IPV4] == 0 && row->label_length[FAMILY_IPV6] == 0)
            continue;
        struct row_services services;
        row_services_of(renderer->table, row->service_set, &services);
        text_buffer_reset(&renderer->scratch);
        row_services_join(&services, false, &renderer->scratch);
        text_buffer_append_char(&renderer->scratch, '\0');
        size_t display_at = renderer->scratch.length;
        row_services_join(&services, true, &renderer->scratch);
        text_buffer_append_char(&renderer->scratch, '\0');
        if (renderer->scratch.failed)
            return;
        char pid[16], parent[16], start[24];
        snprintf(pid, sizeof pid, "%u", (unsigned)row->pid);
        snprintf(parent, sizeof parent, "%u", (unsigned)row->parent_pid);
        snprintf(start, sizeof start, "%llu", (unsigned long long)unix_seconds(row->start_time));
        const char *values[] = { row->name, pid, renderer->scratch.data,
                                 renderer->scratch.data + display_at, parent, start };
        labelled_sample(w, names, values, ARRAY_SIZE(names), "1");
    }
}

/* ---- remote peers ---- */

/* One counter's samples of one row: per protocol and family its shown peers (sorted so,
 * contiguous), then its other. A counter that means nothing for a protocol (UDP has no
 * connects) has no series of that protocol. */
static void peer_row_samples(struct writer *w, const struct metrics_renderer *renderer,
                             const struct peer_row *row, enum peer_counter c)
{
    const char *labels = renderer->peer_labels.data;
    const struct series_peer *peers = renderer->peers + row->first;
    size_t i = 0;
    for (unsigned p = 0; p < PEER_PROTOCOL_COUNT; p++) {
        bool applies = peer_process_counter((enum peer_protocol)p, c) >= 0;
        for (unsigned f = 0; f < FAMILY_COUNT; f++) {
            for (; i < row->count && peers[i].protocol == p && peers[i].family == f; i++) {
                if (applies)
                    sample_u64(w, labels + peers[i].label_offset, peers[i].label_length,
                               peers[i].counters[c]);
            }
            if (applies && row->other_length[f][p] > 0)
                sample_u64(w, labels + row->other_offset[f][p], row->other_length[f][p],
                           row->other[f][p][c]);
        }
    }
}

static void peer_families(struct writer *w, const struct metrics_renderer *renderer)
{
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        family_header(w, peer_counter_names[c].metric, KIND_COUNTER, peer_counter_names[c].unit,
                      peer_counter_names[c].help);
        for (size_t i = 0; i < renderer->row_count; i++) {
            size_t at = renderer->rows[i].peers;
            if (at != NO_PEERS)
                peer_row_samples(w, renderer, &renderer->peer_rows[at], (enum peer_counter)c);
        }
    }
}

static void peer_store_families(struct writer *w, const struct table_stats *stats)
{
    single_u64(w, "tcpip_exporter_peers_tracked", KIND_GAUGE,
               "Remote peers held now for live and retained process instances.",
               stats->peers_in_use);
    single_u64(w, "tcpip_exporter_peer_capacity", KIND_GAUGE,
               "Remote peers the store holds, fixed at start (--collector.peers.capacity).",
               stats->peer_capacity);
    single_u64(w, "tcpip_exporter_peers_evicted", KIND_COUNTER,
               "Least recently active peers folded into their process's other (the process "
               "had --collector.peers.per-process, or the store was full).",
               stats->peers_evicted);
    single_u64(w, "tcpip_exporter_peers_refused", KIND_COUNTER,
               "Events of a new peer counted in its process's other because the store was "
               "full and the process had no peer to give up.", stats->peers_refused);
    single_u64(w, "tcpip_exporter_peer_swaps", KIND_COUNTER,
               "Times a busier peer took a shown place (--collector.peers.top): the series "
               "of the one that left ends (its counts go to other), the one that came starts "
               "a new one.", stats->peer_swaps);
}

/* ---- open connections and listeners (live) ---- */

/* One gauge sample of a connection family before merging: the owner's labels (offset
 * into owner text), then the family's own labels. Aggregated, several pids of one name
 * and set, and every untracked pid, merge into one sample. */
struct conn_sample {
    size_t owner_at, owner_len;
    uint8_t family;
    uint8_t kind;      /* tcp state slot, or protocol for listeners */
    uint16_t port;
    uint64_t value;
};

struct conn_samples {
    struct conn_sample *items;
    size_t count, capacity;
    struct text_buffer owners; /* `process="x",pid="1",service="y"` per owner seen */
    bool failed;
    bool has_untracked;        /* samples of the bucket, which merge */
};

static _Thread_local const char *sorting_owner_text;

static int compare_samples(const void *a, const void *b)
{
    const struct conn_sample *x = a, *y = b;
    size_t n = x->owner_len < y->owner_len ? x->owner_len : y->owner_len;
    int c = memcmp(sorting_owner_text + x->owner_at, sorting_owner_text + y->owner_at, n);
    if (c != 0)
        return c;
    if (x->owner_len != y->owner_len)
        return x->owner_len < y->owner_len ? -1 : 1;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

/* The owner labels of pid (or of the untracked bucket), appended once per call. */
static bool owner_labels(struct conn_samples *out, const struct process_table *table,
                         const struct connection_owner *owner, bool with_pid,
                         size_t *at, size_t *len)
{
    struct text_buffer *t = &out->owners;
    *at = t->length;
    out->has_untracked |= owner == NULL;
    text_buffer_append_str(t, "process=\"");
    append_label_value(t, owner ? owner->name : UNTRACKED_PROCESS_NAME);
    if (with_pid) {
        text_buffer_append_str(t, "\",pid=\"");
        if (owner)
            text_buffer_append_u64(t, owner->pid);
    }
    text_buffer_append_str(t, "\",service=\"");
    if (owner) {
        struct row_services services;
        row_services_of(table, owner->service_set, &services);
        struct text_buffer joined;
        text_buffer_init(&joined);
        row_services_join(&services, false, &joined);
        append_label_value(t, joined.length ? joined.data : "");
        out->failed |= joined.failed;
        text_buffer_free(&joined);
    }
    text_buffer_append_char(t, '"');
    *len = t->length - *at;
    return !t->failed;
}

static void add_sample(struct conn_samples *out, size_t at, size_t len, int family, int kind,
                       uint16_t port, uint64_t value)
{
    if (out->count == out->capacity) {
        size_t grown = out->capacity ? 2 * out->capacity : 256;
        struct conn_sample *more = realloc(out->items, grown * sizeof *more);
        if (!more) {
            out->failed = true;
            return;
        }
        out->items = more;
        out->capacity = grown;
    }
    out->items[out->count++] = (struct conn_sample){ at, len, (uint8_t)family, (uint8_t)kind,
                                                     port, value };
}

/* Sorted, equal label sets merged (their values summed). Per process, only the untracked
 * bucket can repeat a label set, and the snapshot's pid order is already one sample per
 * label set otherwise: sorting is only needed when something merges. */
static void merge_samples(struct conn_samples *s, bool aggregated)
{
    if (!aggregated && !s->has_untracked)
        return;
    sorting_owner_text = s->owners.data;
    if (s->count > 1)
        qsort(s->items, s->count, sizeof *s->items, compare_samples);
    size_t kept = 0;
    for (size_t i = 0; i < s->count; i++) {
        if (kept > 0 && compare_samples(&s->items[kept - 1], &s->items[i]) == 0) {
            s->items[kept - 1].value += s->items[i].value;
            continue;
        }
        s->items[kept++] = s->items[i];
    }
    s->count = kept;
}

struct conn_context {
    const struct process_table *table;
    const struct render_options *options;
    const struct connection_owners *owners;
    const struct connection_snapshot *snapshot;
    uint64_t untracked_rows;
};

/* The owner of pid, and whether the filters show it (the bucket always shows). */
static bool owner_shown(struct conn_context *c, uint32_t pid,
                        const struct connection_owner **owner)
{
    *owner = connection_owner_of(c->owners, pid, c->snapshot->taken_at);
    if (*owner == NULL)
        return true;
    struct row_services services;
    row_services_of(c->table, (*owner)->service_set, &services);
    return row_filter_allows(c->options, (*owner)->name, services.refs, services.count);
}

static void tcp_samples(struct conn_context *c, struct conn_samples *out)
{
    bool with_pid = !c->options->aggregate_by_name;
    for (size_t i = 0; i < c->snapshot->pid_count; i++) {
        const struct connection_pid_entry *e = &c->snapshot->pids[i];
        const struct connection_owner *owner;
        if (!owner_shown(c, e->pid, &owner))
            continue;
        size_t at, len;
        if (!owner_labels(out, c->table, owner, with_pid, &at, &len))
            return;
        for (int f = 0; f < FAMILY_COUNT; f++)
            for (int s = 0; s < TCP_STATE_SLOTS; s++) {
                if (e->tcp[f][s] == 0)
                    continue;
                add_sample(out, at, len, f, s, 0, e->tcp[f][s]);
                if (owner == NULL)
                    c->untracked_rows += e->tcp[f][s];
            }
    }
}

static void listener_samples(struct conn_context *c, struct conn_samples *out)
{
    bool with_pid = !c->options->aggregate_by_name;
    for (size_t i = 0; i < c->snapshot->listener_count; i++) {
        const struct connection_listener *l = &c->snapshot->listeners[i];
        const struct connection_owner *owner;
        if (!owner_shown(c, l->pid, &owner))
            continue;
        size_t at, len;
        if (!owner_labels(out, c->table, owner, with_pid, &at, &len))
            return;
        add_sample(out, at, len, l->family, l->protocol, l->port, l->sockets);
    }
}

/* Straight into the output: these are thousands of lines on a busy server. */
static void write_conn_samples(struct writer *w, const struct conn_samples *s, bool listeners)
{
    struct text_buffer *out = w->out;
    for (size_t i = 0; i < s->count && !out->failed; i++) {
        const struct conn_sample *x = &s->items[i];
        text_buffer_append(out, w->sample_name, w->sample_name_length);
        text_buffer_append_char(out, '{');
        text_buffer_append(out, s->owners.data + x->owner_at, x->owner_len);
        if (listeners)
            text_buffer_append_str(out, x->kind == CONN_TCP ? ",protocol=\"tcp\""
                                                            : ",protocol=\"udp\"");
        text_buffer_append_str(out, ",family=\"");
        text_buffer_append_str(out, family_label((enum ip_family)x->family));
        if (listeners) {
            text_buffer_append_str(out, "\",port=\"");
            text_buffer_append_u64(out, x->port);
        } else {
            text_buffer_append_str(out, "\",state=\"");
            text_buffer_append_str(out, tcp_state_name((enum tcp_state)x->kind));
        }
        text_buffer_append_str(out, "\"} ");
        text_buffer_append_u64(out, x->value);
        text_buffer_append_char(out, '\n');
    }
}

static void conn_samples_free(struct conn_samples *s)
{
    free(s->items);
    text_buffer_free(&s->owners);
}

static void connection_families(struct writer *w, const struct process_table *table,
                                const struct render_options *options)
{
    char err[CONNECTION_ERROR_SIZE];
    struct connection_snapshot *snapshot = connection_cache_get(options->connections, err,
                                                                sizeof err);
    struct connection_owners owners;
    bool have_owners = connection_owners_build(&owners, table);
    struct conn_context c = { table, options, &owners, snapshot, 0 };
    family_header(w, "tcpip_tcp_connections", KIND_GAUGE, NULL,
                  "TCP connections open now, by owning process and state (IP Helper, read at "
                  "most once a second). TIME_WAIT and connections of pids the table has no "
                  "live process for are in process=\"<untracked>\".");
    struct conn_samples tcp = { 0 };
    text_buffer_init(&tcp.owners);
    if (snapshot && have_owners) {
        tcp_samples(&c, &tcp);
        merge_samples(&tcp, options->aggregate_by_name);
        write_conn_samples(w, &tcp, false);
    }
    conn_samples_free(&tcp);
    family_header(w, "tcpip_listening_ports", KIND_GAUGE, NULL,
                  "Sockets listening (TCP) or bound (UDP) now, by owning process, protocol, "
                  "family and local port.");
    struct conn_samples listeners = { 0 };
    text_buffer_init(&listeners.owners);
    if (snapshot && have_owners) {
        listener_samples(&c, &listeners);
        merge_samples(&listeners, options->aggregate_by_name);
        write_conn_samples(w, &listeners, true);
    }
    conn_samples_free(&listeners);
    single_u64(w, "tcpip_exporter_connections_untracked", KIND_GAUGE,
               "TCP connections of the last scan with no live process in the table "
               "(TIME_WAIT, owner pid 0, or a pid started after the scan or never seen).",
               c.untracked_rows);
    single_u64(w, "tcpip_exporter_listeners_dropped", KIND_GAUGE,
               "Listening or bound sockets of the last scan beyond the listener cap.",
               snapshot ? snapshot->listener_rows_dropped : 0);
    struct connection_cache_stats stats = connection_cache_stats(options->connections);
    single_u64(w, "tcpip_exporter_connection_scans", KIND_COUNTER,
               "Walks of the IP Helper connection tables (at most one a second).", stats.scans);
    single_u64(w, "tcpip_exporter_connection_scan_failures", KIND_COUNTER,
               "Walks of the IP Helper tables that failed (retried a second later).",
               stats.failed_scans);
    if (have_owners)
        connection_owners_free(&owners);
    connection_snapshot_release(snapshot);
}

static void connect_failures(struct writer *w, const struct table_stats *stats)
{
    family_header(w, "tcpip_tcp_connect_failures", KIND_COUNTER, NULL,
                  "TCP connection attempts that failed system-wide (TcpIp Fail events, which "
                  "carry no process), by address family and failure code.");
    static const char *const names[] = { "family", "code", "reason" };
    for (int f = 0; f < FAMILY_COUNT; f++) {
        for (int l = 0; l < FAIL_LABEL_COUNT; l++) {
            const char *values[] = { family_label((enum ip_family)f), fail_labels[l].code,
                                     fail_labels[l].reason };
            labelled_u64(w, names, values, 3, fail_label_count(stats->fails[f], l));
        }
    }
}

static void source_families(struct writer *w, const struct exporter_self *self)
{
    struct source_info none = { .kind = "none", .up = false };
    snprintf(none.reason, sizeof none.reason, "no event source attached");
    const struct source_info *source = self->has_source ? &self->source : &none;
    const char *kind = source->kind ? source->kind : "none";

    static const char *const kind_name[] = { "kind" };
    family_header(w, "tcpip_exporter_source_up", KIND_GAUGE, NULL,
                  "1 while the event source delivers events (a finished replay stays 1), "
                  "else 0; tcpip_exporter_source_status_info says why.");
    labelled_u64(w, kind_name, &kind, 1, source->up ? 1 : 0);

    static const char *const status_names[] = { "kind", "state", "reason" };
    const char *status_values[] = { kind, source_state_name(self->has_source ? source : NULL),
                                    source->reason };
    family_header(w, "tcpip_exporter_source_status", KIND_INFO, NULL,
                  "State of the event source and the reason for it, as labels (value 1).");
    labelled_sample(w, status_names, status_values, 3, "1");

    single_u64(w, "tcpip_exporter_session_events_lost", KIND_COUNTER,
               "Events the kernel trace session reported lost (ETL replay: the files' headers).",
               source->events_lost);
    single_u64(w, "tcpip_exporter_session_buffers_lost", KIND_COUNTER,
               "Real-time buffers the kernel trace session reported lost.",
               source->buffers_lost);
    single_u64(w, "tcpip_exporter_session_restarts", KIND_COUNTER,
               "Kernel trace sessions restarted after they stopped underneath the exporter.",
               source->restarts);
    if (!source->has_buffers)
        return;
    /* the live session's own figures, from its once-a-second QUERY */
    single_u64(w, "tcpip_exporter_session_buffers_written", KIND_COUNTER,
               "Buffers the kernel trace session delivered.", source->buffers_written);
    static const char *const state_name[] = { "state" };
    family_header(w, "tcpip_exporter_session_buffers", KIND_GAUGE, NULL,
                  "Buffers of the running kernel trace session: allocated and free now, and "
                  "the minimum and maximum it was started with.");
    static const char *const states[] = { "allocated", "free", "minimum", "maximum" };
    const uint64_t counts[] = { source->buffers_allocated, source->buffers_free,
                                source->min_buffers, source->max_buffers };
    for (size_t i = 0; i < ARRAY_SIZE(states); i++)
        labelled_u64(w, state_name, &states[i], 1, counts[i]);
}

static void table_families(struct writer *w, const struct table_stats *stats)
{
    static const char *const type_name[] = { "type" };
    family_header(w, "tcpip_exporter_events", KIND_COUNTER, NULL,
                  "Trace events decoded and applied to the table, by event type.");
    for (int t = 0; t < EVT_TYPE_COUNT; t++) {
        const char *type = event_type_name((enum event_type)t);
        labelled_u64(w, type_name, &type, 1, stats->events_by_type[t]);
    }

    static const char *const reason_name[] = { "reason" };
    family_header(w, "tcpip_exporter_records_dropped", KIND_COUNTER, NULL,
                  "Trace records that did not reach a process row of their own: malformed "
                  "payload, unknown event type, or table full (counted in the <overflow> row).");
    for (int r = 0; r < DROP_REASON_COUNT; r++) {
        const char *reason = drop_reason_label((enum drop_reason)r);
        labelled_u64(w, reason_name, &reason, 1, stats->dropped[r]);
    }

    single_u64(w, "tcpip_exporter_records_short", KIND_COUNTER,
               "Network records that ended before their trailing fields (sequence number, "
               "connection id) but held PID and size: counted all the same.",
               stats->short_records);
    single_u64(w, "tcpip_exporter_processes_tracked", KIND_GAUGE,
               "Table rows in use: live processes and exited ones still retained.",
               stats->rows_in_use);
    single_u64(w, "tcpip_exporter_table_capacity", KIND_GAUGE,
               "Rows of the process table, fixed at start.", stats->capacity);
    single_u64(w, "tcpip_exporter_processes_untracked", KIND_COUNTER,
               "Process instances that found no free row and were counted in the "
               "<overflow> row.",
               stats->processes_untracked);
    single_u64(w, "tcpip_exporter_process_instances_retired", KIND_COUNTER,
               "Exited process instances removed from the table after the retention period.",
               stats->instances_retired);
    single_u64(w, "tcpip_exporter_services_hosted", KIND_GAUGE,
               "Windows services running in a process now (live: the last SCM scan; replay: "
               "the trace's SystemConfig records); /api/v1/services lists them.",
               stats->services_hosted);
    single_u64(w, "tcpip_exporter_services_known", KIND_GAUGE,
               "Distinct service names seen since start.", stats->services_known);
    single_u64(w, "tcpip_exporter_service_capacity", KIND_GAUGE,
               "Services (and sets of services) the table can hold, fixed at start.",
               stats->service_capacity);
    single_u64(w, "tcpip_exporter_services_dropped", KIND_COUNTER,
               "Services, sets of services or (pid, service) pairs left out because the "
               "service tables were full.", stats->services_dropped);
    single_u64(w, "tcpip_exporter_service_scans", KIND_COUNTER,
               "Complete lists of running services read from the service control manager "
               "and applied (live only).", stats->service_scans);
}

static void exporter_families(struct writer *w, const struct exporter_self *self)
{
    static const char *const version_name[] = { "version" };
    const char *version = self->version ? self->version : "unknown";
    family_header(w, "tcpip_exporter_build", KIND_INFO, NULL,
                  "Build of the running exporter, as labels (value 1).");
    labelled_sample(w, version_name, &version, 1, "1");

    family_header(w, "tcpip_exporter_last_render_duration_seconds", KIND_GAUGE, "seconds",
                  "Time the previous /metrics render took.");
    char seconds[32];
    snprintf(seconds, sizeof seconds, "%.9f", self->last_render_seconds);
    labelled_sample(w, NULL, NULL, 0, seconds);

    single_u64(w, "tcpip_exporter_scrapes", KIND_COUNTER,
               "Requests for the metrics endpoint received, up to this render (concurrent "
               "scrapes share one render).",
               self->scrapes);
}

/* The HTTP server's own figures: what it refused and why, and what its clients hold. */
static void http_families(struct writer *w, const struct http_counters *http)
{
    if (!http->present)
        return;
    static const char *const reason_name[] = { "reason" };
    family_header(w, "tcpip_exporter_http_rejections", KIND_COUNTER, NULL,
                  "Requests refused and connections cut by the HTTP server, by reason.");
    for (int r = 0; r < HTTP_REJECT_COUNT; r++)
        labelled_u64(w, reason_name, &http_rejection_names[r], 1, http->rejected[r]);
    single_u64(w, "tcpip_exporter_http_connections", KIND_GAUGE,
               "Client connections open now.", http->connections);
    single_u64(w, "tcpip_exporter_http_response_memory_bytes", KIND_GAUGE,
               "Bytes of response bodies held for clients now (shared renders count once).",
               http->response_bytes);
    single_u64(w, "tcpip_exporter_http_response_memory_limit_bytes", KIND_GAUGE,
               "The cap on tcpip_exporter_http_response_memory_bytes "
               "(--web.max-response-memory).", http->response_bytes_cap);
    single_u64(w, "tcpip_exporter_metrics_renders", KIND_COUNTER,
               "Renders of the metrics endpoint; scrapes within a second of one share it.",
               http->renders);
    single_u64(w, "tcpip_exporter_metrics_compressions", KIND_COUNTER,
               "gzip compressions of a render, shared like the renders.", http->compressions);
    single_u64(w, "tcpip_exporter_metrics_stale_responses", KIND_COUNTER,
               "Scrapes served an older render because the response memory had no room for "
               "a new one.", http->stale_responses);
    if (!http->has_web_config)
        return;
    single_u64(w, "tcpip_exporter_web_config_reloads", KIND_COUNTER,
               "Changes of --web.config.file (or a file it names) loaded while running.",
               http->web_config_reloads);
    single_u64(w, "tcpip_exporter_web_config_reload_failures", KIND_COUNTER,
               "Changes of --web.config.file that did not load; the running settings stayed.",
               http->web_config_reload_failures);
    single_u64(w, "tcpip_exporter_web_config_last_reload_successful", KIND_GAUGE,
               "1 when the files on disk are the settings in force, 0 when the last change "
               "did not load.", http->web_config_last_reload_ok ? 1 : 0);
    single_u64(w, "tcpip_exporter_basic_auth_bcrypt_runs", KIND_COUNTER,
               "Passwords checked with a full bcrypt (wrong ones always, right ones once a "
               "minute).", http->auth_bcrypt_runs);
    single_u64(w, "tcpip_exporter_basic_auth_cache_hits", KIND_COUNTER,
               "Requests whose password was known right from the cache, without a bcrypt.",
               http->auth_cache_hits);
}

bool metrics_render(struct metrics_renderer *renderer, const struct process_table *table,
                    const struct render_options *options, const struct exporter_self *self,
                    enum metrics_format format, struct text_buffer *out)
{
    text_buffer_reset(out);
    if (!take_snapshot(renderer, table, options))
        return false;
    struct table_stats stats;
    process_table_stats(table, &stats);

    struct writer w = { .out = out, .openmetrics = format == METRICS_FORMAT_OPENMETRICS };
    process_families(&w, renderer);
    if (!options->aggregate_by_name)
        process_info(&w, renderer);
    if (options->peers)
        peer_families(&w, renderer);
    if (options->connections != NULL)
        connection_families(&w, table, options);
    connect_failures(&w, &stats);
    source_families(&w, self);
    table_families(&w, &stats);
    if (options->peers)
        peer_store_families(&w, &stats);
    exporter_families(&w, self);
    http_families(&w, &self->http);
    if (w.openmetrics)
        text_buffer_append_str(out, "# EOF\n");
    return !out->failed;
}
