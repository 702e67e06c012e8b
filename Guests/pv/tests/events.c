/* events: 2-level event channels and upcalls (xen-abi.md §4.9, §5.5; common/event_channel.c,
   event_2l.c):
   - an interdomain loopback (alloc_unbound for DOMID_SELF + bind_interdomain to it);
     binding sets the new local port pending (evtchn_bind_interdomain: "we may have lost
     notifications on the remote unbound port"); sending on one end makes the other pending, sets its selector bit and
     evtchn_upcall_pending, and with events unmasked bounces to the event callback with
     Xen setting evtchn_upcall_mask;
   - evtchn_upcall_mask = 1 holds the upcall back until the guest unmasks (and makes a
     hypercall); a port masked in shared_info stays pending without a selector bit or
     upcall until EVTCHNOP_unmask, which delivers it;
   - IPIs to self, VIRQ binding (-EEXIST twice), close/status/send on closed ports, poll
     on a pending port, callback_op and set_callbacks error cases. */
#include "ktf.h"

const char test_title[] = "event channels: loopback, masks, IPI, VIRQ, close";

#define X86_EFLAGS_IF 0x200UL

static unsigned int upcalls(void) { return upcall_stats[0].count; }

static void enable_and_settle(void) {
    local_events_enable();
    hypercall_xen_version(XENVER_version, NULL); /* one more return to the guest */
}

static void test_loopback(evtchn_port_t *pa, evtchn_port_t *pb) {
    evtchn_port_t a = 0, b = 0;
    if (!check_rc("alloc_unbound(remote = DOMID_SELF)", evtchn_alloc_unbound(DOMID_SELF, &a), 0)) return;
    check(a != 0 && a < 4096, "alloc_unbound gave port %u", a);
    struct evtchn_status st;
    if (check_rc("status of the unbound port", evtchn_status(a, &st), 0)) {
        check_eq("status: unbound", st.status, EVTCHNSTAT_unbound);
    }
    if (!check_rc("bind_interdomain(DOMID_SELF, a)", evtchn_bind_interdomain(DOMID_SELF, a, &b), 0)) return;
    check(b != 0 && b != a, "bind_interdomain gave port %u (a is %u)", b, a);
    if (check_rc("status of a", evtchn_status(a, &st), 0)) {
        check_eq("status a: interdomain", st.status, EVTCHNSTAT_interdomain);
        check_eq("status a: remote port", st.u.interdomain.port, b);
        check_eq("status a: bound to vCPU 0", st.vcpu, 0);
    }
    *pa = a;
    *pb = b;
    printk("loopback ports: a = %u, b = %u\n", a, b);

    /* evtchn_bind_interdomain "conservatively" sets the new local port pending, in case
       a notification on the unbound remote end was lost. */
    struct vcpu_info *vi = this_vcpu_info();
    local_events_disable();
    check(evtchn_is_pending(b), "bind_interdomain did not set the new local port pending");
    unsigned int before = upcalls(), fired_b = evtchn_fired[b];
    enable_and_settle();
    local_events_disable();
    check_eq("the bind notification was delivered", evtchn_fired[b], fired_b + 1);
    before = upcalls();
    unsigned int fired_a = evtchn_fired[a];
    fired_b = evtchn_fired[b];

    /* Masked (virtual IF clear): the event is recorded but not delivered. */
    check_rc("send on b", evtchn_send(b), 0);
    check(evtchn_is_pending(a), "port a is not pending after a send on b");
    check(!evtchn_is_pending(b), "port b became pending after a send on b");
    check_eq("evtchn_upcall_pending", vi->evtchn_upcall_pending, 1);
    check(vi->evtchn_pending_sel & (1UL << (a / 64)), "selector bit %u not set: %#lx", a / 64, vi->evtchn_pending_sel);
    hypercall_xen_version(XENVER_version, NULL);
    hypercall_yield();
    check_eq("no upcall while evtchn_upcall_mask is set", upcalls(), before);

    /* Unmasking delivers it. */
    enable_and_settle();
    local_events_disable();
    check_eq("one upcall after unmasking", upcalls(), before + 1);
    check_eq("port a fired once", evtchn_fired[a], fired_a + 1);
    check_eq("upcall: evtchn_upcall_pending at entry", upcall_stats[0].pending_at_entry, 1);
    check_eq("upcall: Xen masked events for the callback", upcall_stats[0].mask_at_entry, 1);
    check(upcall_stats[0].sel_at_entry & (1UL << (a / 64)), "upcall: selector at entry %#lx", upcall_stats[0].sel_at_entry);
    check_eq("upcall: saved mask in the frame", (upcall_stats[0].saved_cs >> 32) & 0xff, 0);
    check_eq("upcall: frame rflags.IF", upcall_stats[0].rflags & X86_EFLAGS_IF, X86_EFLAGS_IF);
    check_eq("upcall: frame cs (kernel context)", upcall_stats[0].saved_cs & 0xffff, FLAT_KERNEL_CS & ~3);
    check(!evtchn_is_pending(a), "port a still pending after the handler");

    /* The other direction. */
    before = upcalls();
    check_rc("send on a", evtchn_send(a), 0);
    enable_and_settle();
    local_events_disable();
    check_eq("upcall for b", upcalls(), before + 1);
    check_eq("port b fired once", evtchn_fired[b], fired_b + 1);
}

