/* timer: Xen time and timers for a PV vCPU (xen-abi.md §2.2, §4.12-4.13, §4.18):
   - vcpu_time_info follows the version protocol (even when stable), has a non-zero
     multiplier, and the system time derived from it never goes backwards;
   - the wallclock in shared_info is plausible;
   - VCPUOP_stop_periodic_timer silences the default periodic tick;
   - VCPUOP_set_singleshot_timer + VIRQ_TIMER: the event arrives at or after the
     deadline, and SCHEDOP_block wakes for it; a past deadline fires at once
     (VCPU_SSHOTTMR_future: -ETIME before Xen 4.18, ignored since);
     VCPUOP_stop_singleshot_timer cancels;
   - set_timer_op is the older interface to the same one-shot timer (0 cancels);
   - VCPUOP_set_periodic_timer rejects periods below 1 ms (-EINVAL) and ticks. */
#include "ktf.h"

const char test_title[] = "timer: vcpu_time_info, singleshot/periodic timers, block";

#define MS 1000000UL

static evtchn_port_t timer_port;
static volatile unsigned int ticks;
static volatile uint64_t last_tick_time;

static void on_timer(evtchn_port_t port, struct cpu_regs *regs) {
    (void)port;
    (void)regs;
    ticks++;
    last_tick_time = xen_system_time();
}

/* Waits with events enabled, yielding, until `want` ticks arrived or `limit_ns` passed. */
static bool wait_ticks(unsigned int want, uint64_t limit_ns) {
    uint64_t end = xen_system_time() + limit_ns;
    local_events_enable();
    for (unsigned long spins = 0; ticks < want && spins < 50000000UL; spins++) {
        if (xen_system_time() > end) break;
        hypercall_yield();
    }
    local_events_disable();
    return ticks >= want;
}

static long singleshot(uint64_t deadline, uint32_t flags) {
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline, .flags = flags };
    return hypercall_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
}

static void test_time_info(void) {
    const volatile struct vcpu_time_info *t = &this_vcpu_info()->time;
    printk("vcpu_time_info: version %u, system_time %lu, tsc_timestamp %lu, mul %#x, shift %d, flags %#x\n",
           t->version, t->system_time, t->tsc_timestamp, t->tsc_to_system_mul, t->tsc_shift, t->flags);
    check_eq("vcpu_time_info.version is even", t->version & 1, 0);
    check(t->tsc_to_system_mul != 0, "tsc_to_system_mul is 0");
    check(t->tsc_shift >= -31 && t->tsc_shift <= 31, "tsc_shift %d out of range", t->tsc_shift);

    uint64_t prev = xen_system_time(), first = prev;
    unsigned int backwards = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t now = xen_system_time();
        if (now < prev && backwards++ < 3) xtf_failure("Fail: system time went back: %lu -> %lu\n", prev, now);
        prev = now;
        if (i % 100 == 0) hypercall_yield();
    }
    check(prev > first, "system time did not advance over 2000 reads (%lu)", prev);
    check(first > 0, "system time is 0");

    const volatile struct shared_info *s = shared_info;
    uint64_t sec = ((uint64_t)s->wc_sec_hi << 32) | s->wc_sec;
    printk("wallclock at system time 0: %lu.%09u (version %u)\n", sec, s->wc_nsec, s->wc_version);
    check_eq("wc_version is even", s->wc_version & 1, 0);
    check(sec > 1500000000UL, "wallclock %lu s is before 2017", sec);
    check(s->wc_nsec < 1000000000U, "wc_nsec %u >= 1e9", s->wc_nsec);
}

