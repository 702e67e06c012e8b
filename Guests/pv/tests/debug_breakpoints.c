/* debug_breakpoints: a data breakpoint set with set_debugreg fires as on hardware.
   Xen loads the guest's DR0-DR3/DR7 into the CPU for a PV vCPU (pv/misc-hypercalls.c
   set_debugreg, activate_debugregs), so a write to the watched address raises #DB (a trap,
   after the write) with DR6.B0 set, bounced through the trap table (do_debug). */
#include "ktf.h"

const char test_title[] = "debug_breakpoints: DR0/DR7 data breakpoint";

static volatile uint32_t watched;

/* #DB is a trap: the fixup label is the address after the write (README: trap-like
   exceptions). */
static exinfo_t write_watched(void) {
    exinfo_t ex = 0;
    __asm__ volatile("movl $1, %[w]\n\t1:\n\t" _ASM_EXTABLE(1b, 1b) : "+a"(ex), [w] "=m"(watched) : : "memory");
    return ex;
}

void test_main(void) {
    unsigned long addr = (unsigned long)&watched;
    if (!check_rc("set_debugreg(0, &watched)", hypercall_set_debugreg(0, addr), 0)) return;
    /* L0, RW0 = write, LEN0 = 4 bytes. */
    unsigned long dr7 = 1 | (1UL << 16) | (3UL << 18);
    if (check_rc("set_debugreg(7, L0 write 4 bytes)", hypercall_set_debugreg(7, dr7), 0)) {
        check_eq("get_debugreg(7)", hypercall_get_debugreg(7), dr7 | 0x400);
        hypercall_set_debugreg(6, 0);
        exinfo_t ex = write_watched();
        check_rc("disarm: set_debugreg(7, 0)", hypercall_set_debugreg(7, 0), 0);
        if (check_ex("write to the watched variable", ex, EXINFO_SYM(DB, 0)))
            check(hypercall_get_debugreg(6) & 1, "DR6.B0 not set after the breakpoint: %#lx", hypercall_get_debugreg(6));
        check_ex("write with DR7 clear", write_watched(), 0);
    }
    check_rc("set_debugreg(0, 0)", hypercall_set_debugreg(0, 0), 0);
}
