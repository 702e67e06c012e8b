/* balloon: a balloon driver as Linux's (drivers/xen/balloon.c) works for a PV guest, on a
   pool of 256 pages (1 MiB) of its own:
   - it follows memory/target (KiB) in xenstore: above the target it unmaps pool pages,
     invalidates their p2m entries and gives their frames back with
     XENMEM_decrease_reservation; below it takes frames with XENMEM_increase_reservation,
     records them (MMU_MACHPHYS_UPDATE, p2m), maps them and checks they are usable;
   - XENMEM_current_reservation agrees with its own count after every step;
   - it prints "balloon: N pages" after each change so the host can follow, and stops with
     success when the toolstack writes control/shutdown = poweroff (60 s at most).
   SKIP when memory/target cannot be read or the domain has no room above its memory
   (maxmem = memory: nothing for the host to test). */
#include "ktf.h"
#include "../netfront/netfront.h"

const char test_title[] = "balloon: follow memory/target with decrease/increase_reservation";

#define POOL 256
static uint8_t pool[POOL][4096] __page_aligned_bss;
static bool given[POOL];

static long reservation(unsigned int op) {
    domid_t self = DOMID_SELF;
    return hypercall_memory_op(op, &self);
}

static long reserve(unsigned int op, xen_pfn_t *frame) {
    struct xen_memory_reservation r = {
        .extent_start = frame, .nr_extents = 1, .extent_order = 0, .mem_flags = 0, .domid = DOMID_SELF,
    };
    return hypercall_memory_op(op, &r);
}

/* Gives one pool page back; false when none is left or Xen refused. */
static bool release_one(void) {
    for (unsigned int i = 0; i < POOL; i++) {
        if (given[i]) continue;
        unsigned long mfn = virt_to_mfn(pool[i]);
        if (!check_rc("unmap a pool page", hypercall_update_va_mapping((unsigned long)pool[i], 0, UVMF_INVLPG), 0)) return false;
        xen_pfn_t frame = mfn;
        if (!check_eq("decrease_reservation: extents", reserve(XENMEM_decrease_reservation, &frame), 1)) return false;
        ((unsigned long *)start_info->mfn_list)[virt_to_pfn(pool[i])] = ~0UL;
        given[i] = true;
        return true;
    }
    return false;
}

/* Takes one frame back into the pool; false when the pool is full or Xen refused. */
static bool reclaim_one(void) {
    for (unsigned int i = 0; i < POOL; i++) {
        if (!given[i]) continue;
        xen_pfn_t fresh = 0;
        long rc = reserve(XENMEM_increase_reservation, &fresh);
        if (rc != 1) {
            printk("balloon: increase_reservation refused (%ld): at the domain's maximum\n", rc);
            return false;
        }
        unsigned long pfn = virt_to_pfn(pool[i]);
        if (!check_rc("MACHPHYS_UPDATE",
                      hypercall_mmu_update(&(struct mmu_update){ ((uint64_t)fresh << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, pfn },
                                           1, NULL, DOMID_SELF), 0))
            return false;
        ((unsigned long *)start_info->mfn_list)[pfn] = fresh;
        uint64_t pte = ((uint64_t)fresh << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
        if (!check_rc("map a reclaimed frame", hypercall_update_va_mapping((unsigned long)pool[i], pte, UVMF_INVLPG), 0))
            return false;
        pool[i][0] = 0x5a;
        pool[i][4095] = 0xa5;
        check(pool[i][0] == 0x5a && pool[i][4095] == 0xa5, "a reclaimed page does not keep what was written");
        given[i] = false;
        return true;
    }
    return false;
}

void test_main(void) {
    unsigned long target_kib = 0;
    if (!xs_read_ulong("memory/target", &target_kib)) {
        xtf_skip("Skip: no memory/target in xenstore\n");
        return;
    }
    long pages = reservation(XENMEM_current_reservation);
    long maximum = reservation(XENMEM_maximum_reservation);
    printk("balloon: %ld pages, target %lu KiB, maximum %ld pages\n", pages, target_kib, maximum);
    if (maximum <= pages) {
        xtf_skip("Skip: maxmem = memory, no room to balloon\n");
        return;
    }
    uint64_t deadline = xen_system_time() + MS(60000);
    long reported = pages;
    while (xen_system_time() < deadline) {
        char word[16];
        if (xs_read("control/shutdown", word, sizeof(word)) > 0 && strcmp(word, "poweroff") == 0) {
            xtf_success("Success: balloon at %ld pages when asked to power off\n", pages);
            return;
        }
        if (xs_read_ulong("memory/target", &target_kib)) {
            long want = (long)(target_kib / 4);
            while (pages > want && release_one()) pages--;
            while (pages < want && reclaim_one()) pages++;
        }
        if (!check_eq("current_reservation = the balloon's count", reservation(XENMEM_current_reservation), pages)) return;
        if (pages != reported) {
            printk("balloon: %ld pages\n", pages);
            reported = pages;
        }
        for (int i = 0; i < 50; i++) hypercall_yield();
    }
    xtf_failure("Fail: nobody asked for a poweroff within 60 s\n");
}
