#include "process_table_services.h"

#include <stdlib.h>
#include <string.h>

#include "seqlock.h"

/* ---- sizing ---- */

static uint32_t slots_for(uint32_t capacity)
{
    uint32_t slots = 16;
    while (slots / 2 < capacity)
        slots *= 2;
    return slots;
}

static uint32_t capacity_or_default(uint32_t capacity)
{
    return capacity ? capacity : SERVICE_TABLES_DEFAULT_CAPACITY;
}

size_t service_tables_footprint(uint32_t capacity)
{
    capacity = capacity_or_default(capacity);
    size_t slots = slots_for(capacity);
    return (size_t)capacity * (sizeof(struct service_entry) + sizeof(struct service_set_entry) +
                               sizeof(struct service_hosting_slot)) +
           2 * slots * sizeof(uint32_t) + pid_index_slots_for(capacity) * sizeof(struct pid_slot);
}

bool service_tables_init(struct service_tables *s, uint32_t capacity)
{
    memset(s, 0, sizeof *s);
    capacity = capacity_or_default(capacity);
    uint32_t slots = slots_for(capacity);
    s->services = calloc(capacity, sizeof *s->services);
    s->sets = calloc(capacity, sizeof *s->sets);
    s->hosting = calloc(capacity, sizeof *s->hosting);
    s->service_slots = malloc(slots * sizeof(uint32_t));
    s->set_slots = malloc(slots * sizeof(uint32_t));
    s->by_pid_slots = malloc(pid_index_slots_for(capacity) * sizeof(struct pid_slot));
    if (!s->services || !s->sets || !s->hosting || !s->service_slots || !s->set_slots ||
        !s->by_pid_slots) {
        service_tables_free(s);
        return false;
    }
    s->service_capacity = s->set_capacity = capacity;
    s->service_mask = s->set_mask = slots - 1;
    memset(s->service_slots, 0xFF, slots * sizeof(uint32_t));
    memset(s->set_slots, 0xFF, slots * sizeof(uint32_t));
    for (uint32_t i = 0; i < capacity; i++) {
        atomic_init(&s->hosting[i].pid, 0);
        atomic_init(&s->hosting[i].service, 0);
    }
    atomic_init(&s->service_count, 0);
    atomic_init(&s->set_count, 1); /* set 0: the empty set, calloc'ed */
    atomic_init(&s->hosting_count, 0);
    atomic_init(&s->hosting_seq, 0);
    atomic_init(&s->dropped, 0);
    pid_index_init(&s->by_pid, s->by_pid_slots, capacity);
    return true;
}

void service_tables_free(struct service_tables *s)
{
    free(s->services);
    free(s->sets);
    free(s->hosting);
    free(s->service_slots);
    free(s->set_slots);
    free(s->by_pid_slots);
    memset(s, 0, sizeof *s);
}

static void count_dropped(struct service_tables *s)
{
    set64(&s->dropped, atomic_load_explicit(&s->dropped, memory_order_relaxed) + 1);
}

/* ---- services, by name, ASCII case-insensitively like the SCM ---- */

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int name_compare(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = fold((unsigned char)*a), y = fold((unsigned char)*b);
        if (x != y || x == 0)
            return x - y;
    }
}

int process_table_service_name_compare(const char *a, const char *b)
{
    return name_compare(a, b);
}

static uint32_t hash_folded(const char *name)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        hash = (hash ^ fold(*p)) * 16777619u;
    return hash;
}

