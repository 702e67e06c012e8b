/* bench-block: sequential disk throughput seen by a PV guest, for the host to compare with
   its own reads of the image (kite-bench block). Connects to device/vbd like blkfront,
   then keeps the ring full of 11-segment (44 KiB) requests: writes the first BENCH_BYTES
   of the disk (or all of a smaller disk), flushes (timed apart), then reads them back.
   Prints
     bench-block write: <bytes> bytes in <ns> ns (<MB/s> MB/s)
     bench-block read: <bytes> bytes in <ns> ns (<MB/s> MB/s)
   (guest system time; MB = 10^6 bytes) and SUCCESS. Needs a writable disk (SKIP without). */
#include "../blkfront/front.h"

const char test_title[] = "bench: sequential blkif write and read";

#define BENCH_BYTES (64UL << 20)
#define SEGS BLKIF_MAX_SEGMENTS_PER_REQUEST
#define SLOTS BLKIF_RING_SIZE

static char ring_page[4096] __page_aligned_bss;
static char buffers[SLOTS][SEGS][4096] __page_aligned_bss;
static grant_ref_t refs[SLOTS][SEGS];
static struct blkfront f;

/* Streams [0, bytes) through the ring with `op`; returns elapsed ns, 0 on failure. */
static uint64_t stream(uint8_t op, uint64_t bytes) {
    const uint64_t chunk = SEGS * 4096UL;
    uint64_t offset = 0, outstanding = 0;
    uint64_t t0 = xen_system_time();
    while (offset < bytes || outstanding > 0) {
        bool queued = false;
        while (offset < bytes) {
            volatile union blkif_sring_entry *e = blkfront_slot(&f);
            if (!e) break;
            uint64_t slot = (f.req_prod_pvt - 1) & (SLOTS - 1);
            uint64_t len = bytes - offset < chunk ? bytes - offset : chunk;
            unsigned int segs = (unsigned int)((len + 4095) / 4096);
            e->req.operation = op;
            e->req.nr_segments = (uint8_t)segs;
            e->req.handle = (uint16_t)f.devid;
            e->req.id = slot;
            e->req.sector_number = offset / 512;
            for (unsigned int s = 0; s < segs; s++) {
                e->req.seg[s].gref = refs[slot][s];
                e->req.seg[s].first_sect = 0;
                e->req.seg[s].last_sect = 7;
            }
            offset += len;
            outstanding++;
            queued = true;
        }
        if (queued) blkfront_push(&f);
        struct blkif_response r;
        if (!blkfront_response(&f, &r, xen_system_time() + 30 * SECONDS)) {
            xtf_failure("Fail: no response within 30 s (%lu outstanding)\n", outstanding);
            return 0;
        }
        if (r.status != BLKIF_RSP_OKAY || r.operation != op) {
            xtf_failure("Fail: request %lu: operation %u status %d\n", r.id, r.operation, r.status);
            return 0;
        }
        outstanding--;
    }
    return xen_system_time() - t0;
}

static void report(const char *what, uint64_t bytes, uint64_t ns) {
    uint64_t mbps = ns ? bytes * 1000 / ns : 0;
    printk("bench-block %s: %lu bytes in %lu ns (%lu MB/s)\n", what, bytes, ns, mbps);
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
    if ((rc = gnttab_init()) != 0) {
        xtf_error("Error: cannot set up the grant table: %ld\n", rc);
        return;
    }
    if (blkfront_connect(&f, ring_page) != 0) {
        xtf_failure("Fail: the handshake did not complete\n");
        return;
    }
    uint64_t bytes = f.sectors * 512 < BENCH_BYTES ? f.sectors * 512 : BENCH_BYTES;
    bytes &= ~4095UL;
    if (bytes == 0) {
        xtf_skip("Skip: the disk is smaller than a page\n");
        return;
    }
    for (unsigned int i = 0; i < SLOTS; i++)
        for (unsigned int s = 0; s < SEGS; s++) {
            memset(buffers[i][s], (int)(i * SEGS + s + 1), 4096);
            refs[i][s] = gnttab_grant_page(f.backend_id, buffers[i][s], false);
        }

    uint64_t write_ns = stream(BLKIF_OP_WRITE, bytes);
    if (!write_ns) return;
    uint64_t flush_start = xen_system_time();
    if (f.flush) {
        volatile struct blkif_request *req = &blkfront_slot(&f)->req;
        req->operation = BLKIF_OP_FLUSH_DISKCACHE;
        req->nr_segments = 0;
        req->handle = (uint16_t)f.devid;
        req->id = 0xF1;
        req->sector_number = 0;
        blkfront_push(&f);
        struct blkif_response r;
        if (!blkfront_response(&f, &r, xen_system_time() + 30 * SECONDS) || r.status != BLKIF_RSP_OKAY) {
            xtf_failure("Fail: the flush failed\n");
            return;
        }
    }
    uint64_t flush_ns = xen_system_time() - flush_start;
    uint64_t read_ns = stream(BLKIF_OP_READ, bytes);
    if (!read_ns) return;
    report("write", bytes, write_ns);
    report("read", bytes, read_ns);
    printk("bench-block flush after the writes: %lu ns\n", flush_ns);
    printk("bench-block waits: %u blocks, %u device events, %u timer events\n", blkfront_blocks,
           blkfront_events(&f), blkfront_timer_events());
    blkfront_close(&f);
}
