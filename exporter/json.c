/* JSON documents of the API. Each builds a cJSON tree and prints it unformatted; the
 * caller frees the string with free() (cJSON's default allocator). */
#include "json.h"
#include "json_parts.h"
#include "../collector/bytes.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decimal.h"
#include "label_text.h"
#include "metric_names.h"
#include "name_filter.h"
#include "row_services.h"
#include "text_buffer.h"

enum { SEEN_NAME = 1, SEEN_PID = 2, SEEN_SORT = 4, SEEN_LIMIT = 8, SEEN_SERVICE = 16,
       SEEN_PEERS = 32 };

void process_query_init(struct process_query *query)
{
    memset(query, 0, sizeof *query);
    query->sort = PROCESS_SORT_NONE;
}

static bool set_sort(struct process_query *query, const char *value, char *err, size_t size)
{
    if (strcmp(value, PROCESS_SORT_TOTAL_BYTES) == 0) {
        query->sort = PROCESS_SORT_TOTAL;
        return true;
    }
    int counter = counter_from_json_key(value);
    if (counter >= 0) {
        query->sort = counter;
        return true;
    }
    snprintf(err, size, "sort: unknown counter '%.64s' (use a counter name of "
             "/api/v1/processes such as tcp_sent_bytes, or total_bytes)", value);
    return false;
}

unsigned query_key_take(const struct query_key *known, size_t count, const char *key,
                        unsigned *seen, const char *listing, char *err, size_t err_size)
{
    unsigned bit = 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(key, known[i].key) == 0)
            bit = known[i].bit;
    }
    if (bit == 0) {
        snprintf(err, err_size, "unknown query parameter '%.64s' (known: %s)", key, listing);
        return 0;
    }
    if (*seen & bit) {
        snprintf(err, err_size, "query parameter '%.64s' given twice", key);
        return 0;
    }
    *seen |= bit;
    return bit;
}

bool query_glob(const char *key, const char *value, const char **out, char *err,
                size_t err_size)
{
    if (value == NULL || *value == '\0' || strlen(value) > 255) {
        snprintf(err, err_size, "%s: expected a glob of 1 to 255 characters", key);
        return false;
    }
    *out = value;
    return true;
}

bool query_pid(const char *value, struct process_filter *filter, char *err, size_t err_size)
{
    uint64_t number;
    if (value == NULL || !decimal_parse(value, UINT32_MAX, &number)) {
        snprintf(err, err_size, "pid: expected a decimal number from 0 to 4294967295, "
                 "got '%.32s'", value ? value : "");
        return false;
    }
    filter->has_pid = true;
    filter->pid = (uint32_t)number;
    return true;
}

bool query_limit(const char *value, size_t *limit, char *err, size_t err_size)
{
    uint64_t number;
    if (value == NULL || !decimal_parse(value, PROCESS_QUERY_MAX_LIMIT, &number) ||
        number == 0) {
        snprintf(err, err_size, "limit: expected a decimal number from 1 to %u, got "
                 "'%.32s'", PROCESS_QUERY_MAX_LIMIT, value ? value : "");
        return false;
    }
    *limit = (size_t)number;
    return true;
}

static bool set_peers(struct process_query *query, const char *value, char *err, size_t size)
{
    uint64_t number;
    if (value == NULL || !decimal_parse(value, PROCESS_QUERY_MAX_PEERS, &number)) {
        snprintf(err, size, "peers: expected a decimal number from 0 to %u, got '%.32s'",
                 PROCESS_QUERY_MAX_PEERS, value ? value : "");
        return false;
    }
    query->peers = (size_t)number;
    return true;
}