static void bounded_copy(char dst[SERVICE_NAME_MAX], const char *src)
{
    size_t len = strnlen(src, SERVICE_NAME_MAX - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

uint32_t services_intern(struct service_tables *s, const char *name, const char *display)
{
    char key[SERVICE_NAME_MAX];
    bounded_copy(key, name);
    uint32_t i = hash_folded(key) & s->service_mask;
    for (; s->service_slots[i] != SERVICES_NONE; i = (i + 1) & s->service_mask)
        if (name_compare(s->services[s->service_slots[i]].name, key) == 0)
            return s->service_slots[i];
    uint32_t count = atomic_load_explicit(&s->service_count, memory_order_relaxed);
    if (count >= s->service_capacity) {
        count_dropped(s);
        return SERVICES_NONE;
    }
    struct service_entry *e = &s->services[count];
    memcpy(e->name, key, sizeof key);
    bounded_copy(e->display_name, display);
    s->service_slots[i] = count;
    atomic_store_explicit(&s->service_count, count + 1, memory_order_release);
    return count;
}

/* ---- sets ---- */

static uint32_t hash_ids(const uint16_t *ids, uint32_t count)
{
    uint32_t hash = 2166136261u ^ count;
    for (uint32_t i = 0; i < count; i++)
        hash = (hash ^ ids[i]) * 16777619u;
    return hash;
}

static uint32_t set_intern(struct service_tables *s, const uint16_t *ids, uint32_t count)
{
    if (count == 0)
        return SERVICE_SET_EMPTY;
    uint32_t i = hash_ids(ids, count) & s->set_mask;
    for (; s->set_slots[i] != SERVICES_NONE; i = (i + 1) & s->set_mask) {
        const struct service_set_entry *e = &s->sets[s->set_slots[i]];
        if (e->count == count && memcmp(e->ids, ids, count * sizeof ids[0]) == 0)
            return s->set_slots[i];
    }
    uint32_t n = atomic_load_explicit(&s->set_count, memory_order_relaxed);
    if (n >= s->set_capacity) {
        count_dropped(s);
        return SERVICES_NONE;
    }
    s->sets[n].count = count;
    memcpy(s->sets[n].ids, ids, count * sizeof ids[0]);
    s->set_slots[i] = n;
    atomic_store_explicit(&s->set_count, n + 1, memory_order_release);
    return n;
}

/* Inserts id into the sorted ids (by service name); false when full. */
static bool set_insert(const struct service_tables *s, uint16_t *ids, uint32_t *count,
                       uint32_t id)
{
    uint32_t at = 0;
    while (at < *count && name_compare(s->services[ids[at]].name, s->services[id].name) < 0)
        at++;
    if (at < *count && ids[at] == id)
        return true;
    if (*count >= SERVICES_PER_SET_MAX)
        return false;
    memmove(ids + at + 1, ids + at, (*count - at) * sizeof ids[0]);
    ids[at] = (uint16_t)id;
    (*count)++;
    return true;
}

uint32_t services_set_of(struct service_tables *s, const uint32_t *ids, size_t count)
{
    uint16_t sorted[SERVICES_PER_SET_MAX];
    uint32_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (!set_insert(s, sorted, &n, ids[i])) {
            count_dropped(s);
            return SERVICES_NONE;
        }
    return set_intern(s, sorted, n);
}

uint32_t services_set_union(struct service_tables *s, uint32_t a, uint32_t b)
{
    if (a == b || b == SERVICE_SET_EMPTY)
        return a;
    if (a == SERVICE_SET_EMPTY)
        return b;
    uint16_t ids[SERVICES_PER_SET_MAX];
    uint32_t n = s->sets[a].count;
    memcpy(ids, s->sets[a].ids, n * sizeof ids[0]);
    for (uint32_t i = 0; i < s->sets[b].count; i++)
        if (!set_insert(s, ids, &n, s->sets[b].ids[i])) {
            count_dropped(s);
            return SERVICES_NONE;
        }
    return set_intern(s, ids, n);
}

uint32_t services_of_pid(const struct service_tables *s, uint32_t pid)
{
    uint32_t set = pid_index_find(&s->by_pid, pid);
    return set == PID_INDEX_NONE ? SERVICE_SET_EMPTY : set;
}

/* ---- hosting ---- */

static int pair_order(const void *a, const void *b)
{
    const struct service_pair *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->service < y->service ? -1 : x->service > y->service;
}

static uint32_t hosting_find(const struct service_tables *s, uint32_t service)
{
    uint32_t n = atomic_load_explicit(&s->hosting_count, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++)
        if (atomic_load_explicit(&s->hosting[i].service, memory_order_relaxed) == service)
            return i;
    return SERVICES_NONE;
}

/* Inside the hosting sequence: one pair, replacing the pid a service had before. */
static void hosting_put(struct service_tables *s, uint32_t pid, uint32_t service)
{
    uint32_t at = hosting_find(s, service);
    if (at == SERVICES_NONE) {
        at = atomic_load_explicit(&s->hosting_count, memory_order_relaxed);
        if (at >= s->service_capacity) {
            count_dropped(s);
            return;
        }
        set32(&s->hosting[at].service, service);
        set32(&s->hosting_count, at + 1);
    }
    set32(&s->hosting[at].pid, pid);
}

/* The pid map for one pid's run of pairs [from, to) of the sorted array. */
static void pid_takes(struct service_tables *s, const struct service_pair *pairs, size_t from,
                      size_t to, bool replace, services_changed_fn changed, void *context)
{
    uint32_t pid = pairs[from].pid;
    uint32_t ids[SERVICES_PER_SET_MAX];
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        if (n == SERVICES_PER_SET_MAX) {
            count_dropped(s); /* a host of more services than a set holds: the rest */
            break;
        }
        ids[n++] = pairs[i].service;
    }
    uint32_t before = services_of_pid(s, pid);
    uint32_t set = services_set_of(s, ids, n);
    if (set == SERVICES_NONE)
        return;
    if (!replace && (set = services_set_union(s, before, set)) == SERVICES_NONE)
        return;
    if (set == before && !replace)
        return;
    if (set == SERVICE_SET_EMPTY)
        pid_index_remove(&s->by_pid, pid);
    else if (pid_index_put(&s->by_pid, pid, set) != 0) {
        count_dropped(s);
        return;
    }
    if (changed && set != before)
        changed(context, pid, set);
}

void services_apply(struct service_tables *s, struct service_pair *pairs, size_t n,
                    bool replace, services_changed_fn changed, void *context)
{
    qsort(pairs, n, sizeof pairs[0], pair_order);
    seq_begin(&s->hosting_seq);
    if (replace)
        set32(&s->hosting_count, 0);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || pair_order(&pairs[i - 1], &pairs[i]) != 0)
            hosting_put(s, pairs[i].pid, pairs[i].service);
    seq_end(&s->hosting_seq);
    if (replace) /* a complete scan: pids it does not name host nothing now */
        pid_index_init(&s->by_pid, s->by_pid_slots, s->service_capacity);
    for (size_t from = 0; from < n;) {
        size_t to = from + 1;
        while (to < n && pairs[to].pid == pairs[from].pid)
            to++;
        pid_takes(s, pairs, from, to, replace, changed, context);
        from = to;
    }
}

