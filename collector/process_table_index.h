/* The writer's private map from pid to the row of that pid's current instance.
 *
 * Only the table's single writer touches it, so it needs no atomics and readers never
 * probe it: they iterate rows. Open addressing with linear probing and backward-shift
 * deletion (no tombstones, so probe lengths do not grow with pid churn), sized at
 * creation to stay at most half full. */
#ifndef TCPIP_EXPORTER_PROCESS_TABLE_INDEX_H
#define TCPIP_EXPORTER_PROCESS_TABLE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define PID_INDEX_NONE UINT32_MAX /* "no row": an empty slot, or a pid not found */

struct pid_slot {
    uint32_t pid;
    uint32_t row; /* PID_INDEX_NONE marks an empty slot; pid 0 (Idle) is a valid key */
};

struct pid_index {
    struct pid_slot *slots;
    uint32_t mask;   /* slot count - 1 (a power of two) */
    uint32_t shift;  /* 32 - log2(slot count): top bits of the hash pick the home slot */
    uint32_t count;
    uint32_t limit;  /* entries allowed: half the slots */
};

/* Slot count for an index that must hold `entries`: a power of two, at least twice it. */
uint32_t pid_index_slots_for(uint32_t entries);

/* slots: pid_index_slots_for(entries) elements, owned by the caller. */
void pid_index_init(struct pid_index *index, struct pid_slot *slots, uint32_t entries);

/* Fibonacci hashing: Windows pids are multiples of 4, and multiplying by an odd constant
 * and keeping the top bits spreads them evenly where `pid & mask` would use a quarter. */
static inline uint32_t pid_index_home(const struct pid_index *index, uint32_t pid)
{
    return (uint32_t)(pid * 2654435769u) >> index->shift;
}

/* Row of pid, or PID_INDEX_NONE. The hot path: one multiply, usually one probe. */
static inline uint32_t pid_index_find(const struct pid_index *index, uint32_t pid)
{
    uint32_t i = pid_index_home(index, pid);
    for (;;) {
        const struct pid_slot *slot = &index->slots[i];
        if (slot->row == PID_INDEX_NONE)
            return PID_INDEX_NONE;
        if (slot->pid == pid)
            return slot->row;
        i = (i + 1) & index->mask;
    }
}

/* Map pid to row, replacing any previous row. Returns 0, or -1 when full (limit reached). */
int pid_index_put(struct pid_index *index, uint32_t pid, uint32_t row);

/* Forget pid; no effect if absent. */
void pid_index_remove(struct pid_index *index, uint32_t pid);

#endif