bool process_query_set(struct process_query *query, const char *key, const char *value,
                       char *err, size_t err_size)
{
    static const struct query_key known[] = {
        { "name", SEEN_NAME }, { "pid", SEEN_PID }, { "sort", SEEN_SORT }, { "limit", SEEN_LIMIT },
        { "service", SEEN_SERVICE }, { "peers", SEEN_PEERS },
    };
    unsigned bit = query_key_take(known, ARRAY_SIZE(known), key, &query->seen,
                                  "name, pid, service, sort, limit, peers", err, err_size);
    switch (bit) {
    case 0:
        return false;
    case SEEN_NAME:
        return query_glob("name", value, &query->filter.name_glob, err, err_size);
    case SEEN_SERVICE:
        return query_glob("service", value, &query->filter.service_glob, err, err_size);
    case SEEN_PID:
        return query_pid(value, &query->filter, err, err_size);
    case SEEN_SORT:
        return set_sort(query, value ? value : "", err, err_size);
    case SEEN_PEERS:
        return set_peers(query, value, err, err_size);
    default:
        return query_limit(value, &query->limit, err, err_size);
    }
}

/* ---- time ---- */

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm): no gmtime, which is
 * neither thread-safe nor in C11 in a re-entrant form. */
static void civil_from_days(int64_t z, int64_t *year, unsigned *month, unsigned *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = y + (*month <= 2);
}

void format_filetime(uint64_t filetime, char *out, size_t out_size)
{
    const int64_t unix_epoch_seconds = 11644473600; /* 1601-01-01 to 1970-01-01 */
    int64_t seconds = (int64_t)(filetime / 10000000u) - unix_epoch_seconds;
    unsigned fraction = (unsigned)(filetime % 10000000u);
    int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
    int64_t second_of_day = seconds - days * 86400;
    int64_t year;
    unsigned month, day;
    civil_from_days(days, &year, &month, &day);
    snprintf(out, out_size, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%07uZ", year, month, day,
             (unsigned)(second_of_day / 3600), (unsigned)(second_of_day / 60 % 60),
             (unsigned)(second_of_day % 60), fraction);
}

/* ---- building blocks ---- */

/* cJSON numbers are doubles (53-bit mantissa): a counter past 2^53 would be rounded. */
bool json_add_u64(cJSON *object, const char *key, uint64_t value)
{
    char text[24];
    text[format_u64(text, value)] = '\0';
    return cJSON_AddRawToObject(object, key, text) != NULL;
}

bool json_add_time(cJSON *object, const char *key, uint64_t filetime)
{
    if (filetime == 0)
        return cJSON_AddNullToObject(object, key) != NULL;
    char text[48];
    format_filetime(filetime, text, sizeof text);
    return cJSON_AddStringToObject(object, key, text) != NULL;
}

static bool add_counters(cJSON *object, const char *key, const uint64_t counters[CTR_COUNT])
{
    cJSON *group = cJSON_AddObjectToObject(object, key);
    if (group == NULL)
        return false;
    for (int c = 0; c < CTR_COUNT; c++) {
        if (!json_add_u64(group, counter_names[c].json_key, counters[c]))
            return false;
    }
    return true;
}

bool json_add_process_counters(cJSON *object, const struct process_view *view)
{
    uint64_t totals[CTR_COUNT];
    for (int c = 0; c < CTR_COUNT; c++)
        totals[c] = view->counters[FAMILY_IPV4][c] + view->counters[FAMILY_IPV6][c];
    cJSON *counters = cJSON_AddObjectToObject(object, "counters");
    return counters != NULL &&
           add_counters(counters, "ipv4", view->counters[FAMILY_IPV4]) &&
           add_counters(counters, "ipv6", view->counters[FAMILY_IPV6]) &&
           add_counters(counters, "total", totals);
}

static uint64_t total_bytes(const struct process_view *view)
{
    uint64_t sum = 0;
    for (int f = 0; f < FAMILY_COUNT; f++) {
        sum += view->counters[f][CTR_SENT_BYTES] + view->counters[f][CTR_RECV_BYTES] +
               view->counters[f][CTR_UDP_SENT_BYTES] + view->counters[f][CTR_UDP_RECV_BYTES];
    }
    return sum;
}

