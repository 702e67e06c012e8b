/* The netfront half of a vif, as Linux's xen-netfront talks to netback (xen-abi.md §7.6):
   wait for the backend's InitWait, check feature-rx-copy, share both rings and an unbound
   port, publish tx-ring-ref, rx-ring-ref, event-channel, request-rx-copy, feature-rx-notify,
   go Connected and wait for the backend's Connected. Receive buffers are whole pages
   granted writable and posted once, re-posted as they are consumed; transmit buffers are
   pages granted read-only, one per request id. Requests are pushed with ring.h's
   RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and responses consumed with the final check. */
#include "netfront.h"

#define NTX 32  /* transmit buffers (ids) */
#define NRX 64  /* receive buffers posted */

uint8_t netfront_mac[6];
struct netfront_stats netfront_stats;

static struct netif_tx_sring tx_sring __page_aligned_bss;
static struct netif_rx_sring rx_sring __page_aligned_bss;
static char tx_pages[NTX][4096] __page_aligned_bss;
static char rx_pages[NRX][4096] __page_aligned_bss;
static grant_ref_t tx_refs[NTX], rx_refs[NRX];
static bool tx_busy[NTX];
static uint32_t tx_prod_pvt, tx_rsp_cons, rx_prod_pvt, rx_rsp_cons;
static evtchn_port_t port;
static domid_t backend_id;
static char frontend_path[64], backend_path[128];

static void path_of(char *out, size_t size, const char *dir, const char *key) {
    snprintf(out, size, "%s/%s", dir, key);
}

static long write_key(const char *key, const char *fmt, unsigned long value) {
    char path[160], text[32];
    path_of(path, sizeof(path), frontend_path, key);
    snprintf(text, sizeof(text), fmt, value);
    return xs_write(path, text);
}

static bool parse_mac(const char *s, uint8_t mac[6]) {
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int d = 0; d < 2; d++, s++) {
            char c = *s;
            unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                       : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
            if (x > 15) return false;
            v = v * 16 + x;
        }
        mac[i] = (uint8_t)v;
        if (i < 5 && *s++ != ':') return false;
    }
    return *s == '\0';
}

/* Xen: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY. */
static void push(struct sring_header *h, uint32_t prod) {
    wmb();
    uint32_t old = h->req_prod;
    h->req_prod = prod;
    mb();
    if ((uint32_t)(prod - h->req_event) < (uint32_t)(prod - old)) evtchn_send(port);
}

static void post_rx(unsigned int id) {
    union netif_rx_entry *e = &rx_sring.ring[rx_prod_pvt & (NET_RING_SIZE - 1)];
    e->req.id = (uint16_t)id;
    e->req.pad = 0;
    e->req.gref = rx_refs[id];
    rx_prod_pvt++;
}

long netfront_connect(unsigned int devid) {
    snprintf(frontend_path, sizeof(frontend_path), "device/vif/%u", devid);
    char path[160], text[128];
    unsigned long value;
    path_of(path, sizeof(path), frontend_path, "backend-id");
    if (!xs_read_ulong(path, &value)) return -XEN_ENOENT;
    backend_id = (domid_t)value;
    path_of(path, sizeof(path), frontend_path, "backend");
    if (xs_read(path, backend_path, sizeof(backend_path)) <= 0) return -XEN_ENOENT;
    path_of(path, sizeof(path), frontend_path, "mac");
    if (xs_read(path, text, sizeof(text)) <= 0 || !parse_mac(text, netfront_mac)) {
        printk("netfront: bad mac \"%s\"\n", text);
        return -XEN_EINVAL;
    }
    /* netfront talks to the backend once it is in InitWait. */
    path_of(path, sizeof(path), backend_path, "state");
    if (!xs_wait_value(path, 2, MS(10000))) {
        printk("netfront: backend %s never reached InitWait\n", backend_path);
        return -XEN_ETIME;
    }
    path_of(path, sizeof(path), backend_path, "feature-rx-copy");
    if (!xs_read_ulong(path, &value) || value != 1) {
        printk("netfront: backend lacks feature-rx-copy\n");
        return -XEN_EOPNOTSUPP;
    }

    long rc = gnttab_init();
    if (rc) {
        printk("netfront: grant table setup failed: %ld\n", rc);
        return rc;
    }
    /* SHARED_RING_INIT */
    memset(&tx_sring, 0, sizeof(tx_sring));
    memset(&rx_sring, 0, sizeof(rx_sring));
    tx_sring.h.req_event = tx_sring.h.rsp_event = 1;
    rx_sring.h.req_event = rx_sring.h.rsp_event = 1;
    tx_prod_pvt = tx_rsp_cons = rx_prod_pvt = rx_rsp_cons = 0;
    grant_ref_t tx_ref = gnttab_grant_page(backend_id, &tx_sring, false);
    grant_ref_t rx_ref = gnttab_grant_page(backend_id, &rx_sring, false);
    for (unsigned int i = 0; i < NTX; i++) tx_refs[i] = gnttab_grant_page(backend_id, tx_pages[i], true);
    for (unsigned int i = 0; i < NRX; i++) rx_refs[i] = gnttab_grant_page(backend_id, rx_pages[i], false);
    if (!tx_ref || !rx_ref || !tx_refs[NTX - 1] || !rx_refs[NRX - 1]) return -XEN_ENOSPC;
    rc = evtchn_alloc_unbound(backend_id, &port);
    if (rc) return rc;

    if (write_key("tx-ring-ref", "%lu", tx_ref) || write_key("rx-ring-ref", "%lu", rx_ref) ||
        write_key("event-channel", "%lu", port) || write_key("request-rx-copy", "%lu", 1) ||
        write_key("feature-rx-notify", "%lu", 1) || write_key("feature-sg", "%lu", 0) ||
        write_key("state", "%lu", 4))
        return -XEN_EIO;
    path_of(path, sizeof(path), backend_path, "state");
    if (!xs_wait_value(path, 4, MS(10000))) {
        printk("netfront: backend did not connect\n");
        return -XEN_ETIME;
    }
    for (unsigned int i = 0; i < NRX; i++) post_rx(i);
    push(&rx_sring.h, rx_prod_pvt);
    printk("netfront: connected vif %u (%02x:%02x:%02x:%02x:%02x:%02x) to %s, port %u\n", devid, netfront_mac[0],
           netfront_mac[1], netfront_mac[2], netfront_mac[3], netfront_mac[4], netfront_mac[5], backend_path, port);
    return 0;
}

