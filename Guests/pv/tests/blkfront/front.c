/* The minimal blkfront of front.h: xenstore helpers, the blkif handshake and ring.
   Follows Linux's xen-blkfront.c (talk_to_blkback, blkif_queue_request, blkif_interrupt)
   and xenbus_client.c for the order of operations. */
#include "front.h"

/* ---- xenstore ---- */

char xs_error[32];

/* One request outside transactions; an error reply's name is kept in xs_error. */
static long xs_talk(uint32_t type, const void *a, size_t alen, const void *b, size_t blen) {
    long type_or_failure = xs_request(0, type, a, alen, b, blen);
    if (type_or_failure == XS_ERROR) {
        size_t n = strnlen(xs_reply, sizeof(xs_error) - 1);
        memcpy(xs_error, xs_reply, n);
        xs_error[n] = '\0';
    }
    return type_or_failure;
}

int xs_read(const char *path, char *buf, size_t size) {
    long type = xs_talk(XS_READ, path, strlen(path) + 1, NULL, 0);
    if (type != XS_READ) {
        if (type != XS_ERROR) snprintf(xs_error, sizeof(xs_error), "reply %ld", type);
        return -1;
    }
    size_t n = xs_reply_hdr.len < size - 1 ? xs_reply_hdr.len : size - 1;
    memcpy(buf, xs_reply, n);
    buf[n] = '\0';
    return 0;
}

int xs_write(const char *path, const char *value) {
    long type = xs_talk(XS_WRITE, path, strlen(path) + 1, value, strlen(value));
    if (type != XS_WRITE) {
        if (type != XS_ERROR) snprintf(xs_error, sizeof(xs_error), "reply %ld", type);
        return -1;
    }
    return 0;
}

int xs_directory(const char *path, char *buf, size_t size) {
    long type = xs_talk(XS_DIRECTORY, path, strlen(path) + 1, NULL, 0);
    if (type != XS_DIRECTORY || xs_reply_hdr.len >= size) return -1;
    memcpy(buf, xs_reply, xs_reply_hdr.len);
    int count = 0;
    for (uint32_t i = 0; i < xs_reply_hdr.len; i++)
        if (buf[i] == '\0') count++;
    buf[xs_reply_hdr.len] = '\0';
    return count;
}

uint64_t xs_read_number(const char *path, uint64_t fallback) {
    char text[32];
    if (xs_read(path, text, sizeof(text)) != 0 || text[0] == '\0') return fallback;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return fallback;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

/* ---- blkfront ---- */

static volatile unsigned int port_events;
static volatile unsigned int timer_events;
unsigned int blkfront_blocks;
static evtchn_port_t device_port;
static evtchn_port_t timer_port;

static void on_device_event(evtchn_port_t port, struct cpu_regs *regs) {
    (void)regs;
    if (port == device_port) port_events++;
}

static void on_timer(evtchn_port_t port, struct cpu_regs *regs) {
    (void)port;
    (void)regs;
    timer_events++;
}

unsigned int blkfront_timer_events(void) { return timer_events; }

unsigned int blkfront_events(const struct blkfront *f) {
    (void)f;
    return port_events;
}

int blkfront_find(struct blkfront *f) {
    memset(f, 0, sizeof(*f));
    char names[256];
    int n = xs_directory("device/vbd", names, sizeof(names));
    if (n <= 0) {
        printk("no device/vbd in xenstore (%d): the domain has no disk\n", n);
        return -1;
    }
    snprintf(f->fe, sizeof(f->fe), "device/vbd/%s", names);
    f->devid = 0;
    for (const char *p = names; *p >= '0' && *p <= '9'; p++) f->devid = f->devid * 10 + (unsigned long)(*p - '0');
    char path[128];
    snprintf(path, sizeof(path), "%s/backend", f->fe);
    if (xs_read(path, f->be, sizeof(f->be)) != 0) {
        printk("READ %s: %s\n", path, xs_error);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/backend-id", f->fe);
    f->backend_id = (domid_t)xs_read_number(path, 0);
    return 0;
}

unsigned long blkfront_wait_backend(struct blkfront *f, unsigned long want, uint64_t deadline) {
    char path[128];
    snprintf(path, sizeof(path), "%s/state", f->be);
    unsigned long state = 0;
    for (;;) {
        state = xs_read_number(path, 0);
        if (state == want || xen_system_time() > deadline) return state;
        hypercall_yield();
    }
}

static int write_front(struct blkfront *f, const char *key, const char *value) {
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->fe, key);
    if (xs_write(path, value) == 0) return 0;
    printk("WRITE %s = %s: %s\n", path, value, xs_error);
    return -1;
}

static uint64_t read_back(struct blkfront *f, const char *key, uint64_t fallback) {
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", f->be, key);
    return xs_read_number(path, fallback);
}

int blkfront_connect(struct blkfront *f, void *ring_page) {
    uint64_t deadline = xen_system_time() + 10 * SECONDS;
    unsigned long state = blkfront_wait_backend(f, 2, deadline);
    if (state != 2) {
        printk("backend %s stayed in state %lu, expected InitWait (2)\n", f->be, state);
        return -1;
    }
    f->flush = read_back(f, "feature-flush-cache", 0) == 1;
    f->barrier = read_back(f, "feature-barrier", 0) == 1;
    f->discard = read_back(f, "feature-discard", 0) == 1;
    f->max_indirect = read_back(f, "feature-max-indirect-segments", 0);

    /* SHARED_RING_INIT + FRONT_RING_INIT. */
    memset(ring_page, 0, 4096);
    f->ring = ring_page;
    f->ring->req_event = 1;
    f->ring->rsp_event = 1;
    f->req_prod_pvt = 0;
    f->rsp_cons = 0;
    f->ring_ref = gnttab_grant_page(f->backend_id, ring_page, false);
    if (evtchn_alloc_unbound(f->backend_id, &f->port) != 0) {
        printk("EVTCHNOP_alloc_unbound for d%u failed\n", f->backend_id);
        return -1;
    }
    device_port = f->port;
    evtchn_set_handler(f->port, on_device_event);
    if (evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port) == 0) evtchn_set_handler(timer_port, on_timer);
    hypercall_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);

    char number[24];
    snprintf(number, sizeof(number), "%u", f->ring_ref);
    if (write_front(f, "ring-ref", number)) return -1;
    snprintf(number, sizeof(number), "%u", f->port);
    if (write_front(f, "event-channel", number)) return -1;
    if (write_front(f, "protocol", "x86_64-abi")) return -1;
    if (write_front(f, "state", "3")) return -1;

    state = blkfront_wait_backend(f, 4, deadline);
    if (state != 4) {
        printk("backend %s is in state %lu after Initialised, expected Connected (4)\n", f->be, state);
        return -1;
    }
    f->sectors = read_back(f, "sectors", 0);
    f->sector_size = read_back(f, "sector-size", 512);
    if (write_front(f, "state", "4")) return -1;
    return 0;
}

