/* Exceptions: the trap table (HYPERVISOR_set_trap_table), the C dispatcher behind the
   entry stubs, and the exception table that lets a test run an instruction expected to
   fault (XTF's extable/exinfo). */
#include "ktf.h"

#define STUB(n) void entry_exc##n(void);
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7) STUB(8) STUB(9) STUB(10)
STUB(11) STUB(12) STUB(13) STUB(14) STUB(16) STUB(17) STUB(18) STUB(19) STUB(48)
#undef STUB
void entry_ret2kern(void);

/* flags: bits 1:0 = DPL for `int n`, bit 2 = mask events on entry (like an interrupt
   gate). #BP/#OF and the kit's software interrupts are DPL 3 so user code may use them;
   Xen needs DPL >= 1 for `int n` from guest kernel mode (permit_softint). */
#define TRAP(vec, dpl, fn) \
    { (vec), TI_SET_DPL(dpl) | TI_MASK_EVENTS, FLAT_KERNEL_CS, (unsigned long)(fn) }
const struct trap_info ktf_trap_table[] = {
    TRAP(X86_EXC_DE, 0, entry_exc0),
    TRAP(X86_EXC_DB, 0, entry_exc1),
    TRAP(X86_EXC_NMI, 0, entry_exc2),
    TRAP(X86_EXC_BP, 3, entry_exc3),
    TRAP(X86_EXC_OF, 3, entry_exc4),
    TRAP(X86_EXC_BR, 0, entry_exc5),
    TRAP(X86_EXC_UD, 0, entry_exc6),
    TRAP(X86_EXC_NM, 0, entry_exc7),
    TRAP(X86_EXC_DF, 0, entry_exc8),
    TRAP(9, 0, entry_exc9),
    TRAP(X86_EXC_TS, 0, entry_exc10),
    TRAP(X86_EXC_NP, 0, entry_exc11),
    TRAP(X86_EXC_SS, 0, entry_exc12),
    TRAP(X86_EXC_GP, 0, entry_exc13),
    TRAP(X86_EXC_PF, 0, entry_exc14),
    TRAP(X86_EXC_MF, 0, entry_exc16),
    TRAP(X86_EXC_AC, 0, entry_exc17),
    TRAP(X86_EXC_MC, 0, entry_exc18),
    TRAP(X86_EXC_XM, 0, entry_exc19),
    TRAP(KTF_VEC_RET2KERN, 3, entry_ret2kern),
    TRAP(KTF_VEC_SOFTINT, 3, entry_exc48),
    { 0, 0, 0, 0 }, /* terminator: address 0 */
};

volatile struct fault_record last_fault;
bool (*exception_hook)(struct cpu_regs *regs);
void (*syscall_hook)(struct cpu_regs *regs);
volatile uint8_t ktf_raw_iret;

struct extable_entry {
    unsigned long fault;
    unsigned long fixup;
};
extern const struct extable_entry __start_ex_table[], __stop_ex_table[];

void traps_init(void) {
    long rc = hypercall_set_trap_table(ktf_trap_table);
    if (rc) panic("set_trap_table failed: %ld (%s)\n", rc, xen_errno_name(rc));

    /* The stack Xen switches to when an exception or event interrupts user mode. */
    rc = hypercall_stack_switch(FLAT_KERNEL_SS, cpu_trap_stack_top(0));
    if (rc) panic("stack_switch failed: %ld (%s)\n", rc, xen_errno_name(rc));

    /* User mode needs a user top-level table; like XTF, share the kernel's L4. */
    struct mmuext_op op = { .cmd = MMUEXT_NEW_USER_BASEPTR };
    op.arg1.mfn = virt_to_mfn((void *)start_info->pt_base);
    rc = hypercall_mmuext_op(&op, 1, NULL, DOMID_SELF);
    if (rc) panic("mmuext_op(NEW_USER_BASEPTR) failed: %ld (%s)\n", rc, xen_errno_name(rc));
}

