/* memory: XENMEM_* for a PV domU (public/memory.h; common/memory.c, arch/x86 memory_op):
   - current_reservation(DOMID_SELF) is the domain's page count (start_info.nr_pages for a
     freshly built domain), maximum_reservation is not below it;
   - decrease_reservation of one (unmapped) frame returns 1 extent and the count drops;
     increase_reservation returns 1 extent with a new MFN we can map, give a pfn
     (MMU_MACHPHYS_UPDATE) and use; releasing a frame that is not ours does 0 extents;
   - machphys_mapping is {0xffff800000000000, 0xffff804000000000, 2^35 - 1} for a domU;
   - maximum_ram_page lies above every MFN we own;
   - memory_map: one or more e820 entries, or -ENOSYS if the toolstack set none;
   - an unknown sub-op is -ENOSYS; unreadable arguments are -EFAULT. */
#include "ktf.h"

const char test_title[] = "memory_op: reservations, machphys, memory_map";

static uint8_t victim[4096] __page_aligned_bss;

static long reservation(unsigned int op) {
    domid_t self = DOMID_SELF;
    return hypercall_memory_op(op, &self);
}

static long reserve(unsigned int op, xen_pfn_t *extents, unsigned long nr) {
    struct xen_memory_reservation r = {
        .extent_start = extents, .nr_extents = nr, .extent_order = 0, .mem_flags = 0, .domid = DOMID_SELF,
    };
    return hypercall_memory_op(op, &r);
}

static void test_counts(long *current_out) {
    long cur = reservation(XENMEM_current_reservation);
    long max = reservation(XENMEM_maximum_reservation);
    printk("current_reservation %ld pages, maximum_reservation %ld pages, nr_pages %lu\n", cur, max,
           start_info->nr_pages);
    check_eq("current_reservation = start_info.nr_pages", cur, start_info->nr_pages);
    check(max >= cur, "maximum_reservation %ld < current_reservation %ld", max, cur);
    *current_out = cur;

    domid_t dom0 = 0;
    long rc = hypercall_memory_op(XENMEM_current_reservation, &dom0);
    check_rc2("current_reservation of domain 0", rc, -XEN_EPERM, -XEN_ESRCH);
    check_rc("current_reservation from an unmapped domid", hypercall_memory_op(XENMEM_current_reservation, (void *)0x00007ff000000000UL), -XEN_EFAULT);
}

static void test_balloon(long cur) {
    unsigned long pfn = virt_to_pfn(victim), old_mfn = virt_to_mfn(victim);

    /* Drop our only mapping first so the frame is really freed. */
    if (!check_rc("unmap the victim page", hypercall_update_va_mapping((unsigned long)victim, 0, UVMF_INVLPG), 0)) return;
    xen_pfn_t ext = old_mfn;
    long rc = reserve(XENMEM_decrease_reservation, &ext, 1);
    if (!check_eq("decrease_reservation: extents done", rc, 1)) return;
    check_eq("current_reservation after decrease", reservation(XENMEM_current_reservation), cur - 1);

    xen_pfn_t fresh = 0;
    rc = reserve(XENMEM_increase_reservation, &fresh, 1);
    if (!check_eq("increase_reservation: extents done", rc, 1)) return;
    printk("gave back MFN %#lx, got MFN %#lx\n", old_mfn, fresh);
    check_eq("current_reservation after increase", reservation(XENMEM_current_reservation), cur);

    /* Make the new frame our pfn: M2P, our P2M, and the mapping. */
    check_rc("MACHPHYS_UPDATE for the new frame",
             hypercall_mmu_update(&(struct mmu_update){ ((uint64_t)fresh << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, pfn }, 1,
                                  NULL, DOMID_SELF), 0);
    ((unsigned long *)start_info->mfn_list)[pfn] = fresh;
    uint64_t pte = ((uint64_t)fresh << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    if (!check_rc("map the new frame", hypercall_update_va_mapping((unsigned long)victim, pte, UVMF_INVLPG), 0)) return;
    check_ex("write the new frame", probe_write(victim, 0x600dUL), 0);
    check_eq("read the new frame", *(volatile unsigned long *)victim, 0x600dUL);
    check_eq("m2p of the new frame", m2p(fresh), pfn);
}

static void test_bad_release(void) {
    xen_pfn_t ext = 1UL << 32; /* not RAM */
    long before = reservation(XENMEM_current_reservation);
    check_eq("decrease_reservation of a non-RAM MFN: extents done", reserve(XENMEM_decrease_reservation, &ext, 1), 0);
    check_eq("current_reservation unchanged", reservation(XENMEM_current_reservation), before);
    check_rc("decrease_reservation with an unmapped argument",
             hypercall_memory_op(XENMEM_decrease_reservation, (void *)0x00007ff000000000UL), -XEN_EFAULT);
}

static void test_machphys(void) {
    struct xen_machphys_mapping m = { 0, 0, 0 };
    check_rc("machphys_mapping", hypercall_memory_op(XENMEM_machphys_mapping, &m), 0);
    check_eq("machphys_mapping.v_start", m.v_start, MACH2PHYS_VIRT_START);
    check_eq("machphys_mapping.v_end", m.v_end, MACH2PHYS_VIRT_END);
    check_eq("machphys_mapping.max_mfn (domU)", m.max_mfn, ((MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >> 3) - 1);

    long max_page = hypercall_memory_op(XENMEM_maximum_ram_page, NULL);
    unsigned long highest = 0;
    for (unsigned long i = 0; i < start_info->nr_pages; i++)
        if (p2m()[i] > highest) highest = p2m()[i];
    printk("maximum_ram_page %#lx, highest own MFN %#lx\n", max_page, highest);
    check(max_page > 0 && (unsigned long)max_page > highest, "maximum_ram_page %#lx <= own MFN %#lx", max_page, highest);
}

static void test_memory_map(void) {
    struct e820entry map[16];
    memset(map, 0xee, sizeof(map));
    struct xen_memory_map mm = { .nr_entries = 16, .buffer = map };
    long rc = hypercall_memory_op(XENMEM_memory_map, &mm);
    if (rc == -XEN_ENOSYS) {
        printk("memory_map: -ENOSYS (no map set by the toolstack)\n");
        return;
    }
    if (!check_rc("memory_map", rc, 0)) return;
    check(mm.nr_entries >= 1 && mm.nr_entries <= 16, "memory_map: %u entries", mm.nr_entries);
    uint64_t ram = 0;
    for (unsigned int i = 0; i < mm.nr_entries && i < 16; i++) {
        printk("  e820[%u]: %#lx + %#lx type %u\n", i, map[i].addr, map[i].size, map[i].type);
        if (map[i].type == E820_RAM) ram += map[i].size;
    }
    check(ram >= (start_info->nr_pages << PAGE_SHIFT), "memory_map: %#lx bytes of RAM < nr_pages", ram);
    mm.nr_entries = 16;
    mm.buffer = (void *)0x00007ff000000000UL;
    check_rc("memory_map into an unmapped buffer", hypercall_memory_op(XENMEM_memory_map, &mm), -XEN_EFAULT);
}

void test_main(void) {
    long cur = 0;
    test_counts(&cur);
    test_machphys();
    test_memory_map();
    test_balloon(cur);
    test_bad_release();
    check_rc("unknown memory_op 60", hypercall_memory_op(60, NULL), -XEN_ENOSYS);
    check_rc("machphys_mapping into an unmapped buffer",
             hypercall_memory_op(XENMEM_machphys_mapping, (void *)0x00007ff000000000UL), -XEN_EFAULT);
}