static void reclaim_tx(void) {
    uint32_t prod;
    do {
        prod = ACCESS_ONCE(tx_sring.h.rsp_prod);
        rmb();
        for (; tx_rsp_cons != prod; tx_rsp_cons++) {
            struct netif_tx_response r = tx_sring.ring[tx_rsp_cons & (NET_RING_SIZE - 1)].rsp;
            if (r.status == 1) continue;  /* XEN_NETIF_RSP_NULL */
            if (r.status != 0) netfront_stats.tx_errors++;
            if (r.id < NTX) tx_busy[r.id] = false;
        }
        /* RING_FINAL_CHECK_FOR_RESPONSES */
        tx_sring.h.rsp_event = tx_rsp_cons + 1;
        mb();
    } while (ACCESS_ONCE(tx_sring.h.rsp_prod) != prod);
}

long netfront_send(const void *frame, size_t len) {
    if (len > 4096 || len < 14) return -XEN_EINVAL;
    uint64_t deadline = xen_system_time() + MS(5000);
    for (;;) {
        reclaim_tx();
        for (unsigned int id = 0; id < NTX; id++) {
            if (tx_busy[id]) continue;
            tx_busy[id] = true;
            memcpy(tx_pages[id], frame, len);
            union netif_tx_entry *e = &tx_sring.ring[tx_prod_pvt & (NET_RING_SIZE - 1)];
            e->req.gref = tx_refs[id];
            e->req.offset = 0;
            e->req.flags = 0;
            e->req.id = (uint16_t)id;
            e->req.size = (uint16_t)len;
            tx_prod_pvt++;
            push(&tx_sring.h, tx_prod_pvt);
            netfront_stats.tx_packets++;
            netfront_stats.tx_bytes += len;
            return 0;
        }
        if (xen_system_time() > deadline) return -XEN_ETIME;
        netfront_wait(MS(1));
    }
}

unsigned int netfront_poll(netfront_rx_fn rx) {
    reclaim_tx();
    unsigned int frames = 0;
    uint32_t prod;
    do {
        prod = ACCESS_ONCE(rx_sring.h.rsp_prod);
        rmb();
        for (; rx_rsp_cons != prod; rx_rsp_cons++) {
            struct netif_rx_response r = rx_sring.ring[rx_rsp_cons & (NET_RING_SIZE - 1)].rsp;
            if (r.id >= NRX) {
                netfront_stats.rx_errors++;
                continue;
            }
            if (r.status < 0 || (r.flags & NETRXF_more_data) || r.offset + (unsigned)r.status > 4096) {
                netfront_stats.rx_errors++;
            } else {
                netfront_stats.rx_packets++;
                netfront_stats.rx_bytes += (unsigned long)r.status;
                frames++;
                if (rx) rx((const uint8_t *)rx_pages[r.id] + r.offset, (size_t)r.status);
            }
            post_rx(r.id);
        }
        rx_sring.h.rsp_event = rx_rsp_cons + 1;
        mb();
    } while (ACCESS_ONCE(rx_sring.h.rsp_prod) != prod);
    if (frames) push(&rx_sring.h, rx_prod_pvt);
    return frames;
}

void netfront_wait(uint64_t ns) {
    evtchn_port_t ports[1] = { port };
    struct sched_poll poll = { .ports = ports, .nr_ports = 1, .timeout = xen_system_time() + ns };
    if (!evtchn_is_pending(port)) hypercall_sched_op(SCHEDOP_poll, &poll);
    evtchn_clear_port(port);
}

void netfront_close(void) {
    char path[160];
    write_key("state", "%lu", 5);
    path_of(path, sizeof(path), backend_path, "state");
    uint64_t deadline = xen_system_time() + MS(2000);
    unsigned long state = 0;
    while (xen_system_time() < deadline && !(xs_read_ulong(path, &state) && state >= 5)) hypercall_yield();
    write_key("state", "%lu", 6);
}
