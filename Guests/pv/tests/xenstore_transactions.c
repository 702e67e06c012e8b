/* xenstore_transactions: xenstore transactions and their watches, as a guest's xenbus
   uses them (public/io/xs_wire.h; tools/xenstored/transaction.c decides every answer):
   - TRANSACTION_START answers a non-zero id; writes inside are invisible outside until
     TRANSACTION_END "T" commits them, "F" discards them;
   - a watch fires for a transaction's change at commit, not before, and not at all for
     an aborted one;
   - a node read in a transaction and changed outside before the commit: END "T" answers
     EAGAIN and nothing of the transaction is applied; retrying (a new START, read again,
     write again) succeeds, as Linux's xenbus_transaction_end callers loop;
   - errors: an unknown tx_id is ENOENT, START inside a transaction EBUSY, END with an
     argument other than "T"/"F" EINVAL (and the transaction survives it);
   - a transaction another connection cannot see: dom0's nodes stay EACCES inside it. */
#include "ktf.h"

const char test_title[] = "xenstore transactions: commit, abort, conflict and retry, watches";

static unsigned int watch_events;
static char last_event[128];

static void count_event(const char *path) {
    watch_events++;
    size_t n = strnlen(path, sizeof(last_event) - 1);
    memcpy(last_event, path, n);
    last_event[n] = '\0';
}

static long xs_talk(uint32_t tx, uint32_t type, const char *a, size_t alen, const char *b, size_t blen) {
    return xs_request(tx, type, a, alen, b, blen);
}

static long xs_read(uint32_t tx, const char *path) { return xs_talk(tx, XS_READ, path, strlen(path) + 1, NULL, 0); }

static long xs_write(uint32_t tx, const char *path, const char *value) {
    return xs_talk(tx, XS_WRITE, path, strlen(path) + 1, value, strlen(value));
}

/* TRANSACTION_START; 0 on failure (0 is never a transaction id). */
static uint32_t xs_start(void) {
    long type = xs_talk(0, XS_TRANSACTION_START, "", 1, NULL, 0);
    if (!check(type == XS_TRANSACTION_START, "TRANSACTION_START: reply type %ld (%s)", type,
               type == XS_ERROR ? xs_reply : ""))
        return 0;
    uint32_t id = 0;
    for (const char *p = xs_reply; *p; p++) {
        if (!check(*p >= '0' && *p <= '9', "TRANSACTION_START: id \"%s\" is not a number", xs_reply)) return 0;
        id = id * 10 + (uint32_t)(*p - '0');
    }
    check(id != 0, "TRANSACTION_START answered id 0");
    return id;
}

/* TRANSACTION_END; the reply type (xs_reply holds "OK" or the errno name). */
static long xs_end(uint32_t tx, bool commit) { return xs_talk(tx, XS_TRANSACTION_END, commit ? "T" : "F", 2, NULL, 0); }

static void expect_value(uint32_t tx, const char *path, const char *want) {
    long type = xs_read(tx, path);
    if (!check(type == XS_READ, "READ %s (tx %u): reply type %ld (%s)", path, tx, type, type == XS_ERROR ? xs_reply : ""))
        return;
    check(strcmp(xs_reply, want) == 0, "READ %s (tx %u): \"%s\", expected \"%s\"", path, tx, xs_reply, want);
}

static void expect_error(long type, const char *what, const char *errno_name) {
    if (!check(type == XS_ERROR, "%s: reply type %ld, expected XS_ERROR %s", what, type, errno_name)) return;
    check(strcmp(xs_reply, errno_name) == 0, "%s: error %s, expected %s", what, xs_reply, errno_name);
}

static void expect_ok(long type, uint32_t expected_type, const char *what) {
    check(type == (long)expected_type && strcmp(xs_reply, "OK") == 0, "%s: reply type %ld \"%s\"", what, type, xs_reply);
}

/* The xenbus pattern: read a counter, write it + 1, commit; on EAGAIN start over. */
static unsigned int increment_with_retry(const char *path, bool interfere, unsigned int *attempts) {
    for (*attempts = 1; *attempts <= 5; (*attempts)++) {
        uint32_t tx = xs_start();
        if (!tx) return 0;
        long type = xs_read(tx, path);
        unsigned int value = 0;
        if (type == XS_READ)
            for (const char *p = xs_reply; *p >= '0' && *p <= '9'; p++) value = value * 10 + (unsigned int)(*p - '0');
        if (interfere && *attempts == 1) expect_ok(xs_write(0, path, "40"), XS_WRITE, "WRITE outside the transaction");
        char buf[16];
        snprintf(buf, sizeof(buf), "%u", value + 1);
        expect_ok(xs_write(tx, path, buf), XS_WRITE, "WRITE in the transaction");
        type = xs_end(tx, true);
        if (type == XS_TRANSACTION_END) return value + 1;
        if (!check(type == XS_ERROR && strcmp(xs_reply, "EAGAIN") == 0, "commit: type %ld \"%s\", expected OK or EAGAIN",
                   type, xs_reply))
            return 0;
    }
    return 0;
}

