/* blkfront: a virtual disk through blkback's protocol (public/io/blkif.h, xen-abi.md §7.5):
   - finds device/vbd/<devid>, waits for the backend's InitWait, reads its features;
   - the handshake as Linux's talk_to_blkback does it: ring page granted, port allocated for
     the backend, ring-ref / event-channel / protocol, Initialised, backend Connected with
     sectors and sector-size;
   - an 8-segment WRITE at sector 16, FLUSH_DISKCACHE, an 8-segment READ back, compared;
   - first_sect/last_sect inside a page (a 3-sector write into the middle of a page);
   - INDIRECT write and read of 16 pages when feature-max-indirect-segments allows;
   - WRITE_BARRIER and DISCARD when offered;
   - errors blkback gives: a READ past the end and a segment with last_sect 8 get
     BLKIF_RSP_ERROR (dispatch_rw_block_io, xen_vbd_translate), BLKIF_OP_RESERVED_1 gets
     BLKIF_RSP_EOPNOTSUPP (dispatch_other_io); the device keeps working after them;
   - responses echo id and operation (an INDIRECT one its indirect_op), the backend's events arrive on the port;
   - Closing/Closed: the backend follows to Closed and has unmapped every grant.
   Needs a writable disk of at least 1024 sectors (SKIP without a disk). It leaves on the
   disk: sectors 16-79 = pat(1, i), 96-103 = pat(2, i) with bytes 1024-2559 of that page
   = pat(3, i), 128-255 = pat(4, i) when indirect requests ran (i = byte offset from the
   first sector of each area); 512-519 discarded when discard is offered. */
#include "front.h"

const char test_title[] = "blkfront: xenbus handshake, write/flush/read back, indirect, errors, close";

#define PAGES 8
#define IND 16

static char ring_page[4096] __page_aligned_bss;
static char data[PAGES][4096] __page_aligned_bss;
static char back[PAGES][4096] __page_aligned_bss;
static char partial[4096] __page_aligned_bss;
static char indirect_list[4096] __page_aligned_bss;
static char ind_data[IND][4096] __page_aligned_bss;

static struct blkfront f;
static grant_ref_t data_ref[PAGES], back_ref[PAGES], partial_ref, list_ref, ind_ref[IND];
static uint64_t next_id = 0x1000;

static uint8_t pat(unsigned int seed, unsigned long i) { return (uint8_t)(i * 13 + (i >> 9) + seed * 37 + 1); }

static void fill(char *p, size_t n, unsigned int seed, unsigned long start) {
    for (size_t i = 0; i < n; i++) p[i] = (char)pat(seed, start + i);
}

/* Waits for the response to the request just pushed; checks id and operation. Returns
   its status, or 99 when none came. */
static int wait_status(uint64_t id, uint8_t op, const char *what) {
    struct blkif_response r;
    if (!blkfront_response(&f, &r, xen_system_time() + 10 * SECONDS)) {
        xtf_failure("Fail: %s: no response within 10 s\n", what);
        return 99;
    }
    check(r.id == id, "%s: response id %#lx, expected %#lx", what, r.id, id);
    check(r.operation == op, "%s: response operation %u, expected %u", what, r.operation, op);
    return r.status;
}

/* A READ/WRITE/FLUSH/BARRIER with n segments [first, last] of the given pages. */
static int rw(uint8_t op, uint64_t sector, const grant_ref_t *refs, unsigned int n, uint8_t first, uint8_t last,
              const char *what) {
    volatile struct blkif_request *req = &blkfront_slot(&f)->req;
    uint64_t id = next_id++;
    req->operation = op;
    req->nr_segments = (uint8_t)n;
    req->handle = (uint16_t)f.devid;
    req->id = id;
    req->sector_number = sector;
    for (unsigned int i = 0; i < n; i++) {
        req->seg[i].gref = refs[i];
        req->seg[i].first_sect = first;
        req->seg[i].last_sect = last;
    }
    blkfront_push(&f);
    return wait_status(id, op, what);
}

