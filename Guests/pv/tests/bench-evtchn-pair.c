/* bench-evtchn-pair: an event channel between two domains, ping-ponged, for the host to
   time (kite-bench xen's evtchn-domains) and to check (KiteHost's two-domain tests).

   Command line: "serve peer=<domid> count=<n>" or "ping peer=<domid> count=<n>".
   The server allocates an unbound port for its peer — in a fresh domain the first free
   port is 3 (xenstore and console hold 1 and 2), so the client knows it without xenstore —
   then answers every event with one back. The client binds to it (retrying while the
   server has not allocated it yet), sends, waits for the answer with SCHEDOP_poll on the
   masked port (no upcall), and prints the time per round trip. Without a peer on the
   command line the kernel skips. */
#include "ktf.h"

const char test_title[] = "bench: event channel round trips between two domains";

#define SERVER_PORT 3

static unsigned long option(const char *line, const char *key, unsigned long fallback) {
    const char *at = strstr(line, key);
    if (!at) return fallback;
    at += strlen(key);
    unsigned long value = 0;
    int digits = 0;
    while (*at >= '0' && *at <= '9') {
        value = value * 10 + (unsigned long)(*at++ - '0');
        digits++;
    }
    return digits ? value : fallback;
}

/* Waits until `port` is pending, then clears it. */
static bool wait_for(evtchn_port_t port) {
    evtchn_port_t ports[1] = { port };
    struct sched_poll poll = { .ports = ports, .nr_ports = 1, .timeout = 0 };
    while (!evtchn_is_pending(port)) {
        long rc = hypercall_sched_op(SCHEDOP_poll, &poll);
        if (rc != 0) {
            xtf_failure("Fail: SCHEDOP_poll returned %ld\n", rc);
            return false;
        }
    }
    evtchn_clear_port(port);
    return true;
}

static void serve(domid_t peer, unsigned long count) {
    evtchn_port_t port;
    long rc = evtchn_alloc_unbound(peer, &port);
    if (rc != 0 || port != SERVER_PORT) {
        xtf_failure("Fail: alloc_unbound(%u) gave rc %ld, port %u (expected port %u)\n", peer, rc, port, SERVER_PORT);
        return;
    }
    evtchn_mask_port(port);
    /* The client's bind sets only its own new port pending (Xen's evtchn_bind_interdomain),
       so every event here is a round trip. */
    for (unsigned long i = 0; i < count; i++) {
        if (!wait_for(port)) return;
        rc = evtchn_send(port);
        if (rc != 0) {
            xtf_failure("Fail: send %lu returned %ld\n", i, rc);
            return;
        }
    }
    printk("served %lu round trips for domain %u\n", count, peer);
}

static void ping(domid_t peer, unsigned long count) {
    evtchn_port_t port = 0;
    long rc;
    for (unsigned long tries = 0;; tries++) {
        rc = evtchn_bind_interdomain(peer, SERVER_PORT, &port);
        if (rc == 0) break;
        if (tries >= 1000000) {
            xtf_failure("Fail: bind_interdomain(%u, %u) still fails: %ld\n", peer, SERVER_PORT, rc);
            return;
        }
        hypercall_yield();
    }
    evtchn_mask_port(port);
    evtchn_clear_port(port); /* the bind set our new port pending */
    uint64_t t0 = xen_system_time();
    for (unsigned long i = 0; i < count; i++) {
        rc = evtchn_send(port);
        if (rc != 0) {
            xtf_failure("Fail: send %lu returned %ld\n", i, rc);
            return;
        }
        if (!wait_for(port)) return;
    }
    uint64_t t1 = xen_system_time();
    printk("%lu round trips with domain %u: %lu ns (%lu ns/round trip)\n", count, peer, t1 - t0,
           count ? (t1 - t0) / count : 0);
}

void test_main(void) {
    const char *line = (const char *)start_info->cmd_line;
    unsigned long peer = option(line, "peer=", 0);
    unsigned long count = option(line, "count=", 10000);
    if (peer == 0 || peer >= DOMID_SELF) {
        xtf_skip("Skip: no peer=<domid> on the command line\n");
        return;
    }
    if (strstr(line, "serve"))
        serve((domid_t)peer, count);
    else
        ping((domid_t)peer, count);
}
