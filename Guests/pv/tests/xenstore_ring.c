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

#define XENSTORE_SERVER_FEATURE_ERROR 2

static unsigned int watch_events;
static char last_event[128];

static void count_event(const char *path) {
    watch_events++;
    size_t n = strnlen(path, sizeof(last_event) - 1);
    memcpy(last_event, path, n);
    last_event[n] = '\0';
}

static long xs_talk(uint32_t type, const char *a, size_t alen, const char *b, size_t blen) {
    return xs_request(0, type, a, alen, b, blen);
}

/* XS_READ of `path`; the value is in xs_reply. */
static long xs_read(const char *path) { return xs_talk(XS_READ, path, strlen(path) + 1, NULL, 0); }

static void expect_value(const char *path, const char *want) {
    long type = xs_read(path);
    if (!check(type == XS_READ, "READ %s: reply type %ld (%s)", path, type, type == XS_ERROR ? xs_reply : "")) return;
    check(strcmp(xs_reply, want) == 0, "READ %s: \"%s\", expected \"%s\"", path, xs_reply, want);
}

static void expect_number(const char *path, unsigned long want) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%lu", want);
    expect_value(path, buf);
}

static void expect_error(uint32_t type, const char *path, const char *errno_name) {
    long got = xs_talk(type, path, strlen(path) + 1, NULL, 0);
    if (!check(got == XS_ERROR, "%s: reply type %ld, expected XS_ERROR %s", path, got, errno_name)) return;
    check(strcmp(xs_reply, errno_name) == 0, "%s: error %s, expected %s", path, xs_reply, errno_name);
}

void test_main(void) {
    volatile struct xenstore_domain_interface *xs = xs_ring();
    evtchn_port_t xs_port = start_info->store_evtchn;
    check(xs_port != 0, "store_evtchn is 0");
    xs_watch_hook = count_event;

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
    check(type == XS_READ && xs_reply[0] != '\0', "READ name: type %ld, \"%s\"", type, xs_reply);

    /* Write and read back a node of the domain's own. */
    const char path[] = "data/kite-test";
    type = xs_talk(XS_WRITE, path, sizeof(path), "hello", 5);
    if (check(type == XS_WRITE, "WRITE %s: reply type %ld (%s)", path, type, xs_reply))
        check(strcmp(xs_reply, "OK") == 0, "WRITE reply \"%s\"", xs_reply);
    expect_value(path, "hello");

    /* Errors. */
    expect_error(XS_READ, "data/missing", "ENOENT");
    expect_error(XS_READ, "/local/domain/0", "EACCES");

    /* A watch: OK, then an immediate event, then one per change. */
    const char watch[] = "data/kite-test\0tok";
    type = xs_talk(XS_WATCH, watch, sizeof(watch), NULL, 0);
    check(type == XS_WATCH, "WATCH: reply type %ld (%s)", type, xs_reply);
    expect_value(path, "hello"); /* collects the immediate event on the way */
    check_eq("watch events after WATCH", watch_events, 1);
    type = xs_talk(XS_WRITE, path, sizeof(path), "again", 5);
    check(type == XS_WRITE, "second WRITE: reply type %ld (%s)", type, xs_reply);
    expect_value(path, "again");
    check_eq("watch events after a change", watch_events, 2);
    /* A watch set with a relative path reports relative paths (xenstored get_watch_path). */
    check(strcmp(last_event, "data/kite-test") == 0, "event path \"%s\"", last_event);

    /* GET_DOMAIN_PATH, sent in two pieces with a notification after each. */
    struct xsd_sockmsg h = { .type = XS_GET_DOMAIN_PATH, .req_id = 999, .tx_id = 0, .len = 2 };
    xs_ring_put(&h, 10, true);
    hypercall_yield();
    xs_ring_put((const char *)&h + 10, sizeof(h) - 10, true);
    xs_ring_put("1", 2, true);
    if (check(xs_ring_get(&xs_reply_hdr, sizeof(xs_reply_hdr)), "no reply to GET_DOMAIN_PATH")) {
        check_eq("GET_DOMAIN_PATH req_id", xs_reply_hdr.req_id, 999);
        if (xs_reply_hdr.len < sizeof(xs_reply) && xs_ring_get(xs_reply, xs_reply_hdr.len)) {
            xs_reply[xs_reply_hdr.len] = '\0';
            check(strcmp(xs_reply, "/local/domain/1") == 0, "GET_DOMAIN_PATH: \"%s\"", xs_reply);
        }
    }
    check_eq("error still NONE", xs->error, 0);
}