static void test_port_mask(evtchn_port_t a, evtchn_port_t b) {
    struct vcpu_info *vi = this_vcpu_info();
    unsigned int before = upcalls(), fired = evtchn_fired[a];

    evtchn_mask_port(a);
    local_events_enable();
    check_rc("send on b with a masked", evtchn_send(b), 0);
    hypercall_xen_version(XENVER_version, NULL);
    check_eq("no upcall for a masked port", upcalls(), before);
    check(evtchn_is_pending(a), "masked port a is not pending");
    check_eq("evtchn_upcall_pending stays clear for a masked port", vi->evtchn_upcall_pending, 0);

    /* SCHEDOP_poll returns at once for a pending (even masked) port. */
    evtchn_port_t ports[1] = { a };
    struct sched_poll poll = { .ports = ports, .nr_ports = 1, .timeout = 0 };
    check_rc("poll on a pending port", hypercall_sched_op(SCHEDOP_poll, &poll), 0);
    poll.nr_ports = 129;
    check_rc("poll on 129 ports", hypercall_sched_op(SCHEDOP_poll, &poll), -XEN_EINVAL);

    check_rc("EVTCHNOP_unmask(a)", evtchn_unmask(a), 0);
    hypercall_xen_version(XENVER_version, NULL);
    local_events_disable();
    check(!evtchn_is_masked(a), "EVTCHNOP_unmask left the mask bit set");
    check_eq("the unmask delivered the pending event", upcalls(), before + 1);
    check_eq("port a fired", evtchn_fired[a], fired + 1);
}

static void test_ipi_virq(void) {
    evtchn_port_t ipi = 0;
    if (check_rc("bind_ipi(vCPU 0)", evtchn_bind_ipi(0, &ipi), 0)) {
        struct evtchn_status st;
        if (check_rc("status of the IPI port", evtchn_status(ipi, &st), 0))
            check_eq("status: ipi", st.status, EVTCHNSTAT_ipi);
        unsigned int before = upcalls(), fired = evtchn_fired[ipi];
        local_events_enable();
        check_rc("send an IPI to self", evtchn_send(ipi), 0);
        hypercall_xen_version(XENVER_version, NULL);
        local_events_disable();
        check_eq("IPI upcall", upcalls(), before + 1);
        check_eq("IPI port fired", evtchn_fired[ipi], fired + 1);
        check_rc("close the IPI port", evtchn_close(ipi), 0);
    }

    evtchn_port_t t = 0, t2 = 0;
    if (check_rc("bind_virq(VIRQ_TIMER, 0)", evtchn_bind_virq(VIRQ_TIMER, 0, &t), 0)) {
        struct evtchn_status st;
        if (check_rc("status of the VIRQ port", evtchn_status(t, &st), 0)) {
            check_eq("status: virq", st.status, EVTCHNSTAT_virq);
            check_eq("status: virq number", st.u.virq, VIRQ_TIMER);
        }
        check_rc("bind VIRQ_TIMER again", evtchn_bind_virq(VIRQ_TIMER, 0, &t2), -XEN_EEXIST);
        check_rc("close the VIRQ port", evtchn_close(t), 0);
    }
    check_rc("bind_virq(24 = NR_VIRQS)", evtchn_bind_virq(24, 0, &t2), -XEN_EINVAL);
    check_rc("bind_virq on vCPU 1000", evtchn_bind_virq(VIRQ_TIMER, 1000, &t2), -XEN_ENOENT);
    check_rc("bind_ipi on vCPU 1000", evtchn_bind_ipi(1000, &t2), -XEN_ENOENT);
}

