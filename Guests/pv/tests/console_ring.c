/* console_ring: the domain's primary PV console ring (public/io/console.h, xen-abi.md §7.2)
   served by the console backend (xenconsoled's job; tools/console/daemon/io.c):
   - the backend is live before the domain runs: connection = XENCONSOLE_CONNECTED (0),
     the builder's page otherwise untouched (output indexes 0; input only what the host
     typed, at most the 1 KiB ring);
   - output written to out[] is consumed: out_cons catches up with out_prod, also across
     several wraps of the 2 KiB ring and when one write fills the ring completely;
   - after consuming, the backend notifies the console port (it becomes pending);
   - from the first check on, this kernel prints only through the ring (the kit's writer
     used when console_io is refused), so its verdict reaches the host only if the
     backend works. */
#include "ktf.h"

const char test_title[] = "PV console ring: connected backend, output across wraps, notifications";

static struct xencons_interface *ring(void) {
    return (struct xencons_interface *)mfn_to_virt(start_info->console.domU.mfn);
}

/* Yields until the backend consumed everything; false after a bounded wait. */
static bool wait_drained(struct xencons_interface *r) {
    for (unsigned long i = 0; i < 2000000; i++) {
        if (ACCESS_ONCE(r->out_cons) == ACCESS_ONCE(r->out_prod)) return true;
        hypercall_yield();
    }
    return false;
}

void test_main(void) {
    struct xencons_interface *r = ring();
    evtchn_port_t port = start_info->console.domU.evtchn;

    /* Before anything goes through the ring. */
    check_eq("connection (XENCONSOLE_CONNECTED)", ACCESS_ONCE(r->connection), 0);
    check_eq("in_cons", r->in_cons, 0);
    /* `kite run` types its standard input into the ring: there may be some already. */
    uint32_t in_prod = ACCESS_ONCE(r->in_prod);
    check(in_prod <= sizeof(r->in), "in_prod %u: more input than the ring holds", in_prod);
    check_eq("out_cons", r->out_cons, 0);
    check_eq("out_prod", r->out_prod, 0);

    local_events_disable();
    evtchn_clear_port(port);
    console_use_ring = 1;
    printk("console_ring: printing through the ring from here on (port %u)\n", port);
    check(wait_drained(r), "the backend did not consume the first line: out_cons %u, out_prod %u",
          r->out_cons, r->out_prod);
    check(evtchn_is_pending(port), "the backend did not notify port %u after consuming", port);

    /* 64 lines of 80 bytes: 5120 bytes, the 2 KiB ring wraps twice and a half. */
    uint32_t start = ACCESS_ONCE(r->out_prod);
    size_t total = 0;
    for (unsigned int i = 0; i < 64; i++) {
        char line[96];
        int n = snprintf(line, sizeof(line), "console_ring line %02u: %.*s\n", i, 56,
                         "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        console_write(line, (size_t)n);
        total += (size_t)n;
    }
    check_eq("bytes produced", ACCESS_ONCE(r->out_prod) - start, total);
    check(wait_drained(r), "the backend did not drain the ring: out_cons %u, out_prod %u", r->out_cons, r->out_prod);

    /* One write bigger than the ring: the writer waits for space twice. */
    static char big[5000];
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (i % 100 == 99) ? '\n' : (char)('a' + i % 26);
    start = ACCESS_ONCE(r->out_prod);
    console_write(big, sizeof(big));
    check_eq("bytes of the big write produced", ACCESS_ONCE(r->out_prod) - start, sizeof(big));
    check(wait_drained(r), "the backend did not drain the big write");
    printk("\n");
    check_eq("connection still CONNECTED", ACCESS_ONCE(r->connection), 0);
    uint32_t typed = ACCESS_ONCE(r->in_prod) - r->in_cons;
    if (typed) printk("console_ring: %u bytes of input waiting in in[]\n", typed);
}
