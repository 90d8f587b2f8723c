/* /api/v1/peers. One walk of process_table_foreach_peers copies what the query selects:
 * each instance's peers and `other` come from one consistent reading, so within an
 * instance the sums over its peers and other equal the counters written beside them. */
#include "json_peers.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector/bytes.h"
#include "decimal.h"
#include "json_parts.h"
#include "metric_names.h"

/* ---- names ---- */

/* The keys are the tcpip_peer_* families' (metric_names.c), so the API and /metrics agree. */
const char *peer_counter_key(enum peer_counter counter)
{
    return peer_counter_names[counter].json_key;
}

int peer_counter_from_key(const char *key)
{
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        if (strcmp(peer_counter_names[c].json_key, key) == 0)
            return c;
    }
    return -1;
}

const char *peer_protocol_label(enum peer_protocol protocol)
{
    return protocol == PEER_UDP ? "udp" : "tcp";
}

const char *peer_direction_label(enum peer_direction direction)
{
    return direction == PEER_INBOUND ? "inbound" : "outbound";
}

/* ---- the query ---- */

enum { P_PROCESS = 1, P_PID = 2, P_SERVICE = 4, P_REMOTE = 8, P_PORT = 16, P_PROTOCOL = 32,
       P_FAMILY = 64, P_DIRECTION = 128, P_SORT = 256, P_LIMIT = 512 };

void peer_query_init(struct peer_query *query)
{
    memset(query, 0, sizeof *query);
    query->protocol = query->family = query->direction = -1;
    query->sort = PEER_SORT_NONE;
}

/* One of two words (the enum's 0 and 1): protocol, family and direction. */
static bool set_choice(const char *key, const char *value, const char *zero, const char *one,
                       int *out, char *err, size_t size)
{
    if (value != NULL && strcmp(value, zero) == 0)
        *out = 0;
    else if (value != NULL && strcmp(value, one) == 0)
        *out = 1;
    else {
        snprintf(err, size, "%s: expected %s or %s, got '%.32s'", key, zero, one,
                 value ? value : "");
        return false;
    }
    return true;
}

static bool set_remote(struct peer_query *query, const char *value, char *err, size_t size)
{
    if (value == NULL || !address_filter_parse(value, &query->remote)) {
        snprintf(err, size, "remote: expected an IPv4 or IPv6 address or prefix such as "
                 "10.1.2.3, 10.1.0.0/16 or 2001:db8::/32, got '%.64s'", value ? value : "");
        return false;
    }
    query->has_remote = true;
    return true;
}

static bool set_port(struct peer_query *query, const char *value, char *err, size_t size)
{
    uint64_t number;
    if (value == NULL || !decimal_parse(value, UINT16_MAX, &number)) {
        snprintf(err, size, "port: expected a decimal number from 0 to 65535, got '%.32s'",
                 value ? value : "");
        return false;
    }
    query->has_port = true;
    query->port = (uint16_t)number;
    return true;
}

static bool set_peer_sort(struct peer_query *query, const char *value, char *err, size_t size)
{
    int counter = value ? peer_counter_from_key(value) : -1;
    if (value != NULL && strcmp(value, PROCESS_SORT_TOTAL_BYTES) == 0)
        query->sort = PEER_SORT_TOTAL;
    else if (counter >= 0)
        query->sort = counter;
    else {
        snprintf(err, size, "sort: unknown peer counter '%.64s' (use a counter name of "
                 "/api/v1/peers such as retransmits or sent_bytes, or total_bytes)",
                 value ? value : "");
        return false;
    }
    return true;
}

bool peer_query_set(struct peer_query *query, const char *key, const char *value, char *err,
                    size_t err_size)
{
    static const struct query_key known[] = {
        { "process", P_PROCESS }, { "pid", P_PID }, { "service", P_SERVICE },
        { "remote", P_REMOTE }, { "port", P_PORT }, { "protocol", P_PROTOCOL },
        { "family", P_FAMILY }, { "direction", P_DIRECTION }, { "sort", P_SORT },
        { "limit", P_LIMIT },
    };
    unsigned bit = query_key_take(known, ARRAY_SIZE(known), key, &query->seen,
                                  "process, pid, service, remote, port, protocol, family, "
                                  "direction, sort, limit", err, err_size);
    switch (bit) {
    case 0:
        return false;
    case P_PROCESS:
        return query_glob("process", value, &query->process.name_glob, err, err_size);
    case P_PID:
        return query_pid(value, &query->process, err, err_size);
    case P_SERVICE:
        return query_glob("service", value, &query->process.service_glob, err, err_size);
    case P_REMOTE:
        return set_remote(query, value, err, err_size);
    case P_PORT:
        return set_port(query, value, err, err_size);
    case P_PROTOCOL:
        return set_choice("protocol", value, "tcp", "udp", &query->protocol, err, err_size);
    case P_FAMILY:
        return set_choice("family", value, "ipv4", "ipv6", &query->family, err, err_size);
    case P_DIRECTION:
        return set_choice("direction", value, "outbound", "inbound", &query->direction, err,
                          err_size);
    case P_SORT:
        return set_peer_sort(query, value, err, err_size);
    default:
        return query_limit(value, &query->limit, err, err_size);
    }
}

