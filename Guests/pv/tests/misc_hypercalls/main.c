/* misc_hypercalls: the small PV64 hypercalls, with Xen's rules and errnos:
   multicall (multicall.c), vm_assist / set_segment_base / set_debugreg / get_debugreg
   (cpu_state.c), physdev_op set_iopl and emulated `in` (iopl.c), and here:
   - do_stack_switch (pv/misc-hypercalls.c) always succeeds; the next bounce from user
     mode lands at the new kernel_sp, rounded down to 16 bytes (create_bounce_frame);
   - do_fpu_taskswitch: any non-zero `set` sets the virtual CR0.TS (#NM on the next FPU
     instruction), 0 clears it;
   - do_sched_op_compat (arch/x86/compat.c): yield and block as sched_op (block enables
     events: vcpu_block_enable_events), shutdown, anything else -ENOSYS;
   - do_callback_op (pv/callback.c): the address must be canonical (-EINVAL, checked
     before the type), unknown types -ENOSYS, only the NMI callback can be unregistered
     (-EINVAL for the others), unknown cmd -ENOSYS, unreadable argument -EFAULT;
     do_set_callbacks ignores every error and returns 0.
   The failsafe callback of a 64-bit guest runs only when load_segments fails during a
   context switch, which a single domain cannot provoke portably (see the descriptors
   kernel for iret with bad selectors). */
#include "misc.h"

const char test_title[] = "multicall, vm_assist, stack_switch, segment bases, debug registers, iopl, sched_op_compat, callbacks";

static uint8_t alt_stack[8192] __aligned(16);
static volatile unsigned long trap_frame_top;

static bool record_frame(struct cpu_regs *regs) {
    if (regs->entry_vector == X86_EXC_BP) trap_frame_top = (unsigned long)(&regs->ss + 1);
    return false; /* the extable does the rest */
}

static unsigned long user_int3(unsigned long unused) {
    (void)unused;
    exinfo_t ex = 0;
    __asm__ volatile("int3\n\t1:\n\t" _ASM_EXTABLE(1b, 1b) : "+a"(ex) : : "memory");
    return ex;
}

static void test_stack_switch(void) {
    printk("stack_switch\n");
    unsigned long top = (unsigned long)alt_stack + sizeof(alt_stack);
    /* An unaligned sp: Xen builds the frame below it rounded down to 16 bytes. */
    check_rc("stack_switch(FLAT_KERNEL_SS, new stack - 8)", hypercall_stack_switch(FLAT_KERNEL_SS, (void *)(top - 8)), 0);
    trap_frame_top = 0;
    exception_hook = record_frame;
    exinfo_t ex = exec_user(user_int3, 0);
    exception_hook = NULL;
    check_ex("int3 from user mode", ex, EXINFO_SYM(BP, 0));
    check_eq("the bounce frame ends at the new stack top rounded down to 16", trap_frame_top, top - 16);
    check_rc("stack_switch with an RPL-0 selector", hypercall_stack_switch(FLAT_KERNEL_SS & ~3, cpu_trap_stack_top(0)), 0);
    trap_frame_top = 0;
    exception_hook = record_frame;
    ex = exec_user(user_int3, 0);
    exception_hook = NULL;
    check_ex("int3 from user mode again", ex, EXINFO_SYM(BP, 0));
    check_eq("the frame is back on the kit's trap stack", trap_frame_top, (unsigned long)cpu_trap_stack_top(0));
}

