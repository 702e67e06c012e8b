/* The demo guest of the README's quick start: a small 64-bit PV kernel, written for real
   Xen, that introduces itself and shows a few of the hypervisor's services at work —
   xen_version, the start-of-day layout, a page-table update validated by the PV MMU, an
   event channel, and one-shot timers waking the vCPU from SCHEDOP_block — then powers
   the domain off. Built by scripts/build-guests.sh into Guests/build/pv-demo.elf. */
#include "ktf.h"

const char test_title[] = "demo: a PV guest on Kite";

#define MS 1000000UL

static volatile unsigned int ticks;

static void on_timer(evtchn_port_t port, struct cpu_regs *regs) {
    (void)port;
    (void)regs;
    ticks++;
}

void test_main(void) {
    char extra[16] = {0}, caps[1024] = {0};
    long version = hypercall_xen_version(XENVER_version, NULL);
    hypercall_xen_version(XENVER_extraversion, extra);
    hypercall_xen_version(XENVER_capabilities, caps);
    printk("Hello from a paravirtualized guest.\n");
    printk("The hypervisor says it is Xen %ld.%ld%s, capabilities \"%s\".\n",
           version >> 16, version & 0xffff, extra, caps);
    printk("This domain has %lu pages (%lu MiB); start_info is at %p, the initial page tables at %#lx.\n",
           start_info->nr_pages, start_info->nr_pages >> 8, (void *)start_info, start_info->pt_base);

    /* The P2M the builder gave us agrees with the hypervisor's read-only M2P. */
    unsigned long pfn = virt_to_pfn(start_info), mfn = pfn_to_mfn(pfn);
    printk("start_info: pfn %#lx is machine frame %#lx, and the M2P maps it back to %#lx.\n", pfn, mfn, m2p(mfn));

    /* A page-table update through update_va_mapping: map our start_info page a second time. */
    static char window[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
    uint64_t pte = ((uint64_t)mfn << PAGE_SHIFT) | 0x3; /* present, writable */
    long rc = hypercall_update_va_mapping((unsigned long)window, pte, UVMF_INVLPG);
    char magic[16] = {0};
    memcpy(magic, window, 14);
    printk("update_va_mapping(window -> start_info's frame): %s; the window reads \"%s\".\n",
           xen_errno_name(rc), magic);
    /* Mapping a page table writable is refused, as Xen refuses it. */
    uint64_t bad = ((uint64_t)virt_to_mfn((void *)start_info->pt_base) << PAGE_SHIFT) | 0x3;
    rc = hypercall_update_va_mapping((unsigned long)window, bad, UVMF_INVLPG);
    printk("update_va_mapping(window -> the L4 page table, writable): %s (refused).\n", xen_errno_name(rc));

    /* Timers: three one-shot deadlines, each waking the vCPU from SCHEDOP_block. */
    evtchn_port_t port;
    if (evtchn_init() == 0 && evtchn_bind_virq(VIRQ_TIMER, 0, &port) == 0) {
        evtchn_set_handler(port, on_timer);
        hypercall_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
        for (unsigned int i = 1; i <= 3; i++) {
            uint64_t start = xen_system_time();
            struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = start + 20 * MS, .flags = 0 };
            hypercall_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
            while (ticks < i) hypercall_block();
            local_events_disable();
            printk("tick %u: woke from SCHEDOP_block after %lu us\n", i, (xen_system_time() - start) / 1000);
        }
    }
    printk("Goodbye: shutting down with SHUTDOWN_poweroff.\n");
    xtf_success(NULL);
}
