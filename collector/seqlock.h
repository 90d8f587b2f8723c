/* The seqlock and shared-field accessors of the process table and its service tables.
 * One writer; readers copy under a sequence check (process_table.c explains the orders). */
#ifndef TCPIP_EXPORTER_SEQLOCK_H
#define TCPIP_EXPORTER_SEQLOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Every shared store is a release and every shared load an acquire. On x86-64 both are
 * the plain moves relaxed accesses would be, so the hot path pays nothing; unlike the
 * fences of the classic formulation, ThreadSanitizer models them (GCC rejects
 * atomic_thread_fence under -fsanitize=thread), and they carry the seqlock argument per
 * access: a reader that loads any value stored after the writer made a sequence odd has
 * synchronized with that store, so its re-read of the sequence sees it odd or later. */
static inline uint64_t get64(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_acquire);
}

static inline uint32_t get32(const _Atomic uint32_t *v)
{
    return atomic_load_explicit(v, memory_order_acquire);
}

static inline void set64(_Atomic uint64_t *v, uint64_t x)
{
    atomic_store_explicit(v, x, memory_order_release);
}

static inline void set32(_Atomic uint32_t *v, uint32_t x)
{
    atomic_store_explicit(v, x, memory_order_release);
}

/* Single writer: load + store is exact and cheaper than an atomic read-modify-write. The
 * writer's own load needs no ordering. */
static inline void add_u64(_Atomic uint64_t *counter, uint64_t delta)
{
    set64(counter, atomic_load_explicit(counter, memory_order_relaxed) + delta);
}

static inline void add_u32(_Atomic uint32_t *counter, uint32_t delta)
{
    set32(counter, atomic_load_explicit(counter, memory_order_relaxed) + delta);
}

/* Writer side of a seqlock: odd while the identity changes, even (released) after. The
 * release stores that follow keep the odd value ordered before them. */
static inline void seq_begin(_Atomic uint32_t *seq)
{
    set32(seq, atomic_load_explicit(seq, memory_order_relaxed) + 1);
}

static inline void seq_end(_Atomic uint32_t *seq)
{
    set32(seq, atomic_load_explicit(seq, memory_order_relaxed) + 1);
}

/* Reader side: wait for an even sequence. The writer holds a sequence odd for a few
 * stores, but it may be preempted meanwhile, so do not spin forever on a shared core. */
static inline uint32_t seq_read_begin(const _Atomic uint32_t *seq)
{
    for (unsigned spins = 0;; spins++) {
        uint32_t s = atomic_load_explicit(seq, memory_order_acquire);
        if ((s & 1) == 0)
            return s;
        if (spins >= 64)
            sched_yield();
    }
}

/* The data loads before it were acquires, so this load cannot move above them. */
static inline bool seq_read_retry(const _Atomic uint32_t *seq, uint32_t begun)
{
    return atomic_load_explicit(seq, memory_order_relaxed) != begun;
}

#endif
