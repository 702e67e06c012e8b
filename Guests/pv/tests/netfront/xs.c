/* A polled xenstore client over the domain's store ring (io/xs_wire.h): one request at a
   time, no watches, notifications sent on the store port after every put. */
#include "netfront.h"

#define XS_READ 2
#define XS_WRITE 11
#define XS_ERROR 16
#define XS_RING 1024

struct xs_header { uint32_t type, req_id, tx_id, len; };
struct xs_ring {
    char req[XS_RING];
    char rsp[XS_RING];
    uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
};
KTF_CHECK_OFFSET(struct xs_ring, req_cons, 2048);

static volatile struct xs_ring *ring(void) { return (volatile struct xs_ring *)mfn_to_virt(start_info->store_mfn); }

static bool put(const void *data, size_t len) {
    const char *p = data;
    volatile struct xs_ring *r = ring();
    unsigned long spins = 0;
    while (len) {
        uint32_t cons = ACCESS_ONCE(r->req_cons), prod = r->req_prod;
        mb();
        if (prod - cons >= XS_RING) {
            if (++spins > 1000000) return false;
            evtchn_send(start_info->store_evtchn);
            hypercall_yield();
            continue;
        }
        while (len && prod - cons < XS_RING) {
            r->req[prod++ & (XS_RING - 1)] = *p++;
            len--;
        }
        wmb();
        r->req_prod = prod;
        evtchn_send(start_info->store_evtchn);
    }
    return true;
}

static bool get(void *data, size_t len) {
    char *p = data;
    volatile struct xs_ring *r = ring();
    uint64_t deadline = xen_system_time() + MS(10000);
    while (len) {
        uint32_t cons = r->rsp_cons, prod = ACCESS_ONCE(r->rsp_prod);
        mb();
        if (prod == cons) {
            if (xen_system_time() > deadline) return false;
            hypercall_yield();
            continue;
        }
        while (cons != prod && len) {
            *p++ = r->rsp[cons++ & (XS_RING - 1)];
            len--;
        }
        mb();
        r->rsp_cons = cons;
        evtchn_send(start_info->store_evtchn);
    }
    return true;
}

static char reply[4096 + 1];

/* One request; returns the reply's payload length, or -errno (XS_ERROR names mapped). */
static long talk(uint32_t type, const char *a, size_t alen, const char *b, size_t blen) {
    static uint32_t next_id = 0x4e00;
    struct xs_header h = { .type = type, .req_id = next_id++, .tx_id = 0, .len = (uint32_t)(alen + blen) };
    if (!put(&h, sizeof(h)) || !put(a, alen) || (blen && !put(b, blen))) return -XEN_EIO;
    struct xs_header rh;
    do {
        if (!get(&rh, sizeof(rh))) return -XEN_EIO;
        if (rh.len > 4096) return -XEN_EIO;
        if (!get(reply, rh.len)) return -XEN_EIO;
        reply[rh.len] = '\0';
    } while (rh.req_id != h.req_id);  /* watch events (none expected) are skipped */
    if (rh.type == XS_ERROR) {
        if (strcmp(reply, "ENOENT") == 0) return -XEN_ENOENT;
        if (strcmp(reply, "EACCES") == 0) return -XEN_EACCES;
        return -XEN_EINVAL;
    }
    return (long)rh.len;
}

long xs_read(const char *path, char *out, size_t size) {
    long n = talk(XS_READ, path, strlen(path) + 1, NULL, 0);
    if (n < 0) return n;
    size_t copy = (size_t)n < size - 1 ? (size_t)n : size - 1;
    memcpy(out, reply, copy);
    out[copy] = '\0';
    return n;
}

long xs_write(const char *path, const char *value) {
    long n = talk(XS_WRITE, path, strlen(path) + 1, value, strlen(value));
    return n < 0 ? n : 0;
}

bool xs_read_ulong(const char *path, unsigned long *out) {
    char buf[32];
    if (xs_read(path, buf, sizeof(buf)) <= 0) return false;
    unsigned long v = 0;
    for (const char *p = buf; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    *out = v;
    return true;
}

bool xs_wait_value(const char *path, unsigned long want, uint64_t timeout_ns) {
    uint64_t deadline = xen_system_time() + timeout_ns;
    unsigned long v;
    do {
        if (xs_read_ulong(path, &v) && v == want) return true;
        hypercall_yield();
    } while (xen_system_time() < deadline);
    return false;
}
