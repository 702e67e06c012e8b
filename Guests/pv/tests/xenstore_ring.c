/* xenstore_ring: the domain's xenstore ring (public/io/xs_wire.h, xen-abi.md §7.3) served by
   Kite's xenstored (tools/xenstored: domain.c introduce_domain + domain_conn_reset, core.c):
   - the ring is attached before the domain runs: indexes 0, XENSTORE_SERVER_FEATURE_ERROR
     advertised, connection XENSTORE_CONNECTED, error XENSTORE_ERROR_NONE;
   - the toolstack's layout (libxl): domid, name, store/port, console/port and
     console/ring-ref match start_info (Linux's hvc and xenbus find their rings this way);
   - WRITE + READ of a node the domain owns (data/), relative paths;
   - errors: READ of a missing node gives ENOENT, of dom0's directory EACCES;
   - WATCH fires at once after its OK and again when the node changes, with the path
     relative as the watch was set;
   - GET_DOMAIN_PATH; a request split over two notifications;
   - the daemon notifies the store port when it has produced replies. */
#include "ktf.h"

const char test_title[] = "xenstore ring: layout, read/write, errors, watches";

#define XS_READ 2
#define XS_WATCH 4
#define XS_GET_DOMAIN_PATH 10
#define XS_WRITE 11
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XENSTORE_RING_SIZE 1024
#define XENSTORE_SERVER_FEATURE_ERROR 2

struct xsd_sockmsg {
    uint32_t type, req_id, tx_id, len;
};
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
    uint32_t evtchn_port;
};
_Static_assert(__builtin_offsetof(struct xenstore_domain_interface, req_cons) == 2048, "req_cons");
_Static_assert(__builtin_offsetof(struct xenstore_domain_interface, error) == 2072, "error");

static volatile struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;

static char reply[4097];
static struct xsd_sockmsg reply_hdr;
static unsigned int watch_events;
static char last_event[128];