void test_main(void) {
    volatile struct xenstore_domain_interface *xs = xs_ring();
    if (!check(start_info->store_evtchn != 0, "store_evtchn is 0")) return;
    xs_watch_hook = count_event;
    local_events_disable();

    const char dir[] = "data/tx";
    const char node_a[] = "data/tx/a";
    expect_ok(xs_write(0, dir, ""), XS_WRITE, "WRITE data/tx");

    /* A watch on the directory: its immediate event first. */
    const char watch[] = "data/tx\0txtok";
    long type = xs_talk(0, XS_WATCH, watch, sizeof(watch), NULL, 0);
    expect_ok(type, XS_WATCH, "WATCH data/tx");
    expect_value(0, dir, "");
    check_eq("events after WATCH", watch_events, 1);

    /* Commit: invisible outside until END "T", the watch fires at commit. */
    uint32_t tx = xs_start();
    expect_ok(xs_write(tx, node_a, "1"), XS_WRITE, "WRITE a in the transaction");
    expect_value(tx, node_a, "1");
    expect_error(xs_read(0, node_a), "READ a outside before commit", "ENOENT");
    check_eq("events before commit", watch_events, 1);
    expect_ok(xs_end(tx, true), XS_TRANSACTION_END, "TRANSACTION_END T");
    expect_value(0, node_a, "1");
    check_eq("events after commit", watch_events, 2);
    check(strcmp(last_event, node_a) == 0, "commit event path \"%s\", expected %s", last_event, node_a);

    /* Abort: nothing applied, no event. */
    tx = xs_start();
    expect_ok(xs_write(tx, "data/tx/b", "2"), XS_WRITE, "WRITE b in the transaction");
    expect_ok(xs_end(tx, false), XS_TRANSACTION_END, "TRANSACTION_END F");
    expect_error(xs_read(0, "data/tx/b"), "READ b after abort", "ENOENT");
    check_eq("events after abort", watch_events, 2);
    /* The id is gone with its transaction. */
    expect_error(xs_read(tx, node_a), "READ in an ended transaction", "ENOENT");

    /* Conflict: a node read in the transaction changes outside before the commit. */
    tx = xs_start();
    expect_value(tx, node_a, "1");
    expect_ok(xs_write(0, node_a, "2"), XS_WRITE, "WRITE a outside the transaction");
    expect_ok(xs_write(tx, node_a, "3"), XS_WRITE, "WRITE a in the transaction");
    expect_ok(xs_write(tx, "data/tx/c", "4"), XS_WRITE, "WRITE c in the transaction");
    expect_error(xs_end(tx, true), "commit of a conflicting transaction", "EAGAIN");
    expect_value(0, node_a, "2");
    expect_error(xs_read(0, "data/tx/c"), "READ c after the failed commit", "ENOENT");

    /* Retry until it commits (one interference on the first attempt). */
    expect_ok(xs_write(0, "data/tx/counter", "7"), XS_WRITE, "WRITE counter");
    unsigned int attempts = 0;
    unsigned int result = increment_with_retry("data/tx/counter", true, &attempts);
    check_eq("counter after the retried transaction", result, 41);
    check_eq("attempts", attempts, 2);
    expect_value(0, "data/tx/counter", "41");
    result = increment_with_retry("data/tx/counter", false, &attempts);
    check_eq("counter after an undisturbed transaction", result, 42);
    check_eq("attempts without interference", attempts, 1);

    /* Errors. */
    expect_error(xs_read(12345, node_a), "READ with an unknown tx_id", "ENOENT");
    expect_error(xs_end(12345, true), "END of an unknown transaction", "ENOENT");
    tx = xs_start();
    expect_error(xs_talk(tx, XS_TRANSACTION_START, "", 1, NULL, 0), "START inside a transaction", "EBUSY");
    expect_error(xs_talk(tx, XS_TRANSACTION_END, "X", 2, NULL, 0), "END \"X\"", "EINVAL");
    expect_error(xs_read(tx, "/local/domain/0"), "READ of dom0's directory in a transaction", "EACCES");
    expect_ok(xs_talk(tx, XS_RM, node_a, sizeof(node_a), NULL, 0), XS_RM, "RM a in the transaction");
    expect_value(0, node_a, "2");
    unsigned int before = watch_events;
    expect_ok(xs_end(tx, true), XS_TRANSACTION_END, "commit of the RM (the transaction survived EINVAL)");
    expect_error(xs_read(0, node_a), "READ a after the committed RM", "ENOENT");
    check_eq("events after the committed RM", watch_events, before + 1);
    check_eq("ring error still NONE", xs->error, 0);
}
