/* The guest's own selectors in use: data segment loads in kernel mode, user mode
   entered with cs/ss from the guest GDT, syscall back, and SEGBASE_GS_USER_SEL. */
#include "descriptors.h"

void test_selector_loads(void) {
    printk("selector loads\n");
    check_ex("mov 0x2b (user DS) to %ds", load_ds(SEL(GDT_UDATA, 3)), 0);
    check_eq("%ds", read_ds(), SEL(GDT_UDATA, 3));
    /* DPL 0 as written: loadable at CPL 3 only because Xen made it DPL 3. */
    check_ex("mov 0x18 (kernel DS, written DPL 0) to %ds", load_ds(SEL(GDT_KDATA, 0)), 0);
    check_eq("%ds", read_ds(), SEL(GDT_KDATA, 0));
    check_ex("mov 0x3b (written DPL 1) to %es", load_es(SEL(GDT_DPL1, 3)), 0);
    check_eq("%es", read_es(), SEL(GDT_DPL1, 3));
    /* Not present but DPL 0 (Xen left it alone): the privilege check fails before the
       present check (SDM: MOV to a segment register), so #GP, not #NP. */
    check_ex("mov 0x43 (not present, DPL 0) to %ds", load_ds(SEL(GDT_NP, 3)), EXINFO_SYM(GP, SEL(GDT_NP, 0)));
    check_ex("mov 0x9b (not present, DPL 3) to %ds", load_ds(SEL(GDT_NP3, 3)), EXINFO_SYM(NP, SEL(GDT_NP3, 0)));
    check_ex("mov 0x323 (empty slot) to %ds", load_ds(SEL(GDT_EMPTY, 3)), EXINFO_SYM(GP, SEL(GDT_EMPTY, 0)));
    check_ex("mov 0x5b (call gate) to %ds", load_ds(SEL(GDT_GATE, 3)), EXINFO_SYM(GP, SEL(GDT_GATE, 0)));
    check_ex("mov 0x6b (system type 0) to %ds", load_ds(SEL(GDT_SYS0, 3)), EXINFO_SYM(GP, SEL(GDT_SYS0, 0)));

    /* A data selector loaded into %fs brings its descriptor's base. */
    check_ex("mov 0x4b (base = &fs_target) to %fs", load_fs(SEL(GDT_FS, 3)), 0);
    check_eq("%fs:0 reads fs_target", read_fs_qword(0), fs_target);

    check_ex("null %ds", load_ds(0), 0);
    check_ex("null %es", load_es(0), 0);
    check_ex("null %fs", load_fs(0), 0);
    check_rc("set_segment_base(FS, 0)", hypercall_set_segment_base(SEGBASE_FS, 0), 0);
}

/* ---- user mode ---- */

static unsigned long user_segs(unsigned long unused) {
    (void)unused;
    return read_cs() | (unsigned long)read_ss() << 16 | (unsigned long)read_ds() << 32;
}

static unsigned long user_syscall(unsigned long x) {
    unsigned long rax = x;
    __asm__ volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
    return rax;
}

static unsigned long user_gs_sel(unsigned long unused) {
    (void)unused;
    return read_gs();
}

static unsigned long user_gs_read(unsigned long off) { return read_gs_qword(off); }

static volatile struct { unsigned int count; uint64_t cs, ss, rax; } sc;

static void on_syscall(struct cpu_regs *regs) {
    sc.count++;
    sc.cs = regs->cs;
    sc.ss = regs->ss;
    sc.rax = regs->rax;
    regs->rax += 1;
}

void test_user_selectors(void) {
    printk("user mode with guest selectors\n");
    if (!check_rc("trap-table entry for exec_user_sel", user_sel_init(), 0)) return;

    /* iret hypercall with cs 0x33 / ss 0x2b from the guest GDT (Linux's pair). */
    unsigned long r = exec_user_sel(user_segs, 0, SEL(GDT_UCODE64, 3), SEL(GDT_UDATA, 3));
    check_eq("user %cs", r & 0xffff, SEL(GDT_UCODE64, 3));
    check_eq("user %ss", (r >> 16) & 0xffff, SEL(GDT_UDATA, 3));
    check_eq("int frame cs from user mode", user_sel_ret_cs & 0xffff, SEL(GDT_UCODE64, 3));
    check_eq("int frame ss from user mode", user_sel_ret_ss & 0xffff, SEL(GDT_UDATA, 3));

    /* The kernel CS64/DS written with DPL 0 work as a user pair once Xen made them DPL 3. */
    r = exec_user_sel(user_segs, 0, SEL(GDT_KCODE, 3), SEL(GDT_KDATA, 3));
    check_eq("user %cs 0x13 (fixed-up kernel CS64)", r & 0xffff, SEL(GDT_KCODE, 3));
    check_eq("user %ss 0x1b (fixed-up kernel DS)", (r >> 16) & 0xffff, SEL(GDT_KDATA, 3));

    /* syscall from a guest-GDT code segment: Xen's frame says FLAT_USER_CS/SS anyway. */
    long rc = hypercall_register_callback(CALLBACKTYPE_syscall, CALLBACKF_mask_events, entry_syscall);
    if (check_rc("register the syscall callback", rc, 0)) {
        syscall_hook = on_syscall;
        r = exec_user_sel(user_syscall, 0x4321, SEL(GDT_UCODE64, 3), SEL(GDT_UDATA, 3));
        syscall_hook = NULL;
        check_eq("user syscall from cs 0x33 came back with rax + 1", r, 0x4322);
        check_eq("syscall callback ran", sc.count, 1);
        check_eq("syscall frame cs (lstar_enter pushes FLAT_KERNEL_CS64 = 0xe033)", sc.cs & 0xffff, FLAT_USER_CS);
        check_eq("syscall frame ss (lstar_enter pushes FLAT_KERNEL_SS = 0xe02b)", sc.ss & 0xffff, FLAT_USER_SS);
        /* VGCF_in_syscall returns through SYSRET, whose cs comes from MSR_STAR. */
        check_eq("user cs after the SYSRET-like return", user_sel_ret_cs & 0xffff, FLAT_USER_CS);
    }
}

void test_gs_user_sel(void) {
    printk("SEGBASE_GS_USER_SEL with a guest selector\n");
    gs_kernel_area[0] = 0x6b65726e656cUL;
    if (!check_rc("set_segment_base(GS_KERNEL)", hypercall_set_segment_base(SEGBASE_GS_KERNEL, (unsigned long)gs_kernel_area), 0))
        return;
    /* RPL 0 given: Xen loads it with RPL 3 (sel |= 3 for non-null selectors). */
    check_rc("set_segment_base(GS_USER_SEL, 0x50)", hypercall_set_segment_base(SEGBASE_GS_USER_SEL, SEL(GDT_GS, 0)), 0);
    check_eq("user %gs", exec_user(user_gs_sel, 0), SEL(GDT_GS, 3));
    check_eq("user %gs:0 = gs_target (the descriptor's base)", exec_user(user_gs_read, 0), gs_target);
    check_eq("kernel %gs:0 still the kernel GS base", read_gs_qword(0), gs_kernel_area[0]);

    check_rc("set_segment_base(GS_USER_SEL, 0)", hypercall_set_segment_base(SEGBASE_GS_USER_SEL, 0), 0);
    check_eq("user %gs after loading the null selector", exec_user(user_gs_sel, 0), 0);
    check_rc("set_segment_base(GS_USER, 0)", hypercall_set_segment_base(SEGBASE_GS_USER, 0), 0);
}
