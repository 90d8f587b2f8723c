#include "connection_owners.h"

#include <stdlib.h>
#include <string.h>

struct collecting {
    struct connection_owners *owners;
    size_t capacity;
    bool out_of_memory;
};

static void take_live(const struct process_view *view, void *context)
{
    struct collecting *c = context;
    if (view->state != PROCESS_LIVE || view->is_overflow || c->out_of_memory)
        return;
    struct connection_owners *o = c->owners;
    if (o->count == c->capacity) {
        size_t grown = c->capacity ? 2 * c->capacity : 256;
        struct connection_owner *more = realloc(o->items, grown * sizeof *more);
        if (!more) {
            c->out_of_memory = true;
            return;
        }
        o->items = more;
        c->capacity = grown;
    }
    struct connection_owner *owner = &o->items[o->count++];
    owner->pid = view->pid;
    owner->service_set = view->service_set;
    owner->start_time = view->start_time;
    memcpy(owner->name, view->name, sizeof owner->name);
}

static int by_pid(const void *a, const void *b)
{
    const struct connection_owner *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->start_time < y->start_time ? -1 : x->start_time > y->start_time;
}

bool connection_owners_build(struct connection_owners *owners, const struct process_table *table)
{
    memset(owners, 0, sizeof *owners);
    struct collecting c = { .owners = owners };
    process_table_foreach(table, take_live, &c);
    if (c.out_of_memory) {
        connection_owners_free(owners);
        return false;
    }
    if (owners->count > 1)
        qsort(owners->items, owners->count, sizeof *owners->items, by_pid);
    /* a live pid has one live row; should a rename race leave two, keep the newest */
    size_t kept = 0;
    for (size_t i = 0; i < owners->count; i++) {
        if (kept > 0 && owners->items[kept - 1].pid == owners->items[i].pid)
            kept--;
        owners->items[kept++] = owners->items[i];
    }
    owners->count = kept;
    return true;
}

const struct connection_owner *connection_owner_of(const struct connection_owners *owners,
                                                   uint32_t pid, uint64_t taken_at)
{
    if (pid == 0)
        return NULL; /* the idle process: TIME_WAIT and closed sockets, no owner */
    size_t lo = 0, hi = owners->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (owners->items[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == owners->count || owners->items[lo].pid != pid)
        return NULL;
    const struct connection_owner *owner = &owners->items[lo];
    return owner->start_time <= taken_at ? owner : NULL;
}

void connection_owners_free(struct connection_owners *owners)
{
    free(owners->items);
    memset(owners, 0, sizeof *owners);
}
