/* Image names of the process table: one entry per distinct name and service set (the
 * services its instances host, process_table_services.h), never removed, holding the name
 * and the counters of retired instances (so totals by name never go down after instances
 * retire). "svchost.exe" hosting Dnscache and "svchost.exe" hosting nothing are two
 * entries, which is what aggregation by name split by service needs.
 *
 * Entries are published to readers by a release store of `count`; an entry's text never
 * changes after that. Its retired counters change only under the table-wide sequence
 * (process_table.c). The intern hash and the private copies of the texts belong to the
 * writer alone. The capacity is fixed: when only one entry is left, every new name maps to
 * OVERFLOW_PROCESS_NAME, so the table stays bounded whatever names the trace brings. */
#ifndef TCPIP_EXPORTER_PROCESS_TABLE_NAMES_H
#define TCPIP_EXPORTER_PROCESS_TABLE_NAMES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "process_table.h"

enum { NAME_WORDS = IMAGE_NAME_MAX / 8 };
_Static_assert(IMAGE_NAME_MAX % 8 == 0, "names are stored as whole 64-bit words");

/* A name as atomic words, so a reader racing with a rename is a retry, not a data race. */
typedef _Atomic uint64_t name_words[NAME_WORDS];

struct name_entry {
    name_words text;
    _Atomic uint32_t service_set;    /* fixed before the entry is published */
    _Atomic uint64_t retired[FAMILY_COUNT][CTR_COUNT];
};

struct name_table {
    struct name_entry *entries;      /* shared: [0, count) are readable */
    _Atomic uint32_t count;
    uint32_t capacity;
    /* writer only */
    uint32_t *slots;                 /* intern hash: entry index, or UINT32_MAX */
    uint32_t mask;
    char (*text)[IMAGE_NAME_MAX];    /* private copies to compare against */
};

/* Bytes of each array name_table_init carves, for a table of `capacity` names. */
size_t name_table_entries_bytes(uint32_t capacity);
size_t name_table_slots_bytes(uint32_t capacity);
size_t name_table_text_bytes(uint32_t capacity);

/* The memory comes from the caller (zeroed or not); capacity >= 2. */
void name_table_init(struct name_table *names, uint32_t capacity, struct name_entry *entries,
                     uint32_t *slots, char (*text)[IMAGE_NAME_MAX]);

/* Entry index of (name, service set), added if new; name is a NUL-terminated string of
 * < IMAGE_NAME_MAX bytes. A full table maps new pairs to (OVERFLOW_PROCESS_NAME, 0). */
uint32_t name_table_intern(struct name_table *names, const char *name, uint32_t service_set);

/* Copy a NUL-terminated name (truncated to IMAGE_NAME_MAX - 1 bytes) into words / out. */
void name_words_store(name_words words, const char *name);
void name_words_load(const name_words words, char out[IMAGE_NAME_MAX]);

/* Bounded, NUL-terminated copy of a name into dst. */
void name_copy(char dst[IMAGE_NAME_MAX], const char *src);

#endif
