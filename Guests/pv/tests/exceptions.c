/* exceptions: each exception a 64-bit PV kernel can raise reaches its trap-table handler
   (HYPERVISOR_set_trap_table) with Xen's bounce frame (xen-abi.md §5.2, create_bounce_frame
   in xen/arch/x86/x86_64/entry.S): right vector, error code and rip; cs with RPL cleared
   (0xe030: "indicate kernel context to guest"); the saved upcall mask in bits 32-39 of the
   cs word and folded into rflags.IF; the handler running with events masked (trap flag
   bit 2); and the iret hypercall restoring the mask from the frame's IF.

   Vectors: #DE (div by 0), #DB (icebp, and a TF single step), #BP (int3), #UD (ud2, and
   `into`, invalid in 64-bit mode), #NM (fpu_taskswitch then an SSE and an x87
   instruction; Xen clears the virtual TS when it delivers #NM), #GP (hlt, cli and in are not emulated for a PV kernel with
   IOPL 0; a non-canonical access; `int $n` through a DPL 0 gate gives #GP(n << 3 | 2),
   per do_general_protection/permit_softint), #PF (not present read/write). #OF and #BR
   do not exist in 64-bit mode; #AC, #MF, #XM, #MC and NMI are not provoked. */
#include "ktf.h"

const char test_title[] = "exceptions: vectors, error codes and bounce frames";

#define KERNEL_CS_RPL0 (FLAT_KERNEL_CS & ~3)
#define X86_EFLAGS_IF 0x200UL
#define X86_EFLAGS_TF 0x100UL

static void check_frame(const char *what, exinfo_t got, exinfo_t want, unsigned long want_rip) {
    char w[96];
    if (!check_ex(what, got, want)) return;
    snprintf(w, sizeof(w), "%s: frame rip", what);
    check_eq(w, last_fault.rip, want_rip);
    snprintf(w, sizeof(w), "%s: frame cs (kernel context has RPL 0)", what);
    check_eq(w, last_fault.cs & 0xffff, KERNEL_CS_RPL0);
    snprintf(w, sizeof(w), "%s: saved upcall mask (cs bits 32-39)", what);
    check_eq(w, (last_fault.cs >> 32) & 0xff, 1);
    snprintf(w, sizeof(w), "%s: frame rflags.IF (= !saved mask)", what);
    check_eq(w, last_fault.rflags & X86_EFLAGS_IF, 0);
    snprintf(w, sizeof(w), "%s: frame ss", what);
    check_eq(w, last_fault.ss & 0xffff, FLAT_KERNEL_SS);
    snprintf(w, sizeof(w), "%s: upcall mask inside the handler", what);
    check_eq(w, last_fault.mask_in_handler, 1);
}

static void test_de(void) {
    exinfo_t ex = 0;
    unsigned long rip;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "xor %%edx, %%edx\n\t"
                     "1: divl %[zero]\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : [zero] "r"(0) : "rdx", "memory");
    check_frame("#DE: div by zero", ex, EXINFO_SYM(DE, 0), rip);
}