bool json_append_item(struct text_buffer *out, cJSON *item, size_t index)
{
    char *text = item != NULL ? cJSON_PrintUnformatted(item) : NULL;
    cJSON_Delete(item);
    if (text == NULL) {
        out->failed = true;
        return false;
    }
    if (index > 0)
        text_buffer_append_char(out, ',');
    text_buffer_append_str(out, text);
    free(text);
    return !out->failed;
}

char *json_text_take(struct text_buffer *out)
{
    text_buffer_append_char(out, '\0');
    char *text = NULL;
    if (!out->failed) {
        /* the buffer grew by doubling: give back what the answer does not use */
        text = realloc(out->data, out->length);
        if (text == NULL)
            text = out->data;
    } else {
        free(out->data);
    }
    text_buffer_init(out);
    return text;
}

cJSON *json_add_new_object(cJSON *array)
{
    cJSON *one = cJSON_CreateObject();
    if (one != NULL && !cJSON_AddItemToArray(array, one)) {
        cJSON_Delete(one);
        return NULL;
    }
    return one;
}

/* "service": the names joined as the `service` label has them; "services": each one. */
bool json_add_services(cJSON *object, const struct row_services *services)
{
    struct text_buffer joined;
    text_buffer_init(&joined);
    row_services_join(services, false, &joined);
    bool ok = !joined.failed &&
              cJSON_AddStringToObject(object, "service", joined.length ? joined.data : "");
    text_buffer_free(&joined);
    cJSON *array = ok ? cJSON_AddArrayToObject(object, "services") : NULL;
    for (size_t i = 0; array && i < services->count; i++) {
        cJSON *one = json_add_new_object(array);
        if (!one || !cJSON_AddStringToObject(one, "name", services->refs[i].name) ||
            !cJSON_AddStringToObject(one, "display_name", services->refs[i].display_name))
            return false;
    }
    return array != NULL;
}

void json_process_name(const struct process_view *view, char out[2 * IMAGE_NAME_MAX])
{
    utf8_from_image_name(view->name, out, 2 * IMAGE_NAME_MAX);
}

static cJSON *process_object(const struct process_table *table, const struct process_view *view)
{
    cJSON *object = cJSON_CreateObject();
    if (object == NULL)
        return NULL;
    struct row_services services;
    row_services_of(table, view->service_set, &services);
    char name[2 * IMAGE_NAME_MAX];
    json_process_name(view, name);
    char key[24];
    snprintf(key, sizeof key, "0x%016" PRIx64, view->unique_key);
    bool ok = cJSON_AddStringToObject(object, "name", name) &&
              json_add_u64(object, "pid", view->pid) &&
              json_add_u64(object, "parent_pid", view->parent_pid) &&
              json_add_u64(object, "instance_id", view->instance_id) &&
              cJSON_AddStringToObject(object, "unique_key", key) &&
              cJSON_AddStringToObject(object, "state",
                                      view->state == PROCESS_EXITED ? "exited" : "live") &&
              cJSON_AddBoolToObject(object, "named", view->is_named) &&
              cJSON_AddBoolToObject(object, "overflow", view->is_overflow) &&
              json_add_time(object, "start_time", view->start_time) &&
              json_add_time(object, "exit_time", view->exit_time) &&
              json_add_services(object, &services) &&
              json_add_u64(object, "total_bytes", total_bytes(view)) &&
              json_add_process_counters(object, view);
    if (!ok) {
        cJSON_Delete(object);
        return NULL;
    }
    return object;
}

/* ---- /api/v1/processes ---- */

static bool some_service_matches(const char *glob, const struct row_services *services)
{
    for (size_t i = 0; i < services->count; i++)
        if (glob_match(glob, services->refs[i].name))
            return true;
    return false;
}

