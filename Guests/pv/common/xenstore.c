/* The kit's xenstore client: the domain's store ring (public/io/xs_wire.h) polled with
   one request at a time, as the test kernels and the minimal frontends need it. */
#include "ktf.h"

KTF_CHECK_OFFSET(struct xenstore_domain_interface, req_cons, 2048);
KTF_CHECK_OFFSET(struct xenstore_domain_interface, error, 2072);

#define XS_PATIENCE_NS 10000000000ULL

struct xsd_sockmsg xs_reply_hdr;
char xs_reply[XENSTORE_PAYLOAD_MAX + 1];
void (*xs_watch_hook)(const char *path);

volatile struct xenstore_domain_interface *xs_ring(void) {
    return (volatile struct xenstore_domain_interface *)mfn_to_virt(start_info->store_mfn);
}

bool xs_ring_put(const void *data, size_t len, bool notify) {
    volatile struct xenstore_domain_interface *xs = xs_ring();
    const char *p = data;
    uint64_t deadline = xen_system_time() + XS_PATIENCE_NS;
    while (len) {
        uint32_t cons = ACCESS_ONCE(xs->req_cons), prod = xs->req_prod;
        mb();
        uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (space == 0 || space > XENSTORE_RING_SIZE) {
            if (xen_system_time() > deadline) return false;
            evtchn_send(start_info->store_evtchn);
            hypercall_yield();
            continue;
        }
        while (space && len) {
            xs->req[prod++ & (XENSTORE_RING_SIZE - 1)] = *p++;
            space--;
            len--;
        }
        wmb();
        xs->req_prod = prod;
        if (notify) evtchn_send(start_info->store_evtchn);
    }
    return true;
}

bool xs_ring_get(void *data, size_t len) {
    volatile struct xenstore_domain_interface *xs = xs_ring();
    char *p = data;
    uint64_t deadline = xen_system_time() + XS_PATIENCE_NS;
    while (len) {
        uint32_t cons = xs->rsp_cons, prod = ACCESS_ONCE(xs->rsp_prod);
        mb();
        if (prod == cons) {
            if (xen_system_time() > deadline) return false;
            hypercall_yield();
            continue;
        }
        while (cons != prod && len) {
            *p++ = xs->rsp[cons++ & (XENSTORE_RING_SIZE - 1)];
            len--;
        }
        mb();
        xs->rsp_cons = cons;
        evtchn_send(start_info->store_evtchn);
    }
    return true;
}

long xs_request(uint32_t tx, uint32_t type, const void *a, size_t alen, const void *b, size_t blen) {
    static uint32_t next_id = 1;
    struct xsd_sockmsg h = { .type = type, .req_id = next_id++, .tx_id = tx, .len = (uint32_t)(alen + blen) };
    if (!xs_ring_put(&h, sizeof(h), true) || !xs_ring_put(a, alen, true) || (blen && !xs_ring_put(b, blen, true)))
        return -1;
    for (;;) {
        if (!xs_ring_get(&xs_reply_hdr, sizeof(xs_reply_hdr))) return -1;
        if (xs_reply_hdr.len > XENSTORE_PAYLOAD_MAX) return -2;
        if (!xs_ring_get(xs_reply, xs_reply_hdr.len)) return -1;
        xs_reply[xs_reply_hdr.len] = '\0';
        if (xs_reply_hdr.type == XS_WATCH_EVENT) {
            if (xs_watch_hook) xs_watch_hook(xs_reply);
            continue;
        }
        if (xs_reply_hdr.req_id != h.req_id || xs_reply_hdr.tx_id != tx) return -2;
        return xs_reply_hdr.type;
    }
}