static void test_db(void) {
    exinfo_t ex = 0;
    unsigned long rip;
    /* icebp (INT1) is a trap: the saved rip is after the instruction. */
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     ".byte 0xf1\n\t"
                     "1:\n\t" _ASM_EXTABLE(1b, 1b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#DB: icebp", ex, EXINFO_SYM(DB, 0), rip);

    /* Single step: popf sets TF, the nop after it completes, then #DB (rip after nop).
       The extable fixup clears TF; the trailing popf clears it should no #DB come. */
    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "pushf\n\t"
                     "orq $0x100, (%%rsp)\n\t"
                     "popf\n\t"
                     "nop\n\t"
                     "1:\n\t" _ASM_EXTABLE(1b, 1b)
                     "pushf\n\t"
                     "andq $~0x100, (%%rsp)\n\t"
                     "popf\n\t"
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory", "cc");
    check_frame("#DB: TF single step", ex, EXINFO_SYM(DB, 0), rip);
    if (ex) {
        /* The frame's rflags still has TF set: it is the interrupted context's. */
        check(last_fault.rflags & X86_EFLAGS_TF, "#DB: TF single step: frame rflags %#lx lacks TF",
              last_fault.rflags);
        long dr6 = hypercall_get_debugreg(6);
        check(dr6 >= 0 && (dr6 & 0x4000), "#DB: TF single step: DR6 %#lx lacks BS (bit 14)", dr6);
    }
}

static void test_bp(void) {
    exinfo_t ex = 0;
    unsigned long rip;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "int3\n\t"
                     "1:\n\t" _ASM_EXTABLE(1b, 1b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#BP: int3", ex, EXINFO_SYM(BP, 0), rip);
}

static void test_ud(void) {
    exinfo_t ex = 0;
    unsigned long rip, sp;
    /* rsp deliberately not 16-byte aligned: the frame records it as it was. */
    __asm__ volatile("sub $8, %%rsp\n\t"
                     "mov %%rsp, %[sp]\n\t"
                     "lea 1f(%%rip), %[rip]\n\t"
                     "1: ud2\n\t"
                     "2: add $8, %%rsp\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip), [sp] "=&r"(sp) : : "memory");
    check_frame("#UD: ud2", ex, EXINFO_SYM(UD, 0), rip);
    check_eq("#UD: ud2: frame rsp", last_fault.rsp, sp);

    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: .byte 0xce\n\t" /* into: invalid in 64-bit mode */
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#UD: into in 64-bit mode", ex, EXINFO_SYM(UD, 0), rip);
}

/* An x87 (fnop) or SSE (xorps, which only zeroes xmm0: the kit never uses SSE
   registers) instruction; both raise #NM while CR0.TS is set. */
static exinfo_t fpu_insn(bool sse, unsigned long *rip) {
    exinfo_t ex = 0;
    if (sse)
        __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                         "1: xorps %%xmm0, %%xmm0\n\t"
                         "2:\n\t" _ASM_EXTABLE(1b, 2b)
                         : "+a"(ex), [rip] "=&r"(*rip) : : "memory");
    else
        __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                         "1: fnop\n\t"
                         "2:\n\t" _ASM_EXTABLE(1b, 2b)
                         : "+a"(ex), [rip] "=&r"(*rip) : : "memory");
    return ex;
}

static void test_nm_with(bool sse) {
    const char *insn = sse ? "xorps" : "fnop";
    char what[96];
    unsigned long rip;
    check_rc("fpu_taskswitch(1)", hypercall_fpu_taskswitch(1), 0);
    snprintf(what, sizeof(what), "#NM: %s with the virtual CR0.TS set", insn);
    check_frame(what, fpu_insn(sse, &rip), EXINFO_SYM(NM, 0), rip);
    snprintf(what, sizeof(what), "%s after #NM (Xen cleared TS on delivery)", insn);
    check_ex(what, fpu_insn(sse, &rip), 0);

    check_rc("fpu_taskswitch(1)", hypercall_fpu_taskswitch(1), 0);
    check_rc("fpu_taskswitch(0)", hypercall_fpu_taskswitch(0), 0);
    snprintf(what, sizeof(what), "%s after fpu_taskswitch(0)", insn);
    check_ex(what, fpu_insn(sse, &rip), 0);

    /* clts is emulated for PV kernels (it clears the virtual TS). */
    exinfo_t ex = 0;
    check_rc("fpu_taskswitch(1)", hypercall_fpu_taskswitch(1), 0);
    __asm__ volatile("1: clts\n\t2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    check_ex("clts (emulated)", ex, 0);
    snprintf(what, sizeof(what), "%s after clts", insn);
    ex = fpu_insn(sse, &rip);
    check_ex(what, ex, 0);
    if (ex) hypercall_fpu_taskswitch(0);
}

/* CPUID leaf 1 through Xen's forced-emulation prefix (the PV policy Xen gives the guest). */
static uint32_t cpuid1_edx(void) {
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("ud2a; .ascii \"xen\"; cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return d;
}

static void test_nm(void) {
    /* #NM needs an FPU to fault on: only test the units CPUID reports. */
    uint32_t edx = cpuid1_edx();
    if (edx & (1u << 25)) test_nm_with(true);
    else printk("skip: CPUID reports no SSE; #NM with xorps not tested\n");
    if (edx & (1u << 0)) test_nm_with(false);
    else printk("skip: CPUID reports no x87 FPU; #NM with fnop not tested\n");
}

static void test_gp(void) {
    exinfo_t ex = 0;
    unsigned long rip;

    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: hlt\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#GP: hlt", ex, EXINFO_SYM(GP, 0), rip);

    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: cli\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#GP: cli with IOPL 0", ex, EXINFO_SYM(GP, 0), rip);

    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: inb $0x80, %%al\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#GP: in without I/O permission", ex, EXINFO_SYM(GP, 0), rip);

    ex = 0;
    unsigned long val = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: mov (%[p]), %[val]\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip), [val] "+r"(val)
                     : [p] "r"(0x8000000000000000UL) : "memory");
    check_frame("#GP: non-canonical read", ex, EXINFO_SYM(GP, 0), rip);

    /* int $0x31: the trap table has no entry (DPL 0), so Xen injects the #GP the
       hardware raised, error code = vector << 3 | 2 (IDT), rip at the int. */
    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: int $0x31\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("#GP: int $0x31 through a DPL 0 gate", ex, EXINFO_SYM(GP, (0x31 << 3) | 2), rip);

    /* int $0x30 has a DPL 3 entry: delivered to it, rip after the int. */
    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "int $0x30\n\t"
                     "1:\n\t" _ASM_EXTABLE(1b, 1b)
                     : "+a"(ex), [rip] "=&r"(rip) : : "memory");
    check_frame("int $0x30 through a DPL 3 gate", ex, EXINFO(KTF_VEC_SOFTINT, 0), rip);
}

