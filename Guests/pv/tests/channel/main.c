/* channel: a named channel (xl.cfg channel=[...]) as Linux's hvc_xen reaches it — secondary
   PV console device/console/1 (public/io/console.h; xencons_connect_backend):
   - the toolstack's keys: backend, backend-id, the channel's name (read-only for the guest),
     the backend in InitWait;
   - the frontend's half of the handshake: a page granted to the backend, a port allocated
     for it, ring-ref and port written, Initialised; the backend goes Connected, and so do we;
   - output through the ring reaches the host (the backend consumes it and notifies);
   - the host's input arrives in in[]: the kernel waits (10 s) for a line and answers it
     with "pong: <line>" on the channel;
   - Closing, then Closed: the backend follows each and lets go of the page (the grant is
     no longer mapped).
   SKIP when the domain has no channel. */
#include "ktf.h"
#include "../netfront/netfront.h"

const char test_title[] = "channel: secondary console handshake, output, input, close";

static struct xencons_interface ring __page_aligned_bss;

static void path_of(char *out, size_t size, const char *dir, const char *key) { snprintf(out, size, "%s/%s", dir, key); }

static bool write_front(const char *key, const char *value) {
    char path[96];
    path_of(path, sizeof(path), "device/console/1", key);
    long rc = xs_write(path, value);
    check(rc == 0, "WRITE %s = %s: %ld", path, value, rc);
    return rc == 0;
}

static void ring_write(evtchn_port_t port, const char *text) {
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++) {
        while (ACCESS_ONCE(ring.out_prod) - ACCESS_ONCE(ring.out_cons) >= sizeof(ring.out)) hypercall_yield();
        ring.out[ring.out_prod % sizeof(ring.out)] = text[i];
        wmb();
        ring.out_prod++;
    }
    evtchn_send(port);
}

static bool ring_drained(void) {
    uint64_t deadline = xen_system_time() + MS(10000);
    while (ACCESS_ONCE(ring.out_cons) != ACCESS_ONCE(ring.out_prod)) {
        if (xen_system_time() > deadline) return false;
        hypercall_yield();
    }
    return true;
}

/* One line of input (without its newline); false after 10 s. */
static bool ring_read_line(evtchn_port_t port, char *out, size_t size) {
    size_t n = 0;
    uint64_t deadline = xen_system_time() + MS(10000);
    for (;;) {
        uint32_t prod = ACCESS_ONCE(ring.in_prod);
        rmb();
        while (ring.in_cons != prod) {
            char c = ring.in[ring.in_cons % sizeof(ring.in)];
            ring.in_cons++;
            if (c == '\n' || c == '\r') {
                out[n] = '\0';
                evtchn_send(port);
                return true;
            }
            if (n + 1 < size) out[n++] = c;
        }
        evtchn_send(port);
        if (xen_system_time() > deadline) return false;
        hypercall_yield();
    }
}

void test_main(void) {
    char backend[96], name[64], path[128];
    if (xs_read("device/console/1/backend", backend, sizeof(backend)) <= 0) {
        xtf_skip("Skip: no channel (device/console/1)\n");
        return;
    }
    unsigned long backend_id = ~0ul;
    check(xs_read_ulong("device/console/1/backend-id", &backend_id) && backend_id == 0,
          "backend-id %lu, expected 0 (Kite serves every device as domain 0)", backend_id);
    check(xs_read("device/console/1/name", name, sizeof(name)) > 0, "the channel has no name key");
    check(xs_write("device/console/1/name", "mine") != 0, "the guest could overwrite its channel's name");
    printk("channel 1 is \"%s\", backend %s\n", name, backend);
    path_of(path, sizeof(path), backend, "state");
    if (!check(xs_wait_value(path, 2, MS(10000)), "backend %s is not in InitWait (2)", backend)) return;

    check_eq("gnttab_init", gnttab_init(), 0);
    grant_ref_t ref = gnttab_grant_page(0, &ring, false);
    evtchn_port_t port = 0;
    check_eq("alloc_unbound", evtchn_alloc_unbound(0, &port), 0);
    char value[24];
    snprintf(value, sizeof(value), "%u", ref);
    if (!write_front("ring-ref", value)) return;
    snprintf(value, sizeof(value), "%u", port);
    if (!write_front("port", value)) return;
    if (!write_front("state", "3")) return;
    if (!check(xs_wait_value(path, 4, MS(10000)), "the backend did not connect (state 4)")) return;
    if (!write_front("state", "4")) return;
    uint16_t flags = gnttab_flags(ref);
    check(flags & (GTF_reading | GTF_writing), "the backend has not mapped the ring page (grant flags %#x)", flags);

    ring_write(port, "channel hello from the guest\n");
    check(ring_drained(), "the backend did not consume the output: out_cons %u, out_prod %u", ring.out_cons, ring.out_prod);
    char line[64];
    if (check(ring_read_line(port, line, sizeof(line)), "no line of input on the channel within 10 s")) {
        char answer[96];
        snprintf(answer, sizeof(answer), "pong: %s\n", line);
        ring_write(port, answer);
        check(ring_drained(), "the backend did not consume the answer");
    }

    /* xenbus_frontend_closed: Closing, the backend follows; Closed, the backend follows. */
    if (!write_front("state", "5")) return;
    check(xs_wait_value(path, 5, MS(10000)), "the backend did not follow the frontend to Closing (5)");
    if (!write_front("state", "6")) return;
    check(xs_wait_value(path, 6, MS(10000)), "the backend did not follow the frontend to Closed (6)");
    uint64_t deadline = xen_system_time() + MS(10000);
    while (!gnttab_end_access(ref) && xen_system_time() < deadline) hypercall_yield();
    flags = gnttab_flags(ref);
    check(!(flags & (GTF_reading | GTF_writing)), "the backend still maps the ring after Closed (flags %#x)", flags);
    if (xtf_status() == 0) xtf_success("Success: channel \"%s\" answered \"%s\"\n", name, line);
}