void services_forget_pid(struct service_tables *s, uint32_t pid)
{
    if (services_of_pid(s, pid) == SERVICE_SET_EMPTY)
        return;
    pid_index_remove(&s->by_pid, pid);
    seq_begin(&s->hosting_seq);
    uint32_t n = atomic_load_explicit(&s->hosting_count, memory_order_relaxed), kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = atomic_load_explicit(&s->hosting[i].pid, memory_order_relaxed);
        uint32_t svc = atomic_load_explicit(&s->hosting[i].service, memory_order_relaxed);
        if (p == pid)
            continue;
        set32(&s->hosting[kept].pid, p);
        set32(&s->hosting[kept].service, svc);
        kept++;
    }
    set32(&s->hosting_count, kept);
    seq_end(&s->hosting_seq);
}

/* ---- readers ---- */

const struct service_set_entry *services_set(const struct service_tables *s, uint32_t set)
{
    if (set >= atomic_load_explicit(&s->set_count, memory_order_acquire))
        return &s->sets[SERVICE_SET_EMPTY];
    return &s->sets[set];
}

const struct service_entry *services_entry(const struct service_tables *s, uint32_t id)
{
    if (id >= atomic_load_explicit(&s->service_count, memory_order_acquire))
        return NULL;
    return &s->services[id];
}

size_t services_hosting_copy(const struct service_tables *s, struct service_pair *out,
                             size_t max)
{
    for (;;) {
        uint32_t begun = seq_read_begin(&s->hosting_seq);
        size_t n = get32(&s->hosting_count);
        if (n > max)
            n = max;
        for (size_t i = 0; i < n; i++) {
            out[i].pid = get32(&s->hosting[i].pid);
            out[i].service = get32(&s->hosting[i].service);
        }
        if (!seq_read_retry(&s->hosting_seq, begun))
            return n;
    }
}