bool process_filter_selects(const struct process_filter *filter,
                            const struct render_options *options,
                            const struct process_table *table, const struct process_view *view,
                            struct row_services *services)
{
    row_services_of(table, view->service_set, services);
    if (filter->has_pid && view->pid != filter->pid)
        return false;
    if (filter->name_glob != NULL && !glob_match(filter->name_glob, view->name))
        return false;
    if (filter->service_glob != NULL && !some_service_matches(filter->service_glob, services))
        return false;
    return row_filter_allows(options, view->name, services->refs, services->count);
}

/* The top peers of one selected instance (?peers=N), found again by instance_id once the
 * rows are sorted. */
struct peer_group {
    uint64_t instance_id;
    size_t first, count;   /* in collected.peers */
};

struct collected {
    struct process_view *views;
    size_t count;
    size_t capacity;
    bool out_of_memory;
    const struct render_options *options;
    const struct process_query *query;
    const struct process_table *table;
    bool with_peers;             /* ?peers=N on a table that keeps peers */
    struct peer_view *peers;
    size_t peer_count, peer_capacity;
    struct peer_group *groups;   /* one per view, in collection order */
};

/* Room for one more of size bytes at *array (count used of *capacity); false when out of
 * memory, which the caller notes. */
static bool grow(void **array, size_t *capacity, size_t count, size_t more, size_t size)
{
    if (count + more <= *capacity)
        return true;
    size_t wanted = *capacity ? *capacity * 2 : 64;
    while (wanted < count + more)
        wanted *= 2;
    void *bigger = realloc(*array, wanted * size);
    if (bigger == NULL)
        return false;
    *array = bigger;
    *capacity = wanted;
    return true;
}

/* Appends the view if the query selects it; true when it did. */
static bool collect_view(struct collected *c, const struct process_view *view)
{
    struct row_services services;
    if (!process_filter_selects(&c->query->filter, c->options, c->table, view, &services))
        return false;
    size_t old_capacity = c->capacity;
    if (!grow((void **)&c->views, &c->capacity, c->count, 1, sizeof *c->views)) {
        c->out_of_memory = true;
        return false;
    }
    if (c->with_peers && c->capacity != old_capacity) {
        /* groups has one entry per view: it grows with views */
        struct peer_group *groups = realloc(c->groups, c->capacity * sizeof *groups);
        if (groups == NULL) {
            c->out_of_memory = true;
            return false;
        }
        c->groups = groups;
    }
    c->views[c->count++] = *view;
    return true;
}

static void collect(const struct process_view *view, void *context)
{
    collect_view(context, view);
}

/* ?peers=N: the row and its top N peers from one consistent reading. */
static void collect_with_peers(const struct process_peers *entry, void *context)
{
    struct collected *c = context;
    if (!collect_view(c, entry->process))
        return;
    size_t n = entry->count < c->query->peers ? entry->count : c->query->peers;
    struct peer_group *group = &c->groups[c->count - 1];
    *group = (struct peer_group){ .instance_id = entry->process->instance_id,
                                  .first = c->peer_count };
    if (entry->count == 0)
        return; /* nothing to copy: the peers array may not exist yet */
    if (!grow((void **)&c->peers, &c->peer_capacity, c->peer_count, entry->count,
              sizeof *c->peers)) {
        c->out_of_memory = true;
        return;
    }
    /* sort every peer of the instance, keep the top n */
    memcpy(c->peers + c->peer_count, entry->peers, entry->count * sizeof *entry->peers);
    json_peers_by_bytes(c->peers + c->peer_count, entry->count);
    group->count = n;
    c->peer_count += n;
}

static int compare_groups(const void *a, const void *b)
{
    const struct peer_group *x = a, *y = b;
    return x->instance_id < y->instance_id ? -1 : x->instance_id > y->instance_id;
}

static const struct peer_group *group_of(const struct collected *c, uint64_t instance_id)
{
    struct peer_group key = { .instance_id = instance_id };
    return c->count ? bsearch(&key, c->groups, c->count, sizeof key, compare_groups) : NULL;
}

