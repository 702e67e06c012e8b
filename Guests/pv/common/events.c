/* Event channels, 2-level ABI (xen-abi.md §4.9, §5.5): callback registration, the upcall
   dispatcher behind entry_upcall, and thin EVTCHNOP wrappers. */
#include "ktf.h"

volatile struct upcall_stats upcall_stats[KTF_MAX_CPUS];
volatile unsigned int evtchn_fired[256];
static evtchn_handler_t handlers[256];

long evtchn_init(void) {
    long rc = hypercall_register_callback(CALLBACKTYPE_event, CALLBACKF_mask_events, entry_upcall);
    if (rc) return rc;
    return hypercall_register_callback(CALLBACKTYPE_failsafe, CALLBACKF_mask_events,
                                       entry_failsafe);
}

void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn) {
    if (port < ARRAY_SIZE(handlers)) handlers[port] = fn;
}

/* Called by entry_upcall with events masked (Xen set evtchn_upcall_mask on delivery). */
void do_upcall(struct cpu_regs *regs) {
    unsigned int cpu = smp_processor_id();
    struct vcpu_info *vi = &shared_info->vcpu_info[cpu];
    volatile struct upcall_stats *st = &upcall_stats[cpu];

    st->pending_at_entry = vi->evtchn_upcall_pending;
    st->mask_at_entry = vi->evtchn_upcall_mask;
    st->saved_cs = regs->cs;
    st->rflags = regs->rflags;

    /* Clear the summary flag first, then take the selector: an event arriving after the
       xchg sets both again and is seen on the next upcall. */
    vi->evtchn_upcall_pending = 0;
    barrier();
    uint64_t sel = xchg64((volatile uint64_t *)&vi->evtchn_pending_sel, 0);
    st->sel_at_entry = sel;
    st->count++;

    while (sel) {
        unsigned int w = (unsigned int)__builtin_ctzl(sel);
        sel &= sel - 1;
        uint64_t pend = shared_info->evtchn_pending[w] & ~shared_info->evtchn_mask[w];
        while (pend) {
            unsigned int b = (unsigned int)__builtin_ctzl(pend);
            pend &= pend - 1;
            evtchn_port_t port = w * 64 + b;
            clear_bit64(port, (volatile uint64_t *)shared_info->evtchn_pending);
            if (port < ARRAY_SIZE(handlers)) {
                evtchn_fired[port]++;
                if (handlers[port]) handlers[port](port, regs);
            }
        }
    }
}

void local_events_enable(void) {
    struct vcpu_info *vi = this_vcpu_info();
    vi->evtchn_upcall_mask = 0;
    barrier();
    /* Xen delivers pending events on its way back to the guest: make it go there. */
    if (vi->evtchn_upcall_pending) hypercall_xen_version(XENVER_version, NULL);
}

long evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port) {
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote };
    long rc = hypercall_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    if (rc == 0 && port) *port = op.port;
    return rc;
}

long evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port, evtchn_port_t *port) {
    struct evtchn_bind_interdomain op = { .remote_dom = remote, .remote_port = remote_port };
    long rc = hypercall_event_channel_op(EVTCHNOP_bind_interdomain, &op);
    if (rc == 0 && port) *port = op.local_port;
    return rc;
}

long evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port) {
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
    long rc = hypercall_event_channel_op(EVTCHNOP_bind_virq, &op);
    if (rc == 0 && port) *port = op.port;
    return rc;
}

long evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port) {
    struct evtchn_bind_ipi op = { .vcpu = vcpu };
    long rc = hypercall_event_channel_op(EVTCHNOP_bind_ipi, &op);
    if (rc == 0 && port) *port = op.port;
    return rc;
}

long evtchn_send(evtchn_port_t port) {
    struct evtchn_send op = { .port = port };
    return hypercall_event_channel_op(EVTCHNOP_send, &op);
}

long evtchn_unmask(evtchn_port_t port) {
    struct evtchn_unmask op = { .port = port };
    return hypercall_event_channel_op(EVTCHNOP_unmask, &op);
}

long evtchn_close(evtchn_port_t port) {
    struct evtchn_close op = { .port = port };
    return hypercall_event_channel_op(EVTCHNOP_close, &op);
}

long evtchn_status(evtchn_port_t port, struct evtchn_status *out) {
    memset(out, 0, sizeof(*out));
    out->dom = DOMID_SELF;
    out->port = port;
    return hypercall_event_channel_op(EVTCHNOP_status, out);
}

void evtchn_mask_port(evtchn_port_t port) {
    set_bit64(port, (volatile uint64_t *)shared_info->evtchn_mask);
}

void evtchn_clear_port(evtchn_port_t port) {
    clear_bit64(port, (volatile uint64_t *)shared_info->evtchn_pending);
}

bool evtchn_is_pending(evtchn_port_t port) {
    return test_bit64(port, (const volatile uint64_t *)shared_info->evtchn_pending);
}

bool evtchn_is_masked(evtchn_port_t port) {
    return test_bit64(port, (const volatile uint64_t *)shared_info->evtchn_mask);
}