/* An SSE (xorps) or x87 (fnop) instruction, whichever CPUID reports. */
static exinfo_t fpu_insn(bool sse) {
    exinfo_t ex = 0;
    if (sse)
        __asm__ volatile("1: xorps %%xmm0, %%xmm0\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    else
        __asm__ volatile("1: fnop\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    return ex;
}

/* CPUID leaf 1 edx through Xen's forced-emulation prefix (the guest's PV policy). */
static uint32_t cpuid1_edx(void) {
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("ud2a; .ascii \"xen\"; cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return d;
}

static void test_fpu_taskswitch(void) {
    printk("fpu_taskswitch\n");
    uint32_t edx = cpuid1_edx();
    bool sse = edx & (1u << 25), x87 = edx & 1u;
    check_rc("fpu_taskswitch(2): any non-zero sets TS", hypercall_fpu_taskswitch(2), 0);
    if (sse || x87) {
        check_ex("FPU instruction with TS set", fpu_insn(sse), EXINFO_SYM(NM, 0));
        check_ex("FPU instruction after the #NM (Xen cleared TS)", fpu_insn(sse), 0);
    } else {
        printk("skip: CPUID reports neither SSE nor x87; #NM not tested\n");
    }
    check_rc("fpu_taskswitch(-1)", hypercall_fpu_taskswitch(-1), 0);
    check_rc("fpu_taskswitch(0)", hypercall_fpu_taskswitch(0), 0);
    if (sse || x87) check_ex("FPU instruction with TS clear", fpu_insn(sse), 0);
}

static volatile unsigned int timer_hits;
static void on_timer(evtchn_port_t port, struct cpu_regs *regs) {
    (void)port;
    (void)regs;
    timer_hits++;
}

static void test_sched_op_compat(void) {
    printk("sched_op_compat\n");
    check_rc("sched_op_compat(yield)", hypercall_sched_op_compat(SCHEDOP_yield, 0), 0);
    check_rc("sched_op_compat(poll)", hypercall_sched_op_compat(SCHEDOP_poll, 0), -XEN_ENOSYS);
    check_rc("sched_op_compat(remote_shutdown)", hypercall_sched_op_compat(SCHEDOP_remote_shutdown, 0), -XEN_ENOSYS);
    check_rc("sched_op_compat(shutdown_code)", hypercall_sched_op_compat(SCHEDOP_shutdown_code, 0), -XEN_ENOSYS);
    check_rc("sched_op_compat(99)", hypercall_sched_op_compat(99, 0), -XEN_ENOSYS);

    /* block: wakes on the timer and returns with events unmasked. */
    evtchn_port_t port;
    if (!check_rc("bind VIRQ_TIMER", evtchn_bind_virq(VIRQ_TIMER, 0, &port), 0)) return;
    evtchn_set_handler(port, on_timer);
    local_events_disable();
    check_rc("set_timer_op(now + 1 ms)", hypercall_set_timer_op(xen_system_time() + 1000000), 0);
    long rc = hypercall_sched_op_compat(SCHEDOP_block, 0);
    uint8_t mask_after = this_vcpu_info()->evtchn_upcall_mask;
    local_events_disable();
    check_rc("sched_op_compat(block)", rc, 0);
    check(timer_hits >= 1, "sched_op_compat(block) returned without the timer event being delivered");
    check_eq("upcall mask after block (vcpu_block_enable_events)", mask_after, 0);
    evtchn_close(port);
}

static void test_callback_op(void) {
    printk("callback_op and set_callbacks\n");
    struct callback_register cb = { .type = 3, .flags = CALLBACKF_mask_events, .address = (unsigned long)entry_syscall };
    check_rc("register type 3 (sysenter_deprecated)", hypercall_callback_op(CALLBACKOP_register, &cb), -XEN_ENOSYS);
    cb.type = 6;
    check_rc("register type 6", hypercall_callback_op(CALLBACKOP_register, &cb), -XEN_ENOSYS);
    cb.type = 99;
    cb.address = NONCANON;
    check_rc("register type 99 at a non-canonical address", hypercall_callback_op(CALLBACKOP_register, &cb), -XEN_EINVAL);
    cb.type = CALLBACKTYPE_nmi;
    check_rc("register nmi at a non-canonical address", hypercall_callback_op(CALLBACKOP_register, &cb), -XEN_EINVAL);
    cb.address = (unsigned long)entry_failsafe;
    check_rc("register nmi", hypercall_callback_op(CALLBACKOP_register, &cb), 0);
    struct callback_unregister un = { .type = CALLBACKTYPE_nmi };
    check_rc("unregister nmi", hypercall_callback_op(CALLBACKOP_unregister, &un), 0);
    static const uint16_t fixed[] = { CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall,
                                      CALLBACKTYPE_syscall32, CALLBACKTYPE_sysenter };
    for (unsigned int i = 0; i < ARRAY_SIZE(fixed); i++) {
        char w[64];
        un.type = fixed[i];
        snprintf(w, sizeof(w), "unregister type %u", fixed[i]);
        check_rc(w, hypercall_callback_op(CALLBACKOP_unregister, &un), -XEN_EINVAL);
    }
    un.type = 3;
    check_rc("unregister type 3", hypercall_callback_op(CALLBACKOP_unregister, &un), -XEN_ENOSYS);
    un.type = 99;
    check_rc("unregister type 99", hypercall_callback_op(CALLBACKOP_unregister, &un), -XEN_ENOSYS);
    cb.type = CALLBACKTYPE_syscall32;
    check_rc("register syscall32", hypercall_callback_op(CALLBACKOP_register, &cb), 0);
    cb.type = CALLBACKTYPE_sysenter;
    check_rc("register sysenter", hypercall_callback_op(CALLBACKOP_register, &cb), 0);
    check_rc("callback_op(register) from an unmapped argument",
             hypercall_callback_op(CALLBACKOP_register, (void *)UNMAPPED_VA), -XEN_EFAULT);
    check_rc("callback_op(unregister) from an unmapped argument",
             hypercall_callback_op(CALLBACKOP_unregister, (void *)UNMAPPED_VA), -XEN_EFAULT);
    check_rc("callback_op(2)", hypercall_callback_op(2, &un), -XEN_ENOSYS);

    /* set_callbacks swallows register_guest_callback's -EINVAL: nothing changes. */
    check_rc("set_callbacks(three non-canonical addresses)", hypercall_set_callbacks(NONCANON, NONCANON, NONCANON), 0);
}

void test_main(void) {
    long rc = evtchn_init();
    if (rc) {
        xtf_error("Error: cannot register the event callbacks: %s\n", xen_errno_name(rc));
        return;
    }
    test_multicall();
    test_vm_assist();
    test_stack_switch();
    test_segment_base();
    test_debugreg();
    test_fpu_taskswitch();
    test_iopl();
    test_callback_op();
    /* After the set_callbacks above: events still reach the kit's upcall. */
    test_sched_op_compat();
}