static int indirect(uint8_t op, uint64_t sector, unsigned int n, const char *what) {
    struct blkif_request_segment *segs = (struct blkif_request_segment *)indirect_list;
    for (unsigned int i = 0; i < n; i++) segs[i] = (struct blkif_request_segment){ .gref = ind_ref[i], .first_sect = 0, .last_sect = 7 };
    volatile struct blkif_request_indirect *req = (volatile struct blkif_request_indirect *)&blkfront_slot(&f)->req;
    uint64_t id = next_id++;
    req->operation = BLKIF_OP_INDIRECT;
    req->indirect_op = op;
    req->nr_segments = (uint16_t)n;
    req->id = id;
    req->sector_number = sector;
    req->handle = (uint16_t)f.devid;
    req->indirect_grefs[0] = list_ref;
    blkfront_push(&f);
    /* Answered with indirect_op, as Linux's blkback does and its blkfront checks. */
    return wait_status(id, op, what);
}

static void expect_okay(int status, const char *what) {
    check(status == BLKIF_RSP_OKAY, "%s: status %d, expected BLKIF_RSP_OKAY", what, status);
}

void test_main(void) {
    long rc = evtchn_init();
    if (rc) {
        xtf_error("Error: cannot register the event callbacks: %s\n", xen_errno_name(rc));
        return;
    }
    local_events_disable();
    if (blkfront_find(&f) != 0) {
        xtf_skip("Skip: no virtual disk\n");
        return;
    }
    rc = gnttab_init();
    if (rc) {
        xtf_error("Error: cannot set up the grant table: %ld\n", rc);
        return;
    }
    printk("disk %s, backend %s (d%u)\n", f.fe, f.be, f.backend_id);
    if (blkfront_connect(&f, ring_page) != 0) {
        xtf_failure("Fail: the handshake did not complete\n");
        return;
    }
    printk("connected: %lu sectors of %lu bytes; flush %d barrier %d discard %d, indirect %lu\n",
           (unsigned long)f.sectors, f.sector_size, f.flush, f.barrier, f.discard, f.max_indirect);
    check_eq("sector-size", f.sector_size, 512);
    if (f.sectors < 1024) {
        xtf_skip("Skip: the disk has %lu sectors, the test needs 1024\n", (unsigned long)f.sectors);
        blkfront_close(&f);
        return;
    }
    for (unsigned int i = 0; i < PAGES; i++) {
        data_ref[i] = gnttab_grant_page(f.backend_id, data[i], true);
        back_ref[i] = gnttab_grant_page(f.backend_id, back[i], false);
    }
    partial_ref = gnttab_grant_page(f.backend_id, partial, false);
    list_ref = gnttab_grant_page(f.backend_id, indirect_list, true);
    for (unsigned int i = 0; i < IND; i++) ind_ref[i] = gnttab_grant_page(f.backend_id, ind_data[i], false);

    /* Write, flush, read back. */
    fill(&data[0][0], sizeof(data), 1, 0);
    expect_okay(rw(BLKIF_OP_WRITE, 16, data_ref, PAGES, 0, 7, "8-page WRITE at sector 16"), "WRITE");
    if (f.flush) expect_okay(rw(BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0, 0, 0, "FLUSH_DISKCACHE"), "FLUSH_DISKCACHE");
    memset(back, 0, sizeof(back));
    /* Ask for an event with the next response (rsp_event): the backend notifies only when
       its push crosses it, and a frontend that finds responses already there never asks. */
    unsigned int events_before = blkfront_events(&f);
    f.ring->rsp_event = f.rsp_cons + 1;
    mb();
    expect_okay(rw(BLKIF_OP_READ, 16, back_ref, PAGES, 0, 7, "8-page READ at sector 16"), "READ");
    check(memcmp(back, data, sizeof(data)) == 0, "the sectors read back differ from those written");
    /* The backend pushes a response, then notifies: the ring may show it first, and with
       events masked here the notification stays pending rather than upcalling. */
    uint64_t event_deadline = xen_system_time() + 2 * SECONDS;
    while (blkfront_events(&f) == events_before && !evtchn_is_pending(f.port) && xen_system_time() < event_deadline)
        hypercall_yield();
    check(blkfront_events(&f) > events_before || evtchn_is_pending(f.port), "no event from the backend on port %u", f.port);

    /* Sectors inside a page: the whole page, then sectors 2-4 of another page over it. */
    fill(data[0], 4096, 2, 0);
    expect_okay(rw(BLKIF_OP_WRITE, 96, data_ref, 1, 0, 7, "WRITE at sector 96"), "WRITE 96");
    fill(partial, 4096, 3, 0);
    expect_okay(rw(BLKIF_OP_WRITE, 98, &partial_ref, 1, 2, 4, "WRITE of sectors 2-4 of a page at 98"), "partial WRITE");
    memset(back[0], 0, 4096);
    expect_okay(rw(BLKIF_OP_READ, 96, back_ref, 1, 0, 7, "READ at sector 96"), "READ 96");
    bool same = true;
    for (unsigned long i = 0; i < 4096; i++) {
        uint8_t want = (i >= 1024 && i < 2560) ? pat(3, i) : pat(2, i);
        if ((uint8_t)back[0][i] != want) same = false;
    }
    check(same, "a write of sectors 2-4 of a page did not land at sectors 98-100");

    /* Errors: past the end, a bad segment, an unknown operation. The device keeps going. */
    check_eq("READ of 8 sectors from sectors-4 (BLKIF_RSP_ERROR)",
             (uint64_t)(int64_t)rw(BLKIF_OP_READ, f.sectors - 4, back_ref, 1, 0, 7, "READ past the end"),
             (uint64_t)(int64_t)BLKIF_RSP_ERROR);
    check_eq("READ with last_sect 8 (BLKIF_RSP_ERROR)",
             (uint64_t)(int64_t)rw(BLKIF_OP_READ, 0, back_ref, 1, 0, 8, "READ with last_sect 8"),
             (uint64_t)(int64_t)BLKIF_RSP_ERROR);
    check_eq("BLKIF_OP_RESERVED_1 (BLKIF_RSP_EOPNOTSUPP)",
             (uint64_t)(int64_t)rw(BLKIF_OP_RESERVED_1, 0, NULL, 0, 0, 0, "BLKIF_OP_RESERVED_1"),
             (uint64_t)(int64_t)BLKIF_RSP_EOPNOTSUPP);
    memset(back[0], 0, 4096);
    expect_okay(rw(BLKIF_OP_READ, 16, back_ref, 1, 0, 7, "READ after the errors"), "READ after errors");
    bool intact = true;
    for (unsigned long i = 0; i < 4096; i++)
        if ((uint8_t)back[0][i] != pat(1, i)) intact = false;
    check(intact, "sector 16 reads differently after the errors");

    /* Indirect requests. */
    if (f.max_indirect >= IND) {
        for (unsigned int i = 0; i < IND; i++) fill(ind_data[i], 4096, 4, (unsigned long)i * 4096);
        expect_okay(indirect(BLKIF_OP_WRITE, 128, IND, "INDIRECT WRITE of 16 pages at 128"), "INDIRECT WRITE");
        memset(ind_data, 0, sizeof(ind_data));
        expect_okay(indirect(BLKIF_OP_READ, 128, IND, "INDIRECT READ of 16 pages at 128"), "INDIRECT READ");
        bool ok = true;
        for (unsigned long i = 0; i < sizeof(ind_data); i++)
            if ((uint8_t)ind_data[i / 4096][i % 4096] != pat(4, i)) ok = false;
        check(ok, "indirect READ returned other data than the indirect WRITE wrote");
    } else {
        printk("indirect requests not offered\n");
    }

    if (f.barrier) {
        fill(&data[0][0], 4096, 1, 0);
        expect_okay(rw(BLKIF_OP_WRITE_BARRIER, 16, data_ref, 1, 0, 7, "WRITE_BARRIER"), "WRITE_BARRIER");
    }
    if (f.discard) {
        volatile struct blkif_request_discard *d = (volatile struct blkif_request_discard *)&blkfront_slot(&f)->req;
        uint64_t id = next_id++;
        d->operation = BLKIF_OP_DISCARD;
        d->flag = 0;
        d->handle = (uint16_t)f.devid;
        d->id = id;
        d->sector_number = 512;
        d->nr_sectors = 8;
        blkfront_push(&f);
        expect_okay(wait_status(id, BLKIF_OP_DISCARD, "DISCARD"), "DISCARD of sectors 512-519");
    }

    /* Close: the backend lets go of every page. */
    if (!check(blkfront_close(&f) == 0, "the backend did not close")) return;
    check(gnttab_end_access(f.ring_ref), "the ring page is still mapped after Closed (flags %#x)", gnttab_flags(f.ring_ref));
    bool released = true;
    for (unsigned int i = 0; i < PAGES; i++)
        released = released && gnttab_end_access(data_ref[i]) && gnttab_end_access(back_ref[i]);
    for (unsigned int i = 0; i < IND; i++) released = released && gnttab_end_access(ind_ref[i]);
    released = released && gnttab_end_access(partial_ref) && gnttab_end_access(list_ref);
    check(released, "a data page is still mapped by the backend after Closed");
}