static void ring_put(const void *data, size_t len, bool notify) {
    const char *p = data;
    while (len) {
        uint32_t cons = ACCESS_ONCE(xs->req_cons), prod = xs->req_prod;
        mb();
        uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (space == 0) {
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
        if (notify) evtchn_send(xs_port);
    }
}

static bool ring_get(void *data, size_t len) {
    char *p = data;
    unsigned long idle = 0;
    while (len) {
        uint32_t cons = xs->rsp_cons, prod = ACCESS_ONCE(xs->rsp_prod);
        mb();
        if (prod == cons) {
            if (++idle > 2000000) return false;
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

/* One request (payload = a then b) and its reply; watch events met on the way are
   counted. Returns the reply type, or -1 when nothing came, -2 for a bad reply. */
static long xs_talk(uint32_t type, const char *a, size_t alen, const char *b, size_t blen) {
    static uint32_t next_id = 1;
    struct xsd_sockmsg h = { .type = type, .req_id = next_id++, .tx_id = 0, .len = (uint32_t)(alen + blen) };
    ring_put(&h, sizeof(h), true);
    ring_put(a, alen, true);
    if (blen) ring_put(b, blen, true);
    for (;;) {
        if (!ring_get(&reply_hdr, sizeof(reply_hdr))) return -1;
        if (reply_hdr.len > 4096) return -2;
        if (!ring_get(reply, reply_hdr.len)) return -1;
        reply[reply_hdr.len] = '\0';
        if (reply_hdr.type == XS_WATCH_EVENT) {
            watch_events++;
            size_t n = strnlen(reply, sizeof(last_event) - 1);
            memcpy(last_event, reply, n);
            last_event[n] = '\0';
            continue;
        }
        if (reply_hdr.req_id != h.req_id) return -2;
        return reply_hdr.type;
    }
}

/* XS_READ of `path`; the value is in `reply`. */
static long xs_read(const char *path) { return xs_talk(XS_READ, path, strlen(path) + 1, NULL, 0); }

static void expect_value(const char *path, const char *want) {
    long type = xs_read(path);
    if (!check(type == XS_READ, "READ %s: reply type %ld (%s)", path, type, type == XS_ERROR ? reply : "")) return;
    check(strcmp(reply, want) == 0, "READ %s: \"%s\", expected \"%s\"", path, reply, want);
}

static void expect_number(const char *path, unsigned long want) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%lu", want);
    expect_value(path, buf);
}

static void expect_error(uint32_t type, const char *path, const char *errno_name) {
    long got = xs_talk(type, path, strlen(path) + 1, NULL, 0);
    if (!check(got == XS_ERROR, "%s: reply type %ld, expected XS_ERROR %s", path, got, errno_name)) return;
    check(strcmp(reply, errno_name) == 0, "%s: error %s, expected %s", path, reply, errno_name);
}

void test_main(void) {
    xs = (volatile struct xenstore_domain_interface *)mfn_to_virt(start_info->store_mfn);
    xs_port = start_info->store_evtchn;
    check(xs_port != 0, "store_evtchn is 0");

    check_eq("req_prod", xs->req_prod, 0);
    check_eq("rsp_prod", xs->rsp_prod, 0);
    check(xs->server_features & XENSTORE_SERVER_FEATURE_ERROR, "server_features %#x lacks ERROR",
          xs->server_features);
    check_eq("connection (XENSTORE_CONNECTED)", xs->connection, 0);
    check_eq("error (XENSTORE_ERROR_NONE)", xs->error, 0);

    local_events_disable();
    evtchn_clear_port(xs_port);

    /* The toolstack's layout. */
    expect_value("domid", "1");
    check(evtchn_is_pending(xs_port), "the daemon did not notify store port %u", xs_port);
    expect_number("store/port", xs_port);
    expect_number("console/port", start_info->console.domU.evtchn);
    expect_number("console/ring-ref", start_info->console.domU.mfn);
    expect_number("store/ring-ref", start_info->store_mfn);
    expect_value("console/type", "xenconsoled");
    expect_value("/local/domain/1/cpu/0/availability", "online");
    long type = xs_read("name");
    check(type == XS_READ && reply[0] != '\0', "READ name: type %ld, \"%s\"", type, reply);

    /* Write and read back a node of the domain's own. */
    const char path[] = "data/kite-test";
    type = xs_talk(XS_WRITE, path, sizeof(path), "hello", 5);
    if (check(type == XS_WRITE, "WRITE %s: reply type %ld (%s)", path, type, reply))
        check(strcmp(reply, "OK") == 0, "WRITE reply \"%s\"", reply);
    expect_value(path, "hello");

    /* Errors. */
    expect_error(XS_READ, "data/missing", "ENOENT");
    expect_error(XS_READ, "/local/domain/0", "EACCES");

    /* A watch: OK, then an immediate event, then one per change. */
    const char watch[] = "data/kite-test\0tok";
    type = xs_talk(XS_WATCH, watch, sizeof(watch), NULL, 0);
    check(type == XS_WATCH, "WATCH: reply type %ld (%s)", type, reply);
    expect_value(path, "hello"); /* collects the immediate event on the way */
    check_eq("watch events after WATCH", watch_events, 1);
    type = xs_talk(XS_WRITE, path, sizeof(path), "again", 5);
    check(type == XS_WRITE, "second WRITE: reply type %ld (%s)", type, reply);
    expect_value(path, "again");
    check_eq("watch events after a change", watch_events, 2);
    /* A watch set with a relative path reports relative paths (xenstored get_watch_path). */
    check(strcmp(last_event, "data/kite-test") == 0, "event path \"%s\"", last_event);

    /* GET_DOMAIN_PATH, sent in two pieces with a notification after each. */
    struct xsd_sockmsg h = { .type = XS_GET_DOMAIN_PATH, .req_id = 999, .tx_id = 0, .len = 2 };
    ring_put(&h, 10, true);
    hypercall_yield();
    ring_put((const char *)&h + 10, sizeof(h) - 10, true);
    ring_put("1", 2, true);
    if (check(ring_get(&reply_hdr, sizeof(reply_hdr)), "no reply to GET_DOMAIN_PATH")) {
        check_eq("GET_DOMAIN_PATH req_id", reply_hdr.req_id, 999);
        if (reply_hdr.len < sizeof(reply) && ring_get(reply, reply_hdr.len)) {
            reply[reply_hdr.len] = '\0';
            check(strcmp(reply, "/local/domain/1") == 0, "GET_DOMAIN_PATH: \"%s\"", reply);
        }
    }
    check_eq("error still NONE", xs->error, 0);
}
