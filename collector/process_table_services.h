/* The services of the process table: which Windows services each process hosts.
 *
 * Three bounded tables, all written by the table's single writer:
 * - services: a name and display name each, interned once by name (case-insensitive, as the
 *   SCM compares them), never removed;
 * - sets: sorted lists of service ids, interned too; a row (and a name aggregate) holds a
 *   set id, 0 being the empty set. A row's set only grows during its instance's life (the
 *   services it hosted at some point), so its series change label at most a few times;
 * - hosting: the (pid, service) pairs known now, the operator's view of what runs where,
 *   replaced by each SCM scan (live) or added to by SystemConfig records (replay).
 *
 * Services and sets are published to readers by a release store of their count and never
 * change after that, so readers use them without a lock. The hosting list is rewritten in
 * place under its own sequence counter, which readers check and retry on. When a table is
 * full what did not fit is counted in `dropped` and left out: a service without a row, or
 * a row that keeps its previous set. */
#ifndef TCPIP_EXPORTER_PROCESS_TABLE_SERVICES_H
#define TCPIP_EXPORTER_PROCESS_TABLE_SERVICES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "decode.h"
#include "process_table_index.h"

#define SERVICES_NONE UINT32_MAX
enum { SERVICES_PER_SET_MAX = 64 }; /* a svchost.exe hosts a few dozen at most (Windows 7) */
enum { SERVICE_SET_EMPTY = 0 };

struct service_entry {
    char name[SERVICE_NAME_MAX];
    char display_name[SERVICE_NAME_MAX];
};

struct service_set_entry {
    uint32_t count;
    uint16_t ids[SERVICES_PER_SET_MAX]; /* sorted by name, case-insensitively */
};

struct service_hosting_slot {
    _Atomic uint32_t pid;
    _Atomic uint32_t service;
};

struct service_tables {
    struct service_entry *services;
    _Atomic uint32_t service_count;
    uint32_t service_capacity;
    struct service_set_entry *sets;
    _Atomic uint32_t set_count;
    uint32_t set_capacity;
    struct service_hosting_slot *hosting;
    _Atomic uint32_t hosting_count;
    _Atomic uint32_t hosting_seq;
    _Atomic uint64_t dropped;
    /* writer only */
    uint32_t *service_slots, *set_slots; /* intern hashes: entry index or SERVICES_NONE */
    uint32_t service_mask, set_mask;
    struct pid_index by_pid;             /* pid -> set of the services it hosts now */
    struct pid_slot *by_pid_slots;
};

/* capacity: services (and as many sets and hosting pairs); 0 = the default. */
#define SERVICE_TABLES_DEFAULT_CAPACITY 1024
bool service_tables_init(struct service_tables *s, uint32_t capacity);
void service_tables_free(struct service_tables *s);
size_t service_tables_footprint(uint32_t capacity);

/* ---- writer ---- */

/* Id of the service of that name (added with its display name if new), or SERVICES_NONE. */
uint32_t services_intern(struct service_tables *s, const char *name, const char *display);

/* Id of the union of set a and set b, or SERVICES_NONE when it does not fit. */
uint32_t services_set_union(struct service_tables *s, uint32_t a, uint32_t b);

/* Id of the set of the given service ids (any order, duplicates allowed). */
uint32_t services_set_of(struct service_tables *s, const uint32_t *ids, size_t count);

/* The set of services pid hosts now (SERVICE_SET_EMPTY when none). */
uint32_t services_of_pid(const struct service_tables *s, uint32_t pid);

/* Pairs (pid, service id), n of them: replace the hosting list and the pid map with them
 * (a complete scan), or add them (records of a trace, which only ever add). pairs is
 * reordered. Returns the pids whose set changed, through `changed` (called per pid). */
struct service_pair {
    uint32_t pid;
    uint32_t service;
};
typedef void (*services_changed_fn)(void *context, uint32_t pid, uint32_t set);
void services_apply(struct service_tables *s, struct service_pair *pairs, size_t n,
                    bool replace, services_changed_fn changed, void *context);

/* A process ended: the services it hosted are no longer hosted by its pid. */
void services_forget_pid(struct service_tables *s, uint32_t pid);

/* ---- readers ---- */

/* The services of a set, in order; count 0 for the empty or an unknown set. */
const struct service_set_entry *services_set(const struct service_tables *s, uint32_t set);
const struct service_entry *services_entry(const struct service_tables *s, uint32_t id);

/* A consistent copy of the hosting list, at most max pairs; returns how many were copied. */
size_t services_hosting_copy(const struct service_tables *s, struct service_pair *out,
                             size_t max);

#endif
