/* bench-xen_version: the cheapest hypercall in a loop, for the host to time.
   N xen_version(XENVER_version) calls through the hypercall page, then N raw `syscall`s;
   prints the guest-side system time per call and SUCCESS. */
#include "ktf.h"

const char test_title[] = "bench: xen_version(XENVER_version) loop";

#define N 100000UL

void test_main(void) {
    long want = hypercall_xen_version(XENVER_version, NULL);
    uint64_t t0 = xen_system_time();
    for (unsigned long i = 0; i < N; i++) {
        long v = hypercall_xen_version(XENVER_version, NULL);
        if (v != want) {
            xtf_failure("Fail: call %lu returned %ld, expected %ld\n", i, v, want);
            return;
        }
    }
    uint64_t t1 = xen_system_time();
    for (unsigned long i = 0; i < N; i++) {
        long v = _raw_hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
        if (v != want) {
            xtf_failure("Fail: raw call %lu returned %ld, expected %ld\n", i, v, want);
            return;
        }
    }
    uint64_t t2 = xen_system_time();
    printk("%lu xen_version calls via the hypercall page: %lu ns (%lu ns/call)\n", N, t1 - t0, (t1 - t0) / N);
    printk("%lu xen_version calls via raw syscall: %lu ns (%lu ns/call)\n", N, t2 - t1, (t2 - t1) / N);
}