void test_main(void) {
    long rc = evtchn_init();
    if (rc) {
        xtf_error("Error: cannot register the event callbacks: %s\n", xen_errno_name(rc));
        return;
    }
    test_time_info();

    check_rc("VCPUOP_stop_periodic_timer", hypercall_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
    if (!check_rc("bind_virq(VIRQ_TIMER, 0)", evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port), 0)) return;
    evtchn_set_handler(timer_port, on_timer);

    /* A 10 ms single shot, waited for by yielding. */
    uint64_t deadline = xen_system_time() + 10 * MS;
    ticks = 0;
    check_rc("set_singleshot_timer(now + 10 ms)", singleshot(deadline, 0), 0);
    if (!check(wait_ticks(1, 2000 * MS), "no VIRQ_TIMER within 2 s of a 10 ms single shot")) return;
    check(last_tick_time >= deadline, "timer fired %lu ns early", deadline - last_tick_time);
    printk("single shot fired %lu ns after its deadline\n", last_tick_time - deadline);

    /* The same, sleeping in SCHEDOP_block (which unmasks events itself). */
    deadline = xen_system_time() + 10 * MS;
    ticks = 0;
    check_rc("set_singleshot_timer(now + 10 ms)", singleshot(deadline, 0), 0);
    for (int i = 0; i < 100 && ticks == 0; i++) check_rc("SCHEDOP_block", hypercall_block(), 0);
    local_events_disable();
    check_eq("SCHEDOP_block woke for the timer", ticks, 1);
    check(xen_system_time() >= deadline, "woke before the deadline");

    /* A deadline in the past fires at once. With VCPU_SSHOTTMR_future, Xen before 4.18
       refused it with -ETIME; since commit 19c6cbd90965 ("xen/vcpu: ignore
       VCPU_SSHOTTMR_future") the flag is ignored and the timer fires. */
    ticks = 0;
    rc = singleshot(1, VCPU_SSHOTTMR_future);
    check_rc2("set_singleshot_timer(past, VCPU_SSHOTTMR_future)", rc, 0, -XEN_ETIME);
    if (rc == 0) check(wait_ticks(1, 1000 * MS), "a past deadline with the ignored future flag did not fire");
    ticks = 0;
    check_rc("set_singleshot_timer(past)", singleshot(1, 0), 0);
    check(wait_ticks(1, 1000 * MS), "a past deadline did not fire");

    /* Cancelled timers stay silent. */
    ticks = 0;
    check_rc("set_singleshot_timer(now + 5 ms)", singleshot(xen_system_time() + 5 * MS, 0), 0);
    check_rc("VCPUOP_stop_singleshot_timer", hypercall_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL), 0);
    wait_ticks(1, 30 * MS);
    check_eq("no tick after stop_singleshot_timer", ticks, 0);

    /* set_timer_op: absolute deadline, 0 cancels. */
    ticks = 0;
    deadline = xen_system_time() + 5 * MS;
    check_rc("set_timer_op(now + 5 ms)", hypercall_set_timer_op(deadline), 0);
    check(wait_ticks(1, 2000 * MS), "set_timer_op did not fire");
    ticks = 0;
    check_rc("set_timer_op(now + 5 ms)", hypercall_set_timer_op(xen_system_time() + 5 * MS), 0);
    check_rc("set_timer_op(0) cancels", hypercall_set_timer_op(0), 0);
    wait_ticks(1, 30 * MS);
    check_eq("no tick after set_timer_op(0)", ticks, 0);

    /* Periodic timer. */
    struct vcpu_set_periodic_timer p = { .period_ns = 100000 };
    check_rc("set_periodic_timer(100 us)", hypercall_vcpu_op(VCPUOP_set_periodic_timer, 0, &p), -XEN_EINVAL);
    p.period_ns = 2 * MS;
    ticks = 0;
    uint64_t start = xen_system_time();
    if (check_rc("set_periodic_timer(2 ms)", hypercall_vcpu_op(VCPUOP_set_periodic_timer, 0, &p), 0)) {
        check(wait_ticks(3, 2000 * MS), "periodic timer: %u of 3 ticks in 2 s", ticks);
        check_rc("stop_periodic_timer", hypercall_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
        check(last_tick_time - start >= 4 * MS, "3 ticks of a 2 ms timer within %lu ns", last_tick_time - start);
    }

    check_rc("vcpu_op on vCPU 1000", hypercall_vcpu_op(VCPUOP_stop_periodic_timer, 1000, NULL), -XEN_ENOENT);
    check_rc("close the timer port", evtchn_close(timer_port), 0);
}