/* ---- one peer ---- */

static uint64_t peer_bytes(const struct peer_view *peer)
{
    return peer->counters[PEER_SENT_BYTES] + peer->counters[PEER_RECV_BYTES];
}

/* The counters this protocol has: for UDP only those that add to a process counter (the
 * connection counters of a datagram peer would be zeros that mean nothing). */
static bool add_peer_counters(cJSON *object, enum peer_protocol protocol,
                              const uint64_t counters[PEER_CTR_COUNT])
{
    for (int c = 0; c < PEER_CTR_COUNT; c++) {
        if (peer_process_counter(protocol, (enum peer_counter)c) < 0)
            continue;
        if (!json_add_u64(object, peer_counter_names[c].json_key, counters[c]))
            return false;
    }
    return true;
}

static bool add_peer_fields(cJSON *object, const struct process_table *table,
                            const struct peer_view *peer)
{
    enum ip_family family = peer->family == FAMILY_IPV6 ? FAMILY_IPV6 : FAMILY_IPV4;
    char remote[ADDRESS_TEXT_MAX];
    address_text(remote, family, peer->address, process_table_peer_prefix(table, family));
    enum peer_protocol protocol = peer->protocol == PEER_UDP ? PEER_UDP : PEER_TCP;
    cJSON *counters;
    return json_add_u64(object, "peer_id", peer->peer_id) &&
           cJSON_AddStringToObject(object, "protocol", peer_protocol_label(protocol)) &&
           cJSON_AddStringToObject(object, "family", family_label(family)) &&
           cJSON_AddStringToObject(object, "direction",
                                   peer_direction_label((enum peer_direction)peer->direction)) &&
           cJSON_AddStringToObject(object, "remote", remote) &&
           json_add_u64(object, "port", peer->port) &&
           json_add_u64(object, "local_port", peer->local_port) &&
           json_add_u64(object, "remote_port", peer->remote_port) &&
           cJSON_AddBoolToObject(object, "shown", peer->shown) &&
           json_add_time(object, "first_seen", peer->first_seen) &&
           json_add_time(object, "last_seen", peer->last_seen) &&
           json_add_u64(object, "total_bytes", peer_bytes(peer)) &&
           (counters = cJSON_AddObjectToObject(object, "counters")) != NULL &&
           add_peer_counters(counters, protocol, peer->counters);
}

/* process, pid, instance_id and the services: who the peer (or the other) belongs to. */
static bool add_owner(cJSON *object, const struct process_view *process,
                      const struct row_services *services)
{
    char name[2 * IMAGE_NAME_MAX];
    json_process_name(process, name);
    return cJSON_AddStringToObject(object, "process", name) &&
           json_add_u64(object, "pid", process->pid) &&
           json_add_u64(object, "instance_id", process->instance_id) &&
           json_add_services(object, services);
}

cJSON *json_peer_object(const struct process_table *table, const struct process_view *process,
                        const struct row_services *services, const struct peer_view *peer)
{
    cJSON *object = cJSON_CreateObject();
    if (object != NULL &&
        !(add_owner(object, process, services) && add_peer_fields(object, table, peer))) {
        cJSON_Delete(object);
        return NULL;
    }
    return object;
}

static int compare_by_bytes(const void *a, const void *b)
{
    const struct peer_view *x = a, *y = b;
    uint64_t bx = peer_bytes(x), by = peer_bytes(y);
    if (bx != by)
        return bx > by ? -1 : 1;
    return x->peer_id < y->peer_id ? -1 : x->peer_id > y->peer_id;
}

void json_peers_by_bytes(struct peer_view *peers, size_t count)
{
    if (count > 1)
        qsort(peers, count, sizeof *peers, compare_by_bytes);
}

/* ---- collecting ---- */

/* A selected instance with its own counters and other, of the same reading. */
struct instance {
    struct process_view view;
    size_t peers;   /* all it holds, before the peer filters */
    uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT];
};

/* A peer that passed every filter, with its instance's sort keys beside it. */
struct match {
    struct peer_view peer;
    size_t instance;   /* index in collection.instances */
    uint32_t pid;
    uint64_t instance_id;
};

struct collection {
    const struct process_table *table;
    const struct render_options *options;
    const struct peer_query *query;
    unsigned prefix[FAMILY_COUNT];
    struct instance *instances;
    size_t instance_count, instance_capacity;
    struct match *matches;
    size_t match_count, match_capacity;
    bool out_of_memory;
};