static uint64_t sort_value(const struct process_view *view, int sort)
{
    if (sort == PROCESS_SORT_TOTAL)
        return total_bytes(view);
    return view->counters[FAMILY_IPV4][sort] + view->counters[FAMILY_IPV6][sort];
}

/* qsort has no context argument in C11; the sort key travels through this. Each call
 * sorts under the lock-free reader's own thread, so it is thread-local. */
static _Thread_local int current_sort;

static int compare_views(const void *a, const void *b)
{
    const struct process_view *x = a;
    const struct process_view *y = b;
    if (current_sort != PROCESS_SORT_NONE) {
        uint64_t vx = sort_value(x, current_sort);
        uint64_t vy = sort_value(y, current_sort);
        if (vx != vy)
            return vx > vy ? -1 : 1;   /* descending: top talkers first */
    }
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->instance_id != y->instance_id)
        return x->instance_id < y->instance_id ? -1 : 1;
    return 0;
}

/* "peers": the row's top peers, the same objects as /api/v1/peers. */
static bool add_row_peers(cJSON *object, const struct collected *c,
                          const struct process_view *view)
{
    const struct peer_group *group = group_of(c, view->instance_id);
    cJSON *array = cJSON_AddArrayToObject(object, "peers");
    if (array == NULL || group == NULL)
        return array != NULL;
    struct row_services services;
    row_services_of(c->table, view->service_set, &services);
    for (size_t i = 0; i < group->count; i++) {
        cJSON *peer = json_peer_object(c->table, view, &services, &c->peers[group->first + i]);
        if (peer == NULL || !cJSON_AddItemToArray(array, peer)) {
            cJSON_Delete(peer);
            return false;
        }
    }
    return true;
}

static void free_collected(struct collected *c)
{
    free(c->views);
    free(c->peers);
    free(c->groups);
}

char *json_render_processes(const struct process_table *table,
                            const struct render_options *options,
                            const struct process_query *query)
{
    bool with_peers = query->peers > 0 && process_table_peers_enabled(table);
    struct collected c = { .options = options, .query = query, .table = table,
                           .with_peers = with_peers };
    if (!with_peers)
        process_table_foreach(table, collect, &c);
    else if (!process_table_foreach_peers(table, collect_with_peers, &c))
        c.out_of_memory = true;
    if (c.out_of_memory) {
        free_collected(&c);
        return NULL;
    }
    current_sort = query->sort;
    if (c.count > 1) {  /* views is NULL when nothing matched; qsort wants a valid pointer */
        qsort(c.views, c.count, sizeof *c.views, compare_views);
        if (with_peers)
            qsort(c.groups, c.count, sizeof *c.groups, compare_groups);
    }
    size_t count = c.count;
    if (query->limit > 0 && query->limit < count)
        count = query->limit;

    struct text_buffer out;
    text_buffer_init(&out);
    text_buffer_append_char(&out, '[');
    bool ok = true;
    for (size_t i = 0; ok && i < count; i++) {
        cJSON *object = process_object(table, &c.views[i]);
        if (object != NULL && with_peers && !add_row_peers(object, &c, &c.views[i])) {
            cJSON_Delete(object);
            object = NULL;
        }
        ok = json_append_item(&out, object, i);
    }
    text_buffer_append_char(&out, ']');
    free_collected(&c);
    return json_text_take(&out);
}

/* ---- /api/v1/services ---- */

static int compare_hosted(const void *a, const void *b)
{
    const struct hosted_service *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    /* as the `service` label joins them: Schedule before SENS */
    return process_table_service_name_compare(x->service.name, y->service.name);
}

/* The image name of each hosting pid's row, the live one when there are several (a
 * replay's rundown at the end marks every row exited), or "" when the table has none (a
 * service process without traffic since start, or no process events at all, as under
 * Wine). One walk of the table for all of them: hosted is sorted by pid. */
