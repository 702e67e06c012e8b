/* bench-mmu_update: N single-entry mmu_update calls, each flipping the L1 entry of a
   scratch page between two of our frames (a full validate/put per call), then one
   more batched variant (64 updates per call). Prints the guest-side time and SUCCESS. */
#include "ktf.h"

const char test_title[] = "bench: mmu_update loop";

#define N 20000UL
#define BATCH 64

static uint8_t window[4096] __page_aligned_bss;
static uint8_t frame_a[4096] __page_aligned_bss;
static uint8_t frame_b[4096] __page_aligned_bss;

void test_main(void) {
    uint64_t ptr = 0;
    int level = 0;
    pt_walk((unsigned long)window, &level, &ptr);
    if (level != 1) {
        xtf_error("Error: no L1 entry for the scratch page\n");
        return;
    }
    const uint64_t flags = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    uint64_t pte[2] = { ((uint64_t)virt_to_mfn(frame_a) << PAGE_SHIFT) | flags,
                        ((uint64_t)virt_to_mfn(frame_b) << PAGE_SHIFT) | flags };

    uint64_t t0 = xen_system_time();
    for (unsigned long i = 0; i < N; i++) {
        struct mmu_update u = { ptr | MMU_NORMAL_PT_UPDATE, pte[i & 1] };
        long rc = hypercall_mmu_update(&u, 1, NULL, DOMID_SELF);
        if (rc) {
            xtf_failure("Fail: mmu_update %lu returned %s\n", i, xen_errno_name(rc));
            return;
        }
    }
    uint64_t t1 = xen_system_time();
    static struct mmu_update batch[BATCH];
    for (unsigned int j = 0; j < BATCH; j++) batch[j] = (struct mmu_update){ ptr | MMU_NORMAL_PT_UPDATE, pte[j & 1] };
    for (unsigned long i = 0; i < N / BATCH; i++) {
        unsigned int done = 0;
        long rc = hypercall_mmu_update(batch, BATCH, &done, DOMID_SELF);
        if (rc || done != BATCH) {
            xtf_failure("Fail: batched mmu_update %lu returned %s, done %u\n", i, xen_errno_name(rc), done);
            return;
        }
    }
    uint64_t t2 = xen_system_time();

    /* Put the scratch page's own frame back. */
    struct mmu_update u = { ptr | MMU_NORMAL_PT_UPDATE, ((uint64_t)virt_to_mfn(window) << PAGE_SHIFT) | flags };
    hypercall_mmu_update(&u, 1, NULL, DOMID_SELF);
    struct mmuext_op flush = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    hypercall_mmuext_op(&flush, 1, NULL, DOMID_SELF);

    printk("%lu single mmu_updates: %lu ns (%lu ns/update)\n", N, t1 - t0, (t1 - t0) / N);
    printk("%lu mmu_updates in batches of %d: %lu ns (%lu ns/update)\n", (N / BATCH) * BATCH, BATCH, t2 - t1,
           (t2 - t1) / ((N / BATCH) * BATCH));
}
