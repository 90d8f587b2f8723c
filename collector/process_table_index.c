#include "process_table_index.h"

uint32_t pid_index_slots_for(uint32_t entries)
{
    uint32_t slots = 16;
    while (slots / 2 < entries && slots < (UINT32_C(1) << 31))
        slots *= 2;
    return slots;
}

void pid_index_init(struct pid_index *index, struct pid_slot *slots, uint32_t entries)
{
    uint32_t count = pid_index_slots_for(entries);
    uint32_t bits = 0;
    while ((UINT32_C(1) << bits) < count)
        bits++;
    index->slots = slots;
    index->mask = count - 1;
    index->shift = 32 - bits;
    index->count = 0;
    index->limit = count / 2;
    for (uint32_t i = 0; i < count; i++) {
        slots[i].pid = 0;
        slots[i].row = PID_INDEX_NONE;
    }
}

int pid_index_put(struct pid_index *index, uint32_t pid, uint32_t row)
{
    uint32_t i = pid_index_home(index, pid);
    for (;;) {
        struct pid_slot *slot = &index->slots[i];
        if (slot->row == PID_INDEX_NONE) {
            if (index->count >= index->limit)
                return -1;
            slot->pid = pid;
            slot->row = row;
            index->count++;
            return 0;
        }
        if (slot->pid == pid) {
            slot->row = row;
            return 0;
        }
        i = (i + 1) & index->mask;
    }
}

/* Backward-shift deletion: after emptying slot `hole`, walk the cluster that follows and
 * move back every entry whose home slot is not cyclically within (hole, here], so every
 * remaining entry stays reachable from its home without tombstones. */
void pid_index_remove(struct pid_index *index, uint32_t pid)
{
    uint32_t hole = pid_index_home(index, pid);
    for (;;) {
        if (index->slots[hole].row == PID_INDEX_NONE)
            return;
        if (index->slots[hole].pid == pid)
            break;
        hole = (hole + 1) & index->mask;
    }
    uint32_t here = hole;
    for (;;) {
        here = (here + 1) & index->mask;
        struct pid_slot *slot = &index->slots[here];
        if (slot->row == PID_INDEX_NONE)
            break;
        uint32_t home = pid_index_home(index, slot->pid);
        /* distance from home to here versus from hole to here, both mod slot count */
        if (((here - home) & index->mask) >= ((here - hole) & index->mask)) {
            index->slots[hole] = *slot;
            hole = here;
        }
    }
    index->slots[hole].row = PID_INDEX_NONE;
    index->count--;
}