volatile union blkif_sring_entry *blkfront_slot(struct blkfront *f) {
    if (f->req_prod_pvt - f->rsp_cons >= BLKIF_RING_SIZE) return NULL;
    volatile union blkif_sring_entry *e = &f->ring->ring[f->req_prod_pvt & (BLKIF_RING_SIZE - 1)];
    f->req_prod_pvt++;
    return e;
}

void blkfront_push(struct blkfront *f) {
    uint32_t old = f->ring->req_prod, new = f->req_prod_pvt;
    wmb(); /* requests before the index */
    f->ring->req_prod = new;
    mb(); /* the index before reading req_event */
    if ((uint32_t)(new - f->ring->req_event) < (uint32_t)(new - old)) evtchn_send(f->port);
}

bool blkfront_response(struct blkfront *f, struct blkif_response *out, uint64_t deadline) {
    for (;;) {
        if (ACCESS_ONCE(f->ring->rsp_prod) != f->rsp_cons) {
            rmb(); /* the index before the response */
            volatile struct blkif_response *r = &f->ring->ring[f->rsp_cons & (BLKIF_RING_SIZE - 1)].rsp;
            out->id = r->id;
            out->operation = r->operation;
            out->status = r->status;
            f->rsp_cons++;
            return true;
        }
        /* RING_FINAL_CHECK_FOR_RESPONSES: ask for an event, then look again. */
        f->ring->rsp_event = f->rsp_cons + 1;
        mb();
        if (ACCESS_ONCE(f->ring->rsp_prod) != f->rsp_cons) continue;
        if (xen_system_time() > deadline) return false;
        hypercall_set_timer_op(xen_system_time() + 1 * MS);
        blkfront_blocks++;
        hypercall_block(); /* unmasks events; returns once one was delivered */
        local_events_disable();
    }
}

int blkfront_close(struct blkfront *f) {
    uint64_t deadline = xen_system_time() + 10 * SECONDS;
    if (write_front(f, "state", "5")) return -1;
    unsigned long state = blkfront_wait_backend(f, 5, deadline);
    if (state != 5 && state != 6) {
        printk("backend %s is in state %lu after Closing\n", f->be, state);
        return -1;
    }
    if (write_front(f, "state", "6")) return -1;
    state = blkfront_wait_backend(f, 6, deadline);
    if (state != 6) {
        printk("backend %s is in state %lu after Closed\n", f->be, state);
        return -1;
    }
    hypercall_set_timer_op(0);
    return 0;
}