struct host_names {
    const struct hosted_service *hosted;
    size_t count;
    char (*names)[2 * IMAGE_NAME_MAX]; /* per hosted entry; equal pids share the first's */
};

static void take_host_name(const struct process_view *view, void *context)
{
    struct host_names *h = context;
    if (view->is_overflow || !view->is_named)
        return;
    size_t lo = 0, hi = h->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->hosted[mid].pid < view->pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == h->count || h->hosted[lo].pid != view->pid)
        return;
    if (view->state == PROCESS_LIVE || h->names[lo][0] == '\0')
        utf8_from_image_name(view->name, h->names[lo], sizeof h->names[lo]);
}

char *json_render_services(const struct process_table *table)
{
    struct table_stats stats;
    process_table_stats(table, &stats);
    size_t max = stats.service_capacity ? stats.service_capacity : 1;
    struct hosted_service *hosted = malloc(max * sizeof *hosted);
    if (!hosted)
        return NULL;
    size_t n = process_table_services_hosted(table, hosted, max);
    if (n > 1)
        qsort(hosted, n, sizeof *hosted, compare_hosted);
    struct host_names names = { .hosted = hosted, .count = n,
                                .names = calloc(n ? n : 1, sizeof *names.names) };
    cJSON *array = names.names ? cJSON_CreateArray() : NULL;
    bool ok = array != NULL;
    if (ok)
        process_table_foreach(table, take_host_name, &names);
    size_t first = 0; /* the first entry of the current pid, which holds its name */
    for (size_t i = 0; ok && i < n; i++) {
        if (hosted[i].pid != hosted[first].pid)
            first = i;
        cJSON *one = json_add_new_object(array);
        ok = one != NULL && cJSON_AddStringToObject(one, "name", hosted[i].service.name) &&
             cJSON_AddStringToObject(one, "display_name", hosted[i].service.display_name) &&
             json_add_u64(one, "pid", hosted[i].pid) &&
             cJSON_AddStringToObject(one, "process", names.names[first]);
    }
    char *text = ok ? cJSON_PrintUnformatted(array) : NULL;
    cJSON_Delete(array);
    free(names.names);
    free(hosted);
    return text;
}

/* ---- /api/v1/status ---- */

static bool add_source(cJSON *status, const struct status_input *input)
{
    cJSON *source = cJSON_AddObjectToObject(status, "source");
    if (source == NULL)
        return false;
    if (!input->has_source) {
        return cJSON_AddStringToObject(source, "kind", "none") &&
               cJSON_AddBoolToObject(source, "up", false) &&
               cJSON_AddStringToObject(source, "state", "none") &&
               cJSON_AddStringToObject(source, "reason", "no event source attached");
    }
    const struct source_info *s = &input->source;
    char reason[2 * sizeof s->reason];
    utf8_from_image_name(s->reason, reason, sizeof reason);
    bool ok = cJSON_AddStringToObject(source, "kind", s->kind ? s->kind : "none") &&
              cJSON_AddBoolToObject(source, "up", s->up) &&
              cJSON_AddStringToObject(source, "state", source_state_name(s)) &&
              cJSON_AddStringToObject(source, "reason", reason) &&
              json_add_u64(source, "restarts", s->restarts) &&
              json_add_u64(source, "events_lost", s->events_lost) &&
              json_add_u64(source, "buffers_lost", s->buffers_lost);
    if (ok && s->has_buffers) {
        cJSON *buffers = cJSON_AddObjectToObject(source, "buffers");
        ok = buffers != NULL && json_add_u64(buffers, "written", s->buffers_written) &&
             json_add_u64(buffers, "allocated", s->buffers_allocated) &&
             json_add_u64(buffers, "free", s->buffers_free) &&
             json_add_u64(buffers, "minimum", s->min_buffers) &&
             json_add_u64(buffers, "maximum", s->max_buffers);
    }
    if (ok && s->kind != NULL && strcmp(s->kind, "etl") == 0) {
        ok = cJSON_AddBoolToObject(source, "replay_done", s->replay_done) &&
             cJSON_AddBoolToObject(source, "replay_damaged", s->replay_damaged);
    }
    return ok;
}