static void test_close(evtchn_port_t a, evtchn_port_t b) {
    check_rc("close a", evtchn_close(a), 0);
    struct evtchn_status st;
    if (check_rc("status of b after a closed", evtchn_status(b, &st), 0))
        check_eq("b is unbound again", st.status, EVTCHNSTAT_unbound);
    check_rc("send on b (unbound: dropped)", evtchn_send(b), 0);
    check_rc("close b", evtchn_close(b), 0);
    check_rc("close b again", evtchn_close(b), -XEN_EINVAL);
    check_rc("send on closed b", evtchn_send(b), -XEN_EINVAL);
    check_rc("close port 0 (reserved)", evtchn_close(0), -XEN_EINVAL);
    check_rc("send on port 5000 (beyond 2-level)", evtchn_send(5000), -XEN_EINVAL);
    check_rc("unmask port 5000", evtchn_unmask(5000), -XEN_EINVAL);
    check_rc("unknown EVTCHNOP 99", hypercall_event_channel_op(99, &st), -XEN_ENOSYS);
    check_rc("EVTCHNOP_send from an unmapped argument",
             hypercall_event_channel_op(EVTCHNOP_send, (void *)0x00007ff000000000UL), -XEN_EFAULT);
}

static void test_callbacks(void) {
    struct callback_register cb = { .type = 99, .address = (unsigned long)entry_upcall };
    check_rc("callback_op register of type 99", hypercall_callback_op(CALLBACKOP_register, &cb), -XEN_ENOSYS);
    cb.type = CALLBACKTYPE_event;
    cb.address = 0x8000000000000000UL;
    check_rc("event callback at a non-canonical address", hypercall_callback_op(CALLBACKOP_register, &cb), -XEN_EINVAL);
    struct callback_unregister un = { .type = CALLBACKTYPE_event };
    check_rc("unregister the event callback", hypercall_callback_op(CALLBACKOP_unregister, &un), -XEN_EINVAL);
    check_rc("unknown callback_op 7", hypercall_callback_op(7, &un), -XEN_ENOSYS);

    /* The legacy set_callbacks registers event, failsafe and syscall at once. */
    check_rc("set_callbacks", hypercall_set_callbacks((unsigned long)entry_upcall, (unsigned long)entry_failsafe, 0), 0);
    evtchn_port_t ipi = 0;
    if (check_rc("bind_ipi(vCPU 0)", evtchn_bind_ipi(0, &ipi), 0)) {
        unsigned int before = upcalls(), fired = evtchn_fired[ipi];
        local_events_enable();
        evtchn_send(ipi);
        hypercall_xen_version(XENVER_version, NULL);
        local_events_disable();
        /* Counted by port, not by upcall: a tick of the default 100 Hz periodic timer that
           hit the VIRQ_TIMER port test_virq bound and closed leaves evtchn_upcall_pending
           and a selector bit behind with no pending port (Xen clears only the port's bit
           on close), and the first unmask then makes one empty upcall, as on Xen. */
        check_eq("the IPI arrived through the set_callbacks callback", evtchn_fired[ipi], fired + 1);
        check(upcalls() >= before + 1, "no upcall through the set_callbacks callback");
        evtchn_close(ipi);
    }
}

void test_main(void) {
    long rc = evtchn_init();
    if (rc) {
        xtf_error("Error: cannot register the event callbacks: %s\n", xen_errno_name(rc));
        return;
    }
    evtchn_port_t a = 0, b = 0;
    test_loopback(&a, &b);
    if (a && b) {
        test_port_mask(a, b);
        test_close(a, b);
    }
    test_ipi_virq();
    test_callbacks();
    printk("%u upcalls\n", upcalls());
}
