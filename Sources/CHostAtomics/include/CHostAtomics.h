// Host atomic primitives on raw guest RAM.
//
// Swift's Synchronization.Atomic cannot be placed at an arbitrary address, and guest RAM is
// one big host mapping in which a guest chooses where its locked operands live. These
// wrappers give sequentially consistent compare-exchange on such addresses, which is what an
// x86 LOCK prefix promises. Callers guarantee natural alignment (see PhysicalMemory).
#ifndef CHOSTATOMICS_H
#define CHOSTATOMICS_H

#include <stdbool.h>
#include <stdint.h>

/// Compare-exchange on an 8-byte aligned word; on failure *expected receives the current value.
static inline bool kite_cas64(void *address, uint64_t *expected, uint64_t desired) {
    return __atomic_compare_exchange_n((uint64_t *)address, expected, desired, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/// Compare-exchange on a 16-byte aligned double word (LOCK CMPXCHG16B).
/// Written with the instruction itself so that no -mcx16 flag or libatomic is needed.
static inline bool kite_cas128(void *address, uint64_t *expectedLow, uint64_t *expectedHigh,
                               uint64_t desiredLow, uint64_t desiredHigh) {
    bool ok;
    __asm__ __volatile__("lock cmpxchg16b %1"
                         : "=@ccz"(ok), "+m"(*(volatile char(*)[16])address),
                           "+a"(*expectedLow), "+d"(*expectedHigh)
                         : "b"(desiredLow), "c"(desiredHigh)
                         : "memory");
    return ok;
}

/// Atomic load of an 8-byte aligned word.
static inline uint64_t kite_load64(const void *address) {
    return __atomic_load_n((const uint64_t *)address, __ATOMIC_SEQ_CST);
}

/// Full memory fence (MFENCE semantics).
static inline void kite_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/// Atomic fetch-or of a byte (dirty and code bitmaps shared by vCPU threads).
static inline uint8_t kite_fetch_or8(void *address, uint8_t bits) {
    return __atomic_fetch_or((uint8_t *)address, bits, __ATOMIC_RELAXED);
}

/// Atomic fetch-and of a byte.
static inline uint8_t kite_fetch_and8(void *address, uint8_t bits) {
    return __atomic_fetch_and((uint8_t *)address, bits, __ATOMIC_RELAXED);
}

/// Atomic increment of a 32-bit counter, returning the new value.
static inline uint32_t kite_increment32(void *address) {
    return __atomic_add_fetch((uint32_t *)address, 1, __ATOMIC_SEQ_CST);
}

/// Relaxed load of a 32-bit counter.
static inline uint32_t kite_load32(const void *address) {
    return __atomic_load_n((const uint32_t *)address, __ATOMIC_ACQUIRE);
}

#endif