static bool add_table(cJSON *status, const struct process_table *table)
{
    struct table_stats stats;
    process_table_stats(table, &stats);
    cJSON *t = cJSON_AddObjectToObject(status, "table");
    cJSON *dropped = t ? cJSON_AddObjectToObject(t, "records_dropped") : NULL;
    if (dropped == NULL)
        return false;
    for (int r = 0; r < DROP_REASON_COUNT; r++) {
        if (!json_add_u64(dropped, drop_reason_label((enum drop_reason)r), stats.dropped[r]))
            return false;
    }
    cJSON *fails = cJSON_AddObjectToObject(t, "tcp_connect_failures");
    for (int f = 0; fails != NULL && f < FAMILY_COUNT; f++) {
        cJSON *family = cJSON_AddObjectToObject(fails, family_label((enum ip_family)f));
        if (family == NULL)
            return false;
        for (int l = 0; l < FAIL_LABEL_COUNT; l++) {
            if (!json_add_u64(family, fail_labels[l].reason, fail_label_count(stats.fails[f], l)))
                return false;
        }
    }
    if (fails == NULL)
        return false;
    uint64_t events = 0;
    for (int e = 0; e < EVT_TYPE_COUNT; e++)
        events += stats.events_by_type[e];
    return json_add_u64(t, "short_records", stats.short_records) &&
           json_add_u64(t, "rows_in_use", stats.rows_in_use) &&
           json_add_u64(t, "capacity", stats.capacity) &&
           json_add_u64(t, "events", events) &&
           json_add_u64(t, "lost_event_records", stats.lost_events) &&
           json_add_u64(t, "lost_buffer_records", stats.lost_buffers) &&
           json_add_u64(t, "processes_untracked", stats.processes_untracked) &&
           json_add_u64(t, "instances_retired", stats.instances_retired);
}

static bool add_config(cJSON *status, const char *config_json)
{
    if (config_json == NULL)
        return cJSON_AddNullToObject(status, "config") != NULL;
    /* Raw only when it parses, so a bad string cannot break the whole document. */
    cJSON *parsed = cJSON_Parse(config_json);
    bool valid = parsed != NULL;
    cJSON_Delete(parsed);
    if (valid)
        return cJSON_AddRawToObject(status, "config", config_json) != NULL;
    return cJSON_AddStringToObject(status, "config", config_json) != NULL;
}

char *json_render_status(const struct process_table *table, const struct status_input *input)
{
    cJSON *status = cJSON_CreateObject();
    bool ok = status != NULL &&
              cJSON_AddStringToObject(status, "version",
                                      input->version ? input->version : "unknown") &&
              cJSON_AddNumberToObject(status, "uptime_seconds", input->uptime_seconds) &&
              json_add_u64(status, "pid", input->pid) &&
              add_source(status, input) &&
              json_add_u64(status, "events_lost",
                           input->has_source ? input->source.events_lost : 0) &&
              add_table(status, table) &&
              json_add_u64(status, "scrapes", input->scrapes) &&
              add_config(status, input->config_json);
    char *text = ok ? cJSON_PrintUnformatted(status) : NULL;
    cJSON_Delete(status);
    return text;
}

char *json_render_error(int status, const char *message)
{
    /* Messages quote the request, which may be any bytes; JSON must be UTF-8. */
    char clean[1024];
    utf8_from_image_name(message, clean, sizeof clean);
    cJSON *object = cJSON_CreateObject();
    char *text = NULL;
    if (object != NULL && cJSON_AddStringToObject(object, "error", clean) &&
        cJSON_AddNumberToObject(object, "status", status))
        text = cJSON_PrintUnformatted(object);
    cJSON_Delete(object);
    return text;
}