static void test_pf(void) {
    volatile unsigned long *unmapped = (volatile unsigned long *)0x00007ff000000040UL;
    exinfo_t ex = 0;
    unsigned long rip, val = 0;

    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: mov (%[p]), %[val]\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip), [val] "+r"(val) : [p] "r"(unmapped) : "memory");
    check_frame("#PF: read of an unmapped address", ex, EXINFO_SYM(PF, 0), rip);
    check_eq("#PF: read: cr2 (vcpu_info.arch.cr2)", last_fault.cr2, (unsigned long)unmapped);

    ex = 0;
    __asm__ volatile("lea 1f(%%rip), %[rip]\n\t"
                     "1: movq $1, (%[p])\n\t"
                     "2:\n\t" _ASM_EXTABLE(1b, 2b)
                     : "+a"(ex), [rip] "=&r"(rip) : [p] "r"(unmapped + 1) : "memory");
    check_frame("#PF: write to an unmapped address", ex, EXINFO_SYM(PF, PFEC_write), rip);
    check_eq("#PF: write: cr2", last_fault.cr2, (unsigned long)(unmapped + 1));
}

/* With events unmasked the frame carries mask 0 / IF 1, the handler runs masked, and the
   iret hypercall unmasks again (upcall_mask = !frame.rflags.IF). No port is bound, so no
   event can arrive meanwhile. */
static void test_mask_round_trip(void) {
    struct vcpu_info *vi = this_vcpu_info();
    vi->evtchn_upcall_mask = 0;
    barrier();
    exinfo_t ex = 0;
    __asm__ volatile("1: ud2\n\t2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    uint8_t mask_after = vi->evtchn_upcall_mask;
    vi->evtchn_upcall_mask = 1;
    barrier();
    if (!check_ex("ud2 with events unmasked", ex, EXINFO_SYM(UD, 0))) return;
    check_eq("unmasked: saved upcall mask in the frame", (last_fault.cs >> 32) & 0xff, 0);
    check_eq("unmasked: frame rflags.IF", last_fault.rflags & X86_EFLAGS_IF, X86_EFLAGS_IF);
    check_eq("unmasked: upcall mask inside the handler (trap flag 4)", last_fault.mask_in_handler, 1);
    check_eq("unmasked: upcall mask after iret", mask_after, 0);
}

/* The same recovery through a raw `syscall` iret instead of the hypercall page. */
static void test_raw_iret(void) {
    ktf_raw_iret = 1;
    exinfo_t ex = 0;
    __asm__ volatile("1: ud2\n\t2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    ktf_raw_iret = 0;
    check_ex("ud2 returning through a raw iret", ex, EXINFO_SYM(UD, 0));
}

void test_main(void) {
    printk("#OF and #BR: not raised in 64-bit mode (into/bound are invalid); skipped\n");
    test_de();
    test_db();
    test_bp();
    test_ud();
    test_nm();
    test_gp();
    test_pf();
    test_mask_round_trip();
    test_raw_iret();
    printk("%u exceptions handled\n", last_fault.count);
}
