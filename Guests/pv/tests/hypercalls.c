/* hypercalls: the 64-bit PV hypercall instruction ABI (xen-abi.md §2.7-2.8,
   arch-x86/xen-x86_64.h):
   - a raw `syscall` from guest kernel mode is a hypercall, with the same results as
     the hypercall page's stub;
   - the number is the whole of rax: anything >= NR_hypercalls (including values with
     upper bits set) and the unused numbers below it are -ENOSYS, through the page or raw;
   - rbx, rbp and r12-r15 survive a hypercall; after a bare `syscall` rcx holds the
     return address (SYSRET/IRET return with rcx = rip). */
#include "ktf.h"

const char test_title[] = "hypercall ABI: page vs raw syscall, unknown numbers, registers";

/* Through the page at a run-time slot. */
static long page_call2(unsigned long nr, unsigned long a1, unsigned long a2) {
    long r;
    register unsigned long d __asm__("rdi") = a1;
    register unsigned long s __asm__("rsi") = a2;
    void *slot = hypercall_page + nr * 32;
    __asm__ volatile("call *%[slot]" : "=a"(r), "+r"(d), "+r"(s) : [slot] "r"(slot) : "memory", "rdx", "r8", "r10");
    return r;
}

void test_main(void) {
    long v_page = hypercall_xen_version(XENVER_version, NULL);
    long v_raw = _raw_hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
    check_eq("xen_version: raw syscall = page", v_raw, v_page);
    check_eq("pagesize: raw", _raw_hypercall2(__HYPERVISOR_xen_version, XENVER_pagesize, 0), 4096);

    char extra_page[16], extra_raw[16];
    memset(extra_page, 1, sizeof(extra_page));
    memset(extra_raw, 2, sizeof(extra_raw));
    check_rc("extraversion: page", hypercall_xen_version(XENVER_extraversion, extra_page), 0);
    check_rc("extraversion: raw", _raw_hypercall2(__HYPERVISOR_xen_version, XENVER_extraversion, extra_raw), 0);
    check(memcmp(extra_page, extra_raw, 16) == 0, "extraversion differs between page and raw");

    /* Unused and out-of-range numbers. */
    static const unsigned long unknown[] = {
        11, 31, 38, 43, 47, 56, 63, 64, 127, 128, 255, 1000,
        0x100000000UL | __HYPERVISOR_xen_version, /* upper bits are part of the number */
        0x8000000000000000UL, ~0UL,
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(unknown); i++) {
        char what[64];
        snprintf(what, sizeof(what), "raw hypercall %#lx", unknown[i]);
        check_rc(what, _raw_hypercall2(unknown[i], 0, 0), -XEN_ENOSYS);
    }
    static const unsigned long unused_slots[] = { 11, 31, 38, 43, 47, 56, 63, 64, 127 };
    for (unsigned int i = 0; i < ARRAY_SIZE(unused_slots); i++) {
        char what[64];
        snprintf(what, sizeof(what), "page slot %lu", unused_slots[i]);
        check_rc(what, page_call2(unused_slots[i], 0, 0), -XEN_ENOSYS);
    }
    check_eq("page slot 17 (xen_version) at run time", page_call2(__HYPERVISOR_xen_version, XENVER_version, 0), v_page);

    /* Callee-saved registers across a bare syscall; rcx = return address after it.
       The out pointer travels on the stack: every other register is either a magic
       value or may be clobbered by (a debug) Xen. */
    unsigned long out[8], rax = __HYPERVISOR_xen_version;
    __asm__ volatile("push %%rbx\n\t"
                     "push %%rbp\n\t"
                     "push %%r12\n\t"
                     "push %%r13\n\t"
                     "push %%r14\n\t"
                     "push %%r15\n\t"
                     "push %[out]\n\t"
                     "movabs $0x1111111111111111, %%rbx\n\t"
                     "movabs $0x2222222222222222, %%rbp\n\t"
                     "movabs $0x3333333333333333, %%r12\n\t"
                     "movabs $0x4444444444444444, %%r13\n\t"
                     "movabs $0x5555555555555555, %%r14\n\t"
                     "movabs $0x6666666666666666, %%r15\n\t"
                     "xor %%edi, %%edi\n\t"
                     "xor %%esi, %%esi\n\t"
                     "syscall\n\t"
                     "1:\n\t"
                     "pop %%rsi\n\t"
                     "mov %%rbx, 0(%%rsi)\n\t"
                     "mov %%rbp, 8(%%rsi)\n\t"
                     "mov %%r12, 16(%%rsi)\n\t"
                     "mov %%r13, 24(%%rsi)\n\t"
                     "mov %%r14, 32(%%rsi)\n\t"
                     "mov %%r15, 40(%%rsi)\n\t"
                     "mov %%rcx, 48(%%rsi)\n\t"
                     "lea 1b(%%rip), %%rdx\n\t"
                     "mov %%rdx, 56(%%rsi)\n\t"
                     "pop %%r15\n\t"
                     "pop %%r14\n\t"
                     "pop %%r13\n\t"
                     "pop %%r12\n\t"
                     "pop %%rbp\n\t"
                     "pop %%rbx\n\t"
                     : "+a"(rax)
                     : [out] "r"(out)
                     : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
    check_eq("bare syscall: result", rax, v_page);
    check_eq("bare syscall: rcx = return address", out[6], out[7]);
    static const uint64_t want[6] = { 0x1111111111111111UL, 0x2222222222222222UL, 0x3333333333333333UL,
                                      0x4444444444444444UL, 0x5555555555555555UL, 0x6666666666666666UL };
    static const char *const names[6] = { "rbx", "rbp", "r12", "r13", "r14", "r15" };
    for (int i = 0; i < 6; i++) {
        char what[48];
        snprintf(what, sizeof(what), "bare syscall: %s preserved", names[i]);
        check_eq(what, out[i], want[i]);
    }
}
