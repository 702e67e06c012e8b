/* A minimal blkfront for KiteXTF kernels (shared by blkfront and bench-block): a
   few xenstore helpers on the kit's client, the kit's grant table, and the blkif frontend
   handshake and ring of public/io/blkif.h and
   io/ring.h (x86_64 ABI). Correct for real Xen: blkback sees what Linux's blkfront does. */
#ifndef KTF_BLKFRONT_H
#define KTF_BLKFRONT_H

#include "ktf.h"

/* ---- xenstore (public/io/xs_wire.h) ---- */

/* READ into buf (NUL-terminated); 0 or -1 (the error name is in xs_error). */
int xs_read(const char *path, char *buf, size_t size);
int xs_write(const char *path, const char *value);
/* DIRECTORY: the children, NUL-separated, in buf; returns their count or -1. */
int xs_directory(const char *path, char *buf, size_t size);
/* An unsigned decimal node; `fallback` when missing or malformed. */
uint64_t xs_read_number(const char *path, uint64_t fallback);
extern char xs_error[32];

/* ---- blkif (public/io/blkif.h, io/ring.h), x86_64 ABI ---- */
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_RESERVED_1 4
#define BLKIF_OP_DISCARD 5
#define BLKIF_OP_INDIRECT 6
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define BLKIF_RSP_EOPNOTSUPP (-2)
#define BLKIF_RSP_ERROR (-1)
#define BLKIF_RSP_OKAY 0

struct blkif_request_segment {
    grant_ref_t gref;
    uint8_t first_sect, last_sect;
};
KTF_CHECK_SIZE(struct blkif_request_segment, 8);

struct blkif_request {
    uint8_t operation;
    uint8_t nr_segments;
    uint16_t handle;
    uint64_t id;
    uint64_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
KTF_CHECK_OFFSET(struct blkif_request, id, 8);
KTF_CHECK_OFFSET(struct blkif_request, sector_number, 16);
KTF_CHECK_OFFSET(struct blkif_request, seg, 24);
KTF_CHECK_SIZE(struct blkif_request, 112);

struct blkif_request_discard {
    uint8_t operation;
    uint8_t flag;
    uint16_t handle;
    uint64_t id;
    uint64_t sector_number;
    uint64_t nr_sectors;
};
KTF_CHECK_SIZE(struct blkif_request_discard, 32);

struct blkif_request_indirect {
    uint8_t operation;
    uint8_t indirect_op;
    uint16_t nr_segments;
    uint64_t id;
    uint64_t sector_number;
    uint16_t handle;
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};
KTF_CHECK_OFFSET(struct blkif_request_indirect, handle, 24);
KTF_CHECK_OFFSET(struct blkif_request_indirect, indirect_grefs, 28);
KTF_CHECK_SIZE(struct blkif_request_indirect, 64);

struct blkif_response {
    uint64_t id;
    uint8_t operation;
    int16_t status;
};
KTF_CHECK_OFFSET(struct blkif_response, status, 10);
KTF_CHECK_SIZE(struct blkif_response, 16);

union blkif_sring_entry {
    struct blkif_request req;
    struct blkif_response rsp;
};

/* One page: 32 slots (RING_SIZE). */
#define BLKIF_RING_SIZE 32
struct blkif_sring {
    uint32_t req_prod, req_event;
    uint32_t rsp_prod, rsp_event;
    uint8_t pvt[4];
    uint8_t pad[44];
    union blkif_sring_entry ring[BLKIF_RING_SIZE];
};
KTF_CHECK_OFFSET(struct blkif_sring, ring, 64);
_Static_assert(sizeof(struct blkif_sring) <= 4096, "blkif ring fits a page");

struct blkfront {
    char fe[48];          /* device/vbd/<devid> */
    char be[96];          /* the backend's directory */
    unsigned long devid;
    domid_t backend_id;
    uint64_t sectors;     /* 512-byte units */
    unsigned long sector_size;
    bool flush, barrier, discard;
    unsigned long max_indirect;
    volatile struct blkif_sring *ring;
    grant_ref_t ring_ref;
    evtchn_port_t port;
    uint32_t req_prod_pvt, rsp_cons;
};

/* Finds the first device/vbd/<id> of the domain; 0, or -1 with the reason printed. */
int blkfront_find(struct blkfront *f);
/* The handshake: waits for InitWait, reads the features, grants `ring_page`, allocates the
   port, publishes ring-ref/event-channel/protocol, Initialised, waits for Connected and
   reads sectors/sector-size. Returns 0 or -1 with the reason printed. */
int blkfront_connect(struct blkfront *f, void *ring_page);
/* The next free request slot (the caller fills it), or NULL when the ring is full. */
volatile union blkif_sring_entry *blkfront_slot(struct blkfront *f);
/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publishes the filled slots, notifies if asked. */
void blkfront_push(struct blkfront *f);
/* Takes the next response; waits (SCHEDOP_block with a 1 ms timer) until `deadline`
   (system time, ns). False on timeout. */
bool blkfront_response(struct blkfront *f, struct blkif_response *out, uint64_t deadline);
/* Frontend Closing then Closed; waits for the backend to reach Closed. 0 or -1. */
int blkfront_close(struct blkfront *f);
/* Waits until the backend's state is `want` (or past `deadline`); returns the last state. */
unsigned long blkfront_wait_backend(struct blkfront *f, unsigned long want, uint64_t deadline);
/* Events seen on the device's port; timer events and SCHEDOP_blocks while waiting. */
unsigned int blkfront_events(const struct blkfront *f);
unsigned int blkfront_timer_events(void);
extern unsigned int blkfront_blocks;

#define MS 1000000ULL
#define SECONDS 1000000000ULL

#endif
