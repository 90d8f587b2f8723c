#include "process_table_names.h"

#include <string.h>

#define NAME_SLOT_EMPTY UINT32_MAX

static uint32_t name_slot_count(uint32_t capacity)
{
    uint32_t slots = 16;
    while (slots / 2 < capacity)
        slots *= 2;
    return slots;
}

size_t name_table_entries_bytes(uint32_t capacity)
{
    return (size_t)capacity * sizeof(struct name_entry);
}

size_t name_table_slots_bytes(uint32_t capacity)
{
    return (size_t)name_slot_count(capacity) * sizeof(uint32_t);
}

size_t name_table_text_bytes(uint32_t capacity)
{
    return (size_t)capacity * IMAGE_NAME_MAX;
}

void name_table_init(struct name_table *names, uint32_t capacity, struct name_entry *entries,
                     uint32_t *slots, char (*text)[IMAGE_NAME_MAX])
{
    uint32_t slot_count = name_slot_count(capacity);
    names->entries = entries;
    atomic_init(&names->count, 0);
    names->capacity = capacity;
    names->slots = slots;
    names->mask = slot_count - 1;
    names->text = text;
    for (uint32_t i = 0; i < slot_count; i++)
        slots[i] = NAME_SLOT_EMPTY;
    for (uint32_t i = 0; i < capacity; i++) {
        for (int w = 0; w < NAME_WORDS; w++)
            atomic_init(&entries[i].text[w], 0);
        atomic_init(&entries[i].service_set, 0);
        for (int f = 0; f < FAMILY_COUNT; f++)
            for (int c = 0; c < CTR_COUNT; c++)
                atomic_init(&entries[i].retired[f][c], 0);
    }
}

void name_copy(char dst[IMAGE_NAME_MAX], const char *src)
{
    size_t len = strnlen(src, IMAGE_NAME_MAX - 1);
    memcpy(dst, src, len);
    memset(dst + len, 0, IMAGE_NAME_MAX - len);
}

void name_words_store(name_words words, const char *name)
{
    char padded[IMAGE_NAME_MAX];
    name_copy(padded, name);
    for (int w = 0; w < NAME_WORDS; w++) {
        uint64_t word;
        memcpy(&word, padded + 8 * w, sizeof word);
        atomic_store_explicit(&words[w], word, memory_order_release);
    }
}

void name_words_load(const name_words words, char out[IMAGE_NAME_MAX])
{
    for (int w = 0; w < NAME_WORDS; w++) {
        uint64_t word = atomic_load_explicit(&words[w], memory_order_acquire);
        memcpy(out + 8 * w, &word, sizeof word);
    }
    out[IMAGE_NAME_MAX - 1] = '\0';
}

static uint32_t name_hash(const char *name, uint32_t service_set)
{
    uint32_t hash = 2166136261u ^ service_set; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        hash = (hash ^ *p) * 16777619u;
    return hash;
}

/* Returns the entry of (name, set), or NAME_SLOT_EMPTY with *slot set to where it would go. */
static uint32_t name_find(const struct name_table *names, const char *name,
                          uint32_t service_set, uint32_t *slot)
{
    uint32_t i = name_hash(name, service_set) & names->mask;
    while (names->slots[i] != NAME_SLOT_EMPTY) {
        uint32_t id = names->slots[i];
        if (strcmp(names->text[id], name) == 0 &&
            atomic_load_explicit(&names->entries[id].service_set, memory_order_relaxed) ==
                service_set)
            return id;
        i = (i + 1) & names->mask;
    }
    *slot = i;
    return NAME_SLOT_EMPTY;
}

uint32_t name_table_intern(struct name_table *names, const char *name, uint32_t service_set)
{
    char key[IMAGE_NAME_MAX];
    name_copy(key, name);
    uint32_t slot;
    uint32_t id = name_find(names, key, service_set, &slot);
    if (id != NAME_SLOT_EMPTY)
        return id;
    uint32_t count = atomic_load_explicit(&names->count, memory_order_relaxed);
    /* The last entry is kept for the overflow name, so a full table still says where
     * the totals of the names it could not hold went. */
    if (count + 1 >= names->capacity &&
        (strcmp(key, OVERFLOW_PROCESS_NAME) != 0 || service_set != 0))
        return name_table_intern(names, OVERFLOW_PROCESS_NAME, 0);
    id = count;
    memcpy(names->text[id], key, IMAGE_NAME_MAX);
    name_words_store(names->entries[id].text, key);
    atomic_store_explicit(&names->entries[id].service_set, service_set, memory_order_relaxed);
    names->slots[slot] = id;
    /* Publish: a reader that sees the new count also sees the text stored above. */
    atomic_store_explicit(&names->count, count + 1, memory_order_release);
    return id;
}