static const char *const vector_names[32] = {
    "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP",
    "PF", "15", "MF", "AC", "MC", "XM", "VE", "CP",
};

const char *exinfo_str(exinfo_t e, char buf[24]) {
    if (!(e & EXINFO_VALID)) return "none";
    unsigned int vec = exinfo_vec(e);
    const char *name = vec < 32 && vector_names[vec] ? vector_names[vec] : NULL;
    bool has_ec = vec < 32 && ((1u << vec) & X86_EXC_HAVE_EC);
    if (name && has_ec)
        snprintf(buf, 24, "#%s[%04x]", name, exinfo_ec(e));
    else if (name)
        snprintf(buf, 24, "#%s", name);
    else
        snprintf(buf, 24, "vec 0x%x[%x]", vec, exinfo_ec(e));
    return buf;
}

bool ktf_check_ex(const char *file, int line, const char *what, exinfo_t got, exinfo_t want) {
    if (got == want) return true;
    char g[24], w[24];
    xtf_failure("Fail: %s:%d: %s: expected %s, got %s\n", ktf_basename(file), line, what, exinfo_str(want, w),
                exinfo_str(got, g));
    return false;
}

static void dump_regs(const struct cpu_regs *r) {
    printk("  rip %016lx cs %04lx mask %lx rflags %08lx rsp %016lx ss %04lx\n", r->rip,
           r->cs & 0xffff, (r->cs >> 32) & 0xff, r->rflags, r->rsp, r->ss & 0xffff);
    printk("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", r->rax, r->rbx, r->rcx, r->rdx);
    printk("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", r->rsi, r->rdi, r->rbp, r->r8);
}

void do_exception(struct cpu_regs *regs) {
    unsigned int vec = regs->entry_vector;
    uint64_t cr2 = 0;
    /* Xen writes the faulting address to vcpu_info.arch.cr2 before delivering #PF. */
    if (vec == X86_EXC_PF && shared_info) cr2 = this_vcpu_info()->arch.cr2;

    last_fault.vector = vec;
    last_fault.error_code = regs->error_code;
    last_fault.rip = regs->rip;
    last_fault.cs = regs->cs;
    last_fault.rflags = regs->rflags;
    last_fault.rsp = regs->rsp;
    last_fault.ss = regs->ss;
    last_fault.cr2 = cr2;
    last_fault.mask_in_handler = shared_info ? this_vcpu_info()->evtchn_upcall_mask : 0xff;
    last_fault.count++;

    if (exception_hook && exception_hook(regs)) return;

    for (const struct extable_entry *e = __start_ex_table; e < __stop_ex_table; e++) {
        if (e->fault == regs->rip) {
            regs->rax = EXINFO(vec, regs->error_code);
            regs->rip = e->fixup;
            regs->rflags &= ~0x100UL; /* TF */
            return;
        }
    }

    char buf[24];
    printk("Unhandled exception %s (vector %u, error code %#x) at rip %p, cr2 %p\n",
           exinfo_str(EXINFO(vec, regs->error_code), buf), vec, regs->error_code,
           (void *)regs->rip, (void *)cr2);
    dump_regs(regs);
    panic("unhandled exception\n");
}

void do_syscall(struct cpu_regs *regs) {
    if (syscall_hook) {
        syscall_hook(regs);
        return;
    }
    printk("Unexpected user-mode syscall, rax %#lx, from rip %p\n", regs->rax, (void *)regs->rip);
    dump_regs(regs);
    panic("unexpected syscall\n");
}

struct failsafe_frame {
    uint64_t ds, es, fs, gs, rip, cs, rflags, rsp, ss;
};

__noreturn void do_failsafe(const struct failsafe_frame *f) {
    printk("Failsafe callback: ds %lx es %lx fs %lx gs %lx rip %p cs %lx\n", f->ds, f->es, f->fs,
           f->gs, (void *)f->rip, f->cs);
    panic("failsafe callback\n");
}
