/* An iret hypercall whose selectors cannot be loaded. do_iret (pv/iret.c) stores the
   frame (cs and ss with RPL forced to 3; user mode if the frame's cs has RPL 3) and
   the return to the guest (restore_all_guest's iretq) faults; Xen's
   exception_with_ints_disabled re-dispatches that fault "as if this exception occurred
   in guest context" (x86_64/entry.S), so the guest's #GP handler gets #GP(selector)
   with the iret target as rip. Xen before 4.9 used the failsafe callback for this
   instead; iret_raw_failsafe_entry catches that case so the kernel does not hang. */
#include "descriptors.h"

static volatile struct { unsigned int count; exinfo_t ex; uint64_t rip, cs; } gp;

static bool iret_gp_hook(struct cpu_regs *regs) {
    if (regs->rip != (unsigned long)iret_raw_landing) return false;
    gp.count++;
    gp.ex = EXINFO(regs->entry_vector, regs->error_code);
    gp.rip = regs->rip;
    gp.cs = regs->cs;
    /* Resume in kernel mode on iret_raw's stack (r12), at the landing. */
    regs->cs = (regs->cs & ~0xffffUL) | (FLAT_KERNEL_CS & ~3);
    regs->ss = FLAT_KERNEL_SS;
    regs->rsp = regs->r12;
    return true;
}

static void probe(const char *what, uint64_t cs, uint64_t ss, exinfo_t want_ex, uint64_t want_cs) {
    char w[112];
    memset((void *)&gp, 0, sizeof(gp));
    iret_raw_failsafe_hits = 0;
    exception_hook = iret_gp_hook;
    iret_raw(cs, ss);
    exception_hook = NULL;
    if (iret_raw_failsafe_hits) {
        xtf_failure("Fail: %s: the failsafe callback ran (frame cs %#lx): Xen before 4.9 did that; "
                    "current Xen bounces the iretq fault to the guest as #GP(selector)\n",
                    what, (unsigned long)(iret_raw_failsafe_cs & 0xffff));
        return;
    }
    snprintf(w, sizeof(w), "%s: exception", what);
    if (!check_ex(w, gp.count ? gp.ex : 0, want_ex) || !want_ex) return;
    snprintf(w, sizeof(w), "%s: frame rip = the iret target", what);
    check_eq(w, gp.rip, (unsigned long)iret_raw_landing);
    snprintf(w, sizeof(w), "%s: frame cs", what);
    check_eq(w, gp.cs & 0xffff, want_cs);
}

void test_iret_faults(void) {
    printk("iret hypercall with selectors that do not load (no GDT)\n");
    long rc = hypercall_register_callback(CALLBACKTYPE_failsafe, CALLBACKF_mask_events, iret_raw_failsafe_entry);
    if (!check_rc("register a failsafe callback", rc, 0)) return;

    probe("iret to kernel mode with Xen's flat cs/ss", FLAT_KERNEL_CS & ~3, FLAT_KERNEL_SS, 0, 0);
    /* Kernel context: the bounce frame's cs has its RPL cleared. */
    probe("iret to kernel mode with cs 0x10", SEL(GDT_KCODE, 0), FLAT_KERNEL_SS,
          EXINFO_SYM(GP, SEL(GDT_KCODE, 0)), SEL(GDT_KCODE, 0));
    /* cs RPL 3: user mode; the fault is bounced from user mode (cs kept as loaded). */
    probe("iret to user mode with cs 0x33", SEL(GDT_UCODE64, 3), SEL(GDT_UDATA, 3),
          EXINFO_SYM(GP, SEL(GDT_UCODE64, 0)), SEL(GDT_UCODE64, 3));
    probe("iret to user mode with FLAT_USER_CS and ss 0x2b", FLAT_USER_CS, SEL(GDT_UDATA, 3),
          EXINFO_SYM(GP, SEL(GDT_UDATA, 0)), FLAT_USER_CS);

    check_rc("restore the kit's failsafe callback",
             hypercall_register_callback(CALLBACKTYPE_failsafe, CALLBACKF_mask_events, entry_failsafe), 0);
}
