/* user_mode: guest user mode of a 64-bit PV domain (xen-abi.md §5.1-5.3).
   - A separate user top-level table: a copy of the kernel L4's guest slots, pinned as
     an L4 and installed with MMUEXT_NEW_USER_BASEPTR.
   - iret hypercall with cs RPL 3 enters user mode; `int $0x20` (DPL 3) comes back.
   - `syscall` in user mode is not a hypercall: Xen bounces it to the syscall callback
     (CALLBACKTYPE_syscall) on the stack_switch stack, with rip = the user's rcx, cs =
     0xe033 and rflags = the user's r11; returning with VGCF_in_syscall behaves like
     SYSRET (the user sees rcx = return rip).
   - int3 in user mode reaches the #BP trap-table entry (DPL 3) with the user's cs
     (RPL 3) on the kernel stack; #PF from user mode has the U/S error-code bit set.
   - The GS base is swapped on every kernel/user transition (SEGBASE_GS_USER vs
     SEGBASE_GS_KERNEL of set_segment_base). */
#include "ktf.h"

const char test_title[] = "user mode: user L4, iret to CPL3, syscall and traps back";

#define SEGBASE_GS_USER   1
#define SEGBASE_GS_KERNEL 2

static uint64_t user_l4[512] __page_aligned_bss;
static volatile uint64_t gs_kernel_area[8] __aligned(64);
static volatile uint64_t gs_user_area[8] __aligned(64);

/* ---- code that runs in user mode: no hypercalls, no printk ---- */

static unsigned long user_add_one(unsigned long x) { return x + 1; }

static unsigned long user_syscall(unsigned long x) {
    unsigned long rax = x, rcx, after;
    __asm__ volatile("lea 1f(%%rip), %[after]\n\t"
                     "syscall\n\t"
                     "1:\n\t"
                     : "+a"(rax), "=c"(rcx), [after] "=&r"(after) : : "r11", "memory");
    /* SYSRET semantics: rcx holds the return address. */
    return rcx == after ? rax : 0xbad0000000000000UL | rcx;
}

static unsigned long user_int3(unsigned long unused) {
    (void)unused;
    exinfo_t ex = 0;
    __asm__ volatile("int3\n\t1:\n\t" _ASM_EXTABLE(1b, 1b) : "+a"(ex) : : "memory");
    return ex;
}

static unsigned long user_read(unsigned long addr) {
    return probe_read((const void *)addr);
}

static unsigned long user_read_gs(unsigned long unused) {
    (void)unused;
    unsigned long v;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(v));
    return v;
}

/* ---- kernel side ---- */

static volatile struct {
    unsigned int count;
    uint64_t rax, rip, rcx, r11, cs, rflags, rsp, ss;
    unsigned long frame;
} sc;

static void on_syscall(struct cpu_regs *regs) {
    sc.count++;
    sc.rax = regs->rax;
    sc.rip = regs->rip;
    sc.rcx = regs->rcx;
    sc.r11 = regs->r11;
    sc.cs = regs->cs;
    sc.rflags = regs->rflags;
    sc.rsp = regs->rsp;
    sc.ss = regs->ss;
    sc.frame = (unsigned long)regs;
    regs->rax += 1;
}

static bool on_trap_stack(unsigned long p) {
    unsigned long top = (unsigned long)cpu_trap_stack_top(0);
    return p < top && p >= top - KTF_STACK_BLOCK / 2;
}

