/* Xen system time from vcpu_time_info (xen-abi.md §2.2): version odd while Xen updates,
   re-read if it changed; ns = system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32. */
#include "ktf.h"

uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

uint64_t xen_system_time(void) {
    const volatile struct vcpu_time_info *t = &this_vcpu_info()->time;
    uint32_t version;
    uint64_t tsc, tsc_timestamp, system_time;
    uint32_t mul;
    int8_t shift;
    do {
        version = t->version;
        rmb();
        tsc_timestamp = t->tsc_timestamp;
        system_time = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        tsc = rdtsc();
        rmb();
    } while ((version & 1) || version != t->version);
    uint64_t delta = tsc - tsc_timestamp;
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}