static bool peer_matches(const struct collection *c, const struct peer_view *peer)
{
    const struct peer_query *q = c->query;
    if ((q->protocol >= 0 && peer->protocol != q->protocol) ||
        (q->family >= 0 && peer->family != q->family) ||
        (q->direction >= 0 && peer->direction != q->direction) ||
        (q->has_port && peer->port != q->port))
        return false;
    unsigned family = peer->family == FAMILY_IPV6 ? FAMILY_IPV6 : FAMILY_IPV4;
    return !q->has_remote ||
           address_filter_match(&q->remote, peer->family, peer->address, c->prefix[family]);
}

static bool has_other(const uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT])
{
    const uint64_t *flat = &other[0][0][0];
    for (size_t i = 0; i < (size_t)FAMILY_COUNT * PEER_PROTOCOL_COUNT * PEER_CTR_COUNT; i++) {
        if (flat[i] != 0)
            return true;
    }
    return false;
}

/* Doubling growth of one of the two arrays; false (noted by the caller) when out of memory. */
static bool make_room(void **array, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return true;
    size_t wanted = *capacity ? *capacity * 2 : 64;
    void *bigger = realloc(*array, wanted * size);
    if (bigger == NULL)
        return false;
    *array = bigger;
    *capacity = wanted;
    return true;
}

static bool add_instance(struct collection *c, const struct process_peers *entry)
{
    if (!make_room((void **)&c->instances, &c->instance_capacity, c->instance_count,
                   sizeof *c->instances))
        return false;
    struct instance *in = &c->instances[c->instance_count++];
    in->view = *entry->process;
    in->peers = entry->count;
    memcpy(in->other, entry->other, sizeof in->other);
    return true;
}

static bool add_match(struct collection *c, const struct peer_view *peer, size_t instance)
{
    if (!make_room((void **)&c->matches, &c->match_capacity, c->match_count,
                   sizeof *c->matches))
        return false;
    c->matches[c->match_count++] = (struct match){
        .peer = *peer, .instance = instance, .pid = c->instances[instance].view.pid,
        .instance_id = c->instances[instance].view.instance_id };
    return true;
}

static void collect_instance(const struct process_peers *entry, void *context)
{
    struct collection *c = context;
    struct row_services services;
    if (c->out_of_memory ||
        !process_filter_selects(&c->query->process, c->options, c->table, entry->process,
                                &services))
        return;
    if (entry->count == 0 && !has_other(entry->other))
        return;   /* no traffic with an endpoint: nothing to list or to check */
    if (!add_instance(c, entry)) {
        c->out_of_memory = true;
        return;
    }
    for (size_t i = 0; i < entry->count; i++) {
        if (peer_matches(c, &entry->peers[i]) &&
            !add_match(c, &entry->peers[i], c->instance_count - 1)) {
            c->out_of_memory = true;
            return;
        }
    }
}

/* ---- sorting ---- */

static uint64_t sort_value(const struct peer_view *peer, int sort)
{
    return sort == PEER_SORT_TOTAL ? peer_bytes(peer) : peer->counters[sort];
}

/* qsort has no context argument in C11; as json.c, the key is thread-local. */
static _Thread_local int current_sort;

/* Descending by the key, then pid, instance and first seen: without a key the order of
 * /api/v1/processes (pid, instance), each instance's peers in the order they appeared
 * (first_seen, then peer_id). */
static int compare_matches(const void *a, const void *b)
{
    const struct match *x = a, *y = b;
    if (current_sort != PEER_SORT_NONE) {
        uint64_t vx = sort_value(&x->peer, current_sort);
        uint64_t vy = sort_value(&y->peer, current_sort);
        if (vx != vy)
            return vx > vy ? -1 : 1;
    }
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->instance_id != y->instance_id)
        return x->instance_id < y->instance_id ? -1 : 1;
    if (x->peer.first_seen != y->peer.first_seen)
        return x->peer.first_seen < y->peer.first_seen ? -1 : 1;
    return x->peer.peer_id < y->peer.peer_id ? -1 : x->peer.peer_id > y->peer.peer_id;
}

static int compare_instances(const void *a, const void *b)
{
    const struct instance *x = a, *y = b;
    if (x->view.pid != y->view.pid)
        return x->view.pid < y->view.pid ? -1 : 1;
    return x->view.instance_id < y->view.instance_id ? -1
                                                     : x->view.instance_id > y->view.instance_id;
}

/* ---- the document ---- */

