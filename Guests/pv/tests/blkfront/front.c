/* The minimal blkfront of front.h: xenstore client, grant table, blkif handshake and ring.
   Follows Linux's xen-blkfront.c (talk_to_blkback, blkif_queue_request, blkif_interrupt)
   and xenbus_client.c for the order of operations. */
#include "front.h"

/* ---- xenstore ---- */

#define XENSTORE_RING_SIZE 1024
struct xsd_sockmsg {
    uint32_t type, req_id, tx_id, len;
};
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
};
KTF_CHECK_OFFSET(struct xenstore_domain_interface, req_cons, 2048);

static volatile struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;
static char xs_reply[4097];
static struct xsd_sockmsg xs_reply_hdr;
char xs_error[32];

void xs_init(void) {
    xs = (volatile struct xenstore_domain_interface *)mfn_to_virt(start_info->store_mfn);
    xs_port = start_info->store_evtchn;
}

static void xs_put(const void *data, size_t len) {
    const char *p = data;
    while (len) {
        uint32_t cons = ACCESS_ONCE(xs->req_cons), prod = xs->req_prod;
        mb();
        uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (space == 0 || space > XENSTORE_RING_SIZE) {
            evtchn_send(xs_port);
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
        evtchn_send(xs_port);
    }
}

static bool xs_get(void *data, size_t len) {
    char *p = data;
    uint64_t deadline = xen_system_time() + 10 * SECONDS;
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
        evtchn_send(xs_port);
    }
    return true;
}

/* One request whose payload is a then b; the reply's payload lands in xs_reply. Returns
   the reply type, -1 when nothing came, -2 for a malformed reply. */
static long xs_talk(uint32_t type, const void *a, size_t alen, const void *b, size_t blen) {
    static uint32_t next_id = 0x4b00;
    struct xsd_sockmsg h = { .type = type, .req_id = next_id++, .tx_id = 0, .len = (uint32_t)(alen + blen) };
    xs_put(&h, sizeof(h));
    xs_put(a, alen);
    if (blen) xs_put(b, blen);
    for (;;) {
        if (!xs_get(&xs_reply_hdr, sizeof(xs_reply_hdr))) return -1;
        if (xs_reply_hdr.len > 4096) return -2;
        if (!xs_get(xs_reply, xs_reply_hdr.len)) return -1;
        xs_reply[xs_reply_hdr.len] = '\0';
        if (xs_reply_hdr.type == XS_WATCH_EVENT) continue;
        if (xs_reply_hdr.req_id != h.req_id) return -2;
        if (xs_reply_hdr.type == XS_ERROR) {
            size_t n = strnlen(xs_reply, sizeof(xs_error) - 1);
            memcpy(xs_error, xs_reply, n);
            xs_error[n] = '\0';
        }
        return xs_reply_hdr.type;
    }
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

/* ---- grant table ---- */

static volatile struct grant_entry_v1 *gnttab;
static char gnttab_window[4096] __page_aligned_bss;
static grant_ref_t next_ref = GNTTAB_NR_RESERVED_ENTRIES;

long gnttab_init(void) {
    unsigned long frame = 0;
    struct gnttab_setup_table op = { .dom = DOMID_SELF, .nr_frames = 1, .frame_list = &frame };
    long rc = _hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, &op, 1);
    if (rc) return rc;
    if (op.status) return op.status;
    /* PV: the frame list holds machine frames; map the first over a kernel page. */
    uint64_t pte = ((uint64_t)frame << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    rc = hypercall_update_va_mapping((unsigned long)gnttab_window, pte, UVMF_INVLPG | UVMF_LOCAL);
    if (rc) return rc;
    gnttab = (volatile struct grant_entry_v1 *)gnttab_window;
    return 0;
}

grant_ref_t gnttab_grant_page(domid_t domid, const void *va, bool readonly) {
    grant_ref_t ref = next_ref++;
    if (ref >= 4096 / sizeof(struct grant_entry_v1)) panic("out of grant references\n");
    gnttab[ref].frame = (uint32_t)virt_to_mfn(va);
    gnttab[ref].domid = domid;
    wmb(); /* frame and domid before the flags that make the entry valid */
    gnttab[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
    return ref;
}

uint16_t gnttab_flags(grant_ref_t ref) { return gnttab[ref].flags; }

bool gnttab_end_access(grant_ref_t ref) {
    uint16_t flags = gnttab[ref].flags;
    for (;;) {
        if (flags & (GTF_reading | GTF_writing)) return false;
        /* Xen sets GTF_reading/writing with a compare-exchange too: only clear an entry
           nobody mapped in between. */
        if (__atomic_compare_exchange_n(&gnttab[ref].flags, &flags, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
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