static bool setup_user_l4(void) {
    const uint64_t *l4 = (const uint64_t *)start_info->pt_base;
    for (int i = 0; i < 512; i++) user_l4[i] = (i >= 256 && i < 272) ? 0 : l4[i];
    unsigned long mfn = virt_to_mfn(user_l4);
    uint64_t ro = ((uint64_t)mfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_ACCESSED;
    if (!check_rc("map the user L4 read-only", hypercall_update_va_mapping((unsigned long)user_l4, ro, UVMF_INVLPG), 0))
        return false;
    struct mmuext_op ops[2] = { { .cmd = MMUEXT_PIN_L4_TABLE }, { .cmd = MMUEXT_NEW_USER_BASEPTR } };
    ops[0].arg1.mfn = mfn;
    ops[1].arg1.mfn = mfn;
    unsigned int done = 0;
    long rc = hypercall_mmuext_op(ops, 2, &done, DOMID_SELF);
    check_rc("pin the user L4 and make it the user base pointer", rc, 0);
    check_eq("mmuext ops done", done, 2);
    return rc == 0;
}

static void teardown_user_l4(void) {
    unsigned long mfn = virt_to_mfn(user_l4);
    struct mmuext_op ops[2] = { { .cmd = MMUEXT_NEW_USER_BASEPTR }, { .cmd = MMUEXT_UNPIN_TABLE } };
    ops[0].arg1.mfn = virt_to_mfn((void *)start_info->pt_base);
    ops[1].arg1.mfn = mfn;
    check_rc("restore the kernel L4 as user base pointer and unpin", hypercall_mmuext_op(ops, 2, NULL, DOMID_SELF), 0);
    uint64_t rw = ((uint64_t)mfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    check_rc("user L4 page writable again", hypercall_update_va_mapping((unsigned long)user_l4, rw, UVMF_INVLPG), 0);
}

void test_main(void) {
    if (!setup_user_l4()) return;

    /* 1. iret to user mode and back. */
    check_eq("user mode: fn(41)", exec_user(user_add_one, 41), 42);
    check_eq("kernel mode again: events masked", this_vcpu_info()->evtchn_upcall_mask, 1);

    /* 2. syscall from user mode. */
    long rc = hypercall_register_callback(CALLBACKTYPE_syscall, CALLBACKF_mask_events, entry_syscall);
    if (check_rc("register the syscall callback", rc, 0)) {
        syscall_hook = on_syscall;
        unsigned long r = exec_user(user_syscall, 0x1234);
        syscall_hook = NULL;
        check_eq("user syscall: result (rax + 1, rcx = return rip)", r, 0x1235);
        check_eq("user syscall: callback ran once", sc.count, 1);
        check_eq("user syscall: rax seen by the callback", sc.rax, 0x1234);
        check_eq("user syscall: frame rip = user rcx", sc.rip, sc.rcx);
        check_eq("user syscall: frame cs", sc.cs & 0xffff, FLAT_USER_CS);
        check_eq("user syscall: frame rflags = user r11", sc.rflags, sc.r11);
        check_eq("user syscall: frame ss", sc.ss & 0xffff, FLAT_USER_SS);
        check(sc.rsp > (unsigned long)user_stack && sc.rsp <= (unsigned long)user_stack + sizeof(user_stack),
              "user syscall: frame rsp %#lx is not on the user stack", sc.rsp);
        check(on_trap_stack(sc.frame), "user syscall: handler frame %#lx is not on the stack_switch stack",
              sc.frame);
    }

    /* 3. int3 from user mode. */
    exinfo_t ex = exec_user(user_int3, 0);
    if (check_ex("user int3", ex, EXINFO_SYM(BP, 0))) {
        check_eq("user int3: frame cs keeps RPL 3", last_fault.cs & 0xffff, FLAT_USER_CS);
        check(last_fault.rsp > (unsigned long)user_stack &&
                  last_fault.rsp <= (unsigned long)user_stack + sizeof(user_stack),
              "user int3: frame rsp %#lx is not on the user stack", last_fault.rsp);
        check_eq("user int3: saved upcall mask (user mode runs unmasked)", (last_fault.cs >> 32) & 0xff, 0);
    }

    /* 4. #PF from user mode: the U/S bit. */
    unsigned long hole = 0x00007ff000000000UL;
    ex = exec_user(user_read, hole);
    check_ex("user read of an unmapped address", ex, EXINFO_SYM(PF, PFEC_user));
    check_eq("user #PF: cr2", last_fault.cr2, hole);
    ex = exec_user(user_read, 0x8000000000000000UL);
    check_ex("user read of a non-canonical address", ex, EXINFO_SYM(GP, 0));

    /* 5. GS base swap between kernel and user mode. */
    gs_kernel_area[0] = 0x6b65726e656cUL; /* "kernel" */
    gs_user_area[0] = 0x75736572UL;       /* "user" */
    long r1 = hypercall_set_segment_base(SEGBASE_GS_KERNEL, (unsigned long)gs_kernel_area);
    long r2 = hypercall_set_segment_base(SEGBASE_GS_USER, (unsigned long)gs_user_area);
    if (check_rc("set_segment_base(GS_KERNEL)", r1, 0) && check_rc("set_segment_base(GS_USER)", r2, 0)) {
        unsigned long k;
        __asm__ volatile("mov %%gs:0, %0" : "=r"(k));
        check_eq("kernel %gs:0", k, gs_kernel_area[0]);
        check_eq("user %gs:0", exec_user(user_read_gs, 0), gs_user_area[0]);
        __asm__ volatile("mov %%gs:0, %0" : "=r"(k));
        check_eq("kernel %gs:0 after the round trip", k, gs_kernel_area[0]);
    }
    check_rc("set_segment_base(GS_KERNEL, non-canonical)",
             hypercall_set_segment_base(SEGBASE_GS_KERNEL, 0x8000000000000000UL), -XEN_EINVAL);

    teardown_user_l4();
}