/* "peers": [...], as text (json_append_item). */
static bool add_matches(struct text_buffer *out, const struct collection *c, size_t count)
{
    text_buffer_append_str(out, "\"peers\":[");
    for (size_t i = 0; i < count; i++) {
        const struct match *m = &c->matches[i];
        const struct process_view *view = &c->instances[m->instance].view;
        struct row_services services;
        row_services_of(c->table, view->service_set, &services);
        if (!json_append_item(out, json_peer_object(c->table, view, &services, &m->peer), i))
            return false;
    }
    text_buffer_append_char(out, ']');
    return !out->failed;
}

/* "other": {"ipv4": {"tcp": {...}, "udp": {...}}, "ipv6": {...}}, keys as the peers'. */
static bool add_other(cJSON *object,
                      const uint64_t other[FAMILY_COUNT][PEER_PROTOCOL_COUNT][PEER_CTR_COUNT])
{
    cJSON *all = cJSON_AddObjectToObject(object, "other");
    for (int f = 0; all != NULL && f < FAMILY_COUNT; f++) {
        cJSON *family = cJSON_AddObjectToObject(all, family_label((enum ip_family)f));
        for (int p = 0; family != NULL && p < PEER_PROTOCOL_COUNT; p++) {
            cJSON *proto = cJSON_AddObjectToObject(family,
                                                   peer_protocol_label((enum peer_protocol)p));
            if (proto == NULL || !add_peer_counters(proto, (enum peer_protocol)p, other[f][p]))
                return false;
        }
        if (family == NULL)
            return false;
    }
    return all != NULL;
}

/* "processes": [...], as text. */
static bool add_instances(struct text_buffer *out, const struct collection *c)
{
    text_buffer_append_str(out, "\"processes\":[");
    for (size_t i = 0; i < c->instance_count; i++) {
        const struct instance *in = &c->instances[i];
        struct row_services services;
        row_services_of(c->table, in->view.service_set, &services);
        cJSON *one = cJSON_CreateObject();
        if (one != NULL && (!add_owner(one, &in->view, &services) ||
                            !json_add_u64(one, "peers", in->peers) ||
                            !add_other(one, in->other) ||
                            !json_add_process_counters(one, &in->view))) {
            cJSON_Delete(one);
            one = NULL;
        }
        if (!json_append_item(out, one, i))
            return false;
    }
    text_buffer_append_char(out, ']');
    return !out->failed;
}

static bool store_fields(cJSON *store, const struct process_table *table)
{
    struct table_stats stats;
    process_table_stats(table, &stats);
    return json_add_u64(store, "in_use", stats.peers_in_use) &&
           json_add_u64(store, "capacity", stats.peer_capacity) &&
           json_add_u64(store, "evicted", stats.peers_evicted) &&
           json_add_u64(store, "refused", stats.peers_refused) &&
           json_add_u64(store, "swaps", stats.peer_swaps) &&
           json_add_u64(store, "ipv4_prefix", process_table_peer_prefix(table, FAMILY_IPV4)) &&
           json_add_u64(store, "ipv6_prefix", process_table_peer_prefix(table, FAMILY_IPV6));
}

/* {"peers": [...], "matched": N, "processes": [...], "store": {...}}, as text. */
static char *render(struct collection *c)
{
    size_t count = c->match_count;
    if (c->query->limit > 0 && c->query->limit < count)
        count = c->query->limit;
    struct text_buffer out;
    text_buffer_init(&out);
    text_buffer_append_char(&out, '{');
    bool ok = add_matches(&out, c, count);
    text_buffer_append_str(&out, ",\"matched\":");
    text_buffer_append_u64(&out, c->match_count);
    text_buffer_append_char(&out, ',');
    /* only now: the matches' instance indexes point into the array as collected */
    if (ok && c->instance_count > 1)
        qsort(c->instances, c->instance_count, sizeof *c->instances, compare_instances);
    ok = ok && add_instances(&out, c);
    text_buffer_append_str(&out, ",\"store\":");
    cJSON *store = cJSON_CreateObject();
    if (store != NULL && !store_fields(store, c->table)) {
        cJSON_Delete(store);
        store = NULL;
    }
    bool stored = json_append_item(&out, store, 0); /* frees store either way */
    ok = ok && stored;
    text_buffer_append_char(&out, '}');
    if (!ok)
        out.failed = true;
    return json_text_take(&out);
}

char *json_render_peers(const struct process_table *table, const struct render_options *options,
                        const struct peer_query *query)
{
    struct collection c = { .table = table, .options = options, .query = query };
    for (int f = 0; f < FAMILY_COUNT; f++)
        c.prefix[f] = process_table_peer_prefix(table, (enum ip_family)f);
    if (!process_table_foreach_peers(table, collect_instance, &c))
        c.out_of_memory = true;
    char *text = NULL;
    if (!c.out_of_memory) {
        current_sort = query->sort;
        if (c.match_count > 1)
            qsort(c.matches, c.match_count, sizeof *c.matches, compare_matches);
        text = render(&c);
    }
    free(c.matches);
    free(c.instances);
    return text;
}
