/* smp: bring up a second vCPU (public/vcpu.h, xen-abi.md §4.13): VCPUOP_initialise with a
   vcpu_guest_context (kernel mode, our L4 in ctrlreg[3], our trap table, callbacks and
   stacks), VCPUOP_up, then the new vCPU increments a shared counter, proves its own trap
   table works, and sends an IPI (an event channel bound to vCPU 0) back. Initialising it
   twice is -EEXIST (default_initialise_vcpu); absent vCPUs are -ENOENT. Needs a domain
   with at least 2 vCPUs: with one, the test is a SKIP. */
#include "ktf.h"

const char test_title[] = "smp: VCPUOP_initialise/up a second vCPU, counter and IPI";

#define ROUNDS 1000

static struct vcpu_guest_context ctx;
static evtchn_port_t ipi_port;
static volatile unsigned int counter;
static volatile unsigned int ap_cpu_seen = 0xffff;
static volatile exinfo_t ap_exinfo;
static volatile unsigned int ap_done;

/* Runs on vCPU 1 (setup.c's ktf_ap_main calls it, then takes the vCPU down). */
void test_ap_main(unsigned int cpu) {
    ap_cpu_seen = smp_processor_id();
    for (int i = 0; i < ROUNDS; i++) atomic_inc32(&counter);
    exinfo_t ex = 0;
    __asm__ volatile("1: ud2\n\t2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    ap_exinfo = ex;
    printk("vCPU %u: %d increments done, sending an IPI on port %u\n", cpu, ROUNDS, ipi_port);
    ap_done = 1;
    evtchn_send(ipi_port);
}

extern char ktf_ap_entry[];

static void build_context(unsigned int cpu) {
    memset(&ctx, 0, sizeof(ctx));
    ctx.flags = VGCF_in_kernel;
    ctx.user_regs.rip = (unsigned long)ktf_ap_entry;
    ctx.user_regs.rsp = (unsigned long)cpu_main_stack_top(cpu);
    ctx.user_regs.rdi = cpu;
    ctx.user_regs.cs = FLAT_KERNEL_CS;
    ctx.user_regs.ss = FLAT_KERNEL_SS;
    ctx.user_regs.rflags = 0x200;
    for (const struct trap_info *t = ktf_trap_table; t->address; t++) ctx.trap_ctxt[t->vector] = *t;
    ctx.kernel_ss = FLAT_KERNEL_SS;
    ctx.kernel_sp = (unsigned long)cpu_trap_stack_top(cpu);
    ctx.ctrlreg[3] = (unsigned long)virt_to_mfn((void *)start_info->pt_base) << PAGE_SHIFT;
    ctx.event_callback_eip = (unsigned long)entry_upcall;
    ctx.failsafe_callback_eip = (unsigned long)entry_failsafe;
}

void test_main(void) {
    long up = hypercall_vcpu_op(VCPUOP_is_up, 1, NULL);
    if (up == -XEN_ENOENT) {
        xtf_skip("Skip: the domain has a single vCPU (VCPUOP_is_up(1) = -ENOENT)\n");
        return;
    }
    check_rc("VCPUOP_is_up(1) before bring-up", up, 0);
    check_eq("VCPUOP_is_up(0)", hypercall_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
    check_rc("VCPUOP_is_up(1000)", hypercall_vcpu_op(VCPUOP_is_up, 1000, NULL), -XEN_ENOENT);
    check_rc("VCPUOP_up(1000)", hypercall_vcpu_op(VCPUOP_up, 1000, NULL), -XEN_ENOENT);
    check_rc("VCPUOP_up(1) before initialise", hypercall_vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL);

    long rc = evtchn_init();
    if (rc) {
        xtf_error("Error: cannot register the event callbacks: %s\n", xen_errno_name(rc));
        return;
    }
    if (!check_rc("bind_ipi(vCPU 0)", evtchn_bind_ipi(0, &ipi_port), 0)) return;

    build_context(1);
    ctx.user_regs.rip = 0x8000000000000000UL;
    check_rc("VCPUOP_initialise with a non-canonical rip", hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL);
    build_context(1);
    if (!check_rc("VCPUOP_initialise(1)", hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), 0)) return;
    check_rc("VCPUOP_initialise(1) again", hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EEXIST);
    check_rc("VCPUOP_initialise from an unmapped context",
             hypercall_vcpu_op(VCPUOP_initialise, 1, (void *)0x00007ff000000000UL), -XEN_EFAULT);

    unsigned int before = evtchn_fired[ipi_port];
    if (!check_rc("VCPUOP_up(1)", hypercall_vcpu_op(VCPUOP_up, 1, NULL), 0)) return;

    uint64_t end = xen_system_time() + 5000000000UL;
    local_events_enable();
    while (evtchn_fired[ipi_port] == before && xen_system_time() < end) hypercall_yield();
    local_events_disable();

    check_eq("IPI from vCPU 1 delivered to vCPU 0", evtchn_fired[ipi_port], before + 1);
    check_eq("vCPU 1 finished", ap_done, 1);
    check_eq("shared counter", counter, ROUNDS);
    check_eq("vCPU 1 ran on its own stack block", ap_cpu_seen, 1);
    check_ex("vCPU 1's trap table (ud2)", ap_exinfo, EXINFO_SYM(UD, 0));

    /* vCPU 1 takes itself down after test_ap_main returns. */
    end = xen_system_time() + 2000000000UL;
    while (hypercall_vcpu_op(VCPUOP_is_up, 1, NULL) != 0 && xen_system_time() < end) hypercall_yield();
    check_rc("VCPUOP_is_up(1) after it went down", hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
}
