/* mmu: mmu_update, update_va_mapping and mmuext_op, legal and hostile, with the errnos
   of xen/arch/x86/mm.c:
   - get_page_from_l1e: flags outside P/RW/US/A/D/AVAIL/NX (e.g. PCD, PAT) -> -EINVAL; an
     MFN that is not RAM (mfn_valid false) -> -EPERM ("non-privileged attempt to map
     MMIO space"), except the all-ones MFN -> -EINVAL; a writable mapping of a frame
     whose type is not writable (a page table) -> -EBUSY (could_not_pin);
   - pinning (do_mmuext_op pin_page): a page still mapped writable, or one whose entries
     fail validation -> the validation error (-EINVAL for bad flags, -EPERM for a non-RAM
     MFN); pinning twice or unpinning an unpinned page -> -EINVAL;
   - MMUEXT_MARK_SUPER/UNMARK_SUPER -> -EOPNOTSUPP; unknown cmd -> -ENOSYS; bad op or
     request pointers -> -EFAULT; `done` counts the requests processed;
   - mod_l4_entry: Xen's slots 256-271 -> -EINVAL; a self-referencing (linear) L4 entry
     is allowed read-only and refused writable (get_l4_linear_pagetable);
   - update_va_mapping of a VA without an L1 -> -EINVAL;
   - with VMASST_TYPE_writable_pagetables a kernel write to a read-only mapped L1 is
     emulated and validated (pv_ro_page_fault / ptwr): a valid entry goes in, an invalid
     one gets the original #PF; without the assist every such write faults. */
#include "ktf.h"

const char test_title[] = "mmu_update, update_va_mapping, mmuext_op";

#define PTE_RW (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define PTE_RO (_PAGE_PRESENT | _PAGE_ACCESSED)
#define PTE_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)
#define HUGE_MFN (1UL << 32)          /* 16 TiB: not RAM anywhere */
#define ALL_ONES_MFN 0xFFFFFFFFFFUL    /* PADDR_MASK >> PAGE_SHIFT */

static uint8_t page_a[4096] __page_aligned_bss;
static uint8_t page_b[4096] __page_aligned_bss;
static uint8_t page_p[4096] __page_aligned_bss; /* becomes an L1 table */
static uint8_t page_g[4096] __page_aligned_bss; /* garbage */
static uint8_t page_h[4096] __page_aligned_bss; /* L1 with a non-RAM entry */

static uint64_t pte_of(const void *page, uint64_t flags) {
    return ((uint64_t)virt_to_mfn(page) << PAGE_SHIFT) | flags;
}
static long remap(void *va, uint64_t pte) {
    return hypercall_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG | UVMF_LOCAL);
}
static long ext1(unsigned int cmd, unsigned long mfn) {
    struct mmuext_op op = { .cmd = cmd };
    op.arg1.mfn = mfn;
    return hypercall_mmuext_op(&op, 1, NULL, DOMID_SELF);
}
static long mmu1(uint64_t ptr, uint64_t val, unsigned int *done) {
    struct mmu_update u = { .ptr = ptr, .val = val };
    return hypercall_mmu_update(&u, 1, done, DOMID_SELF);
}

/* Machine address of the L1 entry that maps va (initial tables: 4 levels, no PSE). */
static uint64_t l1e_maddr(const void *va) {
    uint64_t maddr = 0;
    int level = 0;
    pt_walk((unsigned long)va, &level, &maddr);
    return level == 1 ? maddr : 0;
}

static void test_remap_own_frame(void) {
    memset(page_a, 0x11, sizeof(page_a));
    memset(page_b, 0x22, sizeof(page_b));

    /* update_va_mapping: alias page_b's VA to page_a's frame. */
    if (!check_rc("update_va_mapping(b -> frame of a)", remap(page_b, pte_of(page_a, PTE_RW)), 0)) return;
    check_eq("read through the alias", ACCESS_ONCE(page_b[0]), 0x11);
    ACCESS_ONCE(page_b[1]) = 0x33;
    check_eq("write through the alias lands in a", ACCESS_ONCE(page_a[1]), 0x33);
    check_rc("restore b", remap(page_b, pte_of(page_b, PTE_RW)), 0);
    check_eq("b's own frame is back", ACCESS_ONCE(page_b[0]), 0x22);

    /* mmu_update on the L1 entry's machine address. */
    uint64_t ptr = l1e_maddr(page_b);
    if (!check(ptr != 0, "no L1 entry for page_b")) return;
    unsigned int done = 0xdead;
    check_rc("mmu_update(NORMAL_PT_UPDATE b -> a)", mmu1(ptr | MMU_NORMAL_PT_UPDATE, pte_of(page_a, PTE_RW), &done), 0);
    check_eq("mmu_update done", done, 1);
    hypercall_mmuext_op(&(struct mmuext_op){ .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = (unsigned long)page_b },
                        1, NULL, DOMID_SELF);
    check_eq("read through the mmu_update alias", ACCESS_ONCE(page_b[0]), 0x11);
    check_rc("mmu_update(PRESERVE_AD b -> b)", mmu1(ptr | MMU_PT_UPDATE_PRESERVE_AD, pte_of(page_b, PTE_RW), NULL), 0);
    hypercall_mmuext_op(&(struct mmuext_op){ .cmd = MMUEXT_TLB_FLUSH_LOCAL }, 1, NULL, DOMID_SELF);
    check_eq("b restored by mmu_update", ACCESS_ONCE(page_b[0]), 0x22);
}

static void test_bad_mappings(void) {
    check_rc("map a non-RAM MFN", remap(page_b, (HUGE_MFN << PAGE_SHIFT) | PTE_RW), -XEN_EPERM);
    check_rc("map the all-ones MFN", remap(page_b, (ALL_ONES_MFN << PAGE_SHIFT) | PTE_RW), -XEN_EINVAL);
    check_rc("map with PCD", remap(page_b, pte_of(page_b, PTE_RW | _PAGE_PCD)), -XEN_EINVAL);
    check_rc("map with PWT", remap(page_b, pte_of(page_b, PTE_RW | _PAGE_PWT)), -XEN_EINVAL);
    check_rc("map with PAT", remap(page_b, pte_of(page_b, PTE_RW | _PAGE_PSE)), -XEN_EINVAL);
    check_eq("b unchanged after refused updates", ACCESS_ONCE(page_b[0]), 0x22);

    check_rc("update_va_mapping of a VA with no L1", remap((void *)0x00007ff000000000UL, pte_of(page_b, PTE_RW)), -XEN_EINVAL);
    check_rc("update_va_mapping in Xen's area", remap((void *)HYPERVISOR_VIRT_START, pte_of(page_b, PTE_RW)), -XEN_EINVAL);

    /* Page-table frames may be mapped read-only but never writable. */
    void *l4 = (void *)start_info->pt_base;
    check_rc("map the L4 writable in place", remap(l4, pte_of(l4, PTE_RW)), -XEN_EBUSY);
    uint64_t l1e = pt_walk((unsigned long)l4, NULL, NULL);
    check(!(l1e & _PAGE_RW), "the L4 became writable: %#lx", l1e);
    check_rc("alias b -> L4 read-only", remap(page_b, pte_of(l4, PTE_RO)), 0);
    check_rc("alias b -> L4 writable", remap(page_b, pte_of(l4, PTE_RW)), -XEN_EBUSY);
    check_rc("restore b", remap(page_b, pte_of(page_b, PTE_RW)), 0);
}

static void test_pinning(void) {
    unsigned long p = virt_to_mfn(page_p);
    memset(page_p, 0, sizeof(page_p));

    check_rc("pin L1 while mapped writable", ext1(MMUEXT_PIN_L1_TABLE, p), -XEN_EINVAL);
    check_rc("map it read-only", remap(page_p, pte_of(page_p, PTE_RO)), 0);
    check_rc("pin an empty L1", ext1(MMUEXT_PIN_L1_TABLE, p), 0);
    check_rc("pin it again", ext1(MMUEXT_PIN_L1_TABLE, p), -XEN_EINVAL);
    check_rc("pin it as L2 while it is an L1", ext1(MMUEXT_PIN_L2_TABLE, p), -XEN_EINVAL);
    check_rc("map the pinned L1 writable", remap(page_p, pte_of(page_p, PTE_RW)), -XEN_EBUSY);
    check_ex("write to the pinned L1", probe_write(page_p, 0), EXINFO_SYM(PF, PFEC_present | PFEC_write));
    check_rc("unpin it", ext1(MMUEXT_UNPIN_TABLE, p), 0);
    check_rc("unpin it again", ext1(MMUEXT_UNPIN_TABLE, p), -XEN_EINVAL);
    check_rc("map it writable after unpin", remap(page_p, pte_of(page_p, PTE_RW)), 0);

    check_rc("unpin a page that was never pinned", ext1(MMUEXT_UNPIN_TABLE, virt_to_mfn(page_a)), -XEN_EINVAL);
    check_rc("pin a non-RAM MFN", ext1(MMUEXT_PIN_L1_TABLE, HUGE_MFN), -XEN_EINVAL);

    /* Garbage: every entry 0xffff...ff (present, with PWT/PCD/PSE/G). */
    memset(page_g, 0xff, sizeof(page_g));
    check_rc("map garbage read-only", remap(page_g, pte_of(page_g, PTE_RO)), 0);
    unsigned long g = virt_to_mfn(page_g);
    check_rc("pin garbage as L1", ext1(MMUEXT_PIN_L1_TABLE, g), -XEN_EINVAL);
    check_rc("pin garbage as L2", ext1(MMUEXT_PIN_L2_TABLE, g), -XEN_EINVAL);
    check_rc("pin garbage as L3", ext1(MMUEXT_PIN_L3_TABLE, g), -XEN_EINVAL);
    check_rc("pin garbage as L4", ext1(MMUEXT_PIN_L4_TABLE, g), -XEN_EINVAL);
    check_rc("garbage is writable again", remap(page_g, pte_of(page_g, PTE_RW)), 0);

    /* An L1 whose 4th entry maps a non-RAM MFN. */
    memset(page_h, 0, sizeof(page_h));
    ((uint64_t *)page_h)[3] = (HUGE_MFN << PAGE_SHIFT) | PTE_RW;
    check_rc("map h read-only", remap(page_h, pte_of(page_h, PTE_RO)), 0);
    check_rc("pin an L1 mapping a non-RAM MFN", ext1(MMUEXT_PIN_L1_TABLE, virt_to_mfn(page_h)), -XEN_EPERM);
    check_rc("h is writable again", remap(page_h, pte_of(page_h, PTE_RW)), 0);
}

static void test_mmuext_misc(void) {
    check_rc("MMUEXT_MARK_SUPER", ext1(MMUEXT_MARK_SUPER, virt_to_mfn(page_a)), -XEN_EOPNOTSUPP);
    check_rc("MMUEXT_UNMARK_SUPER", ext1(MMUEXT_UNMARK_SUPER, virt_to_mfn(page_a)), -XEN_EOPNOTSUPP);
    check_rc("unknown mmuext cmd 99", ext1(99, 0), -XEN_ENOSYS);
    check_rc("MMUEXT_TLB_FLUSH_LOCAL", ext1(MMUEXT_TLB_FLUSH_LOCAL, 0), 0);
    check_rc("MMUEXT_TLB_FLUSH_ALL", ext1(MMUEXT_TLB_FLUSH_ALL, 0), 0);
    struct mmuext_op inv = { .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = (unsigned long)page_b };
    check_rc("MMUEXT_INVLPG_LOCAL", hypercall_mmuext_op(&inv, 1, NULL, DOMID_SELF), 0);

    check_rc("mmuext_op from an unmapped array", hypercall_mmuext_op((void *)0x00007ff000000000UL, 1, NULL, DOMID_SELF), -XEN_EFAULT);
    check_rc("mmuext_op with count 0", hypercall_mmuext_op(NULL, 0, NULL, DOMID_SELF), 0);

    struct mmuext_op ops[3] = { { .cmd = MMUEXT_TLB_FLUSH_LOCAL }, { .cmd = MMUEXT_MARK_SUPER },
                                { .cmd = MMUEXT_TLB_FLUSH_LOCAL } };
    unsigned int done = 0xdead;
    check_rc("batch stopping at MARK_SUPER", hypercall_mmuext_op(ops, 3, &done, DOMID_SELF), -XEN_EOPNOTSUPP);
    check_eq("batch: done counts the ops before the failure", done, 1);

    struct mmuext_op ldt = { .cmd = MMUEXT_SET_LDT, .arg1.linear_addr = 0x1001, .arg2.nr_ents = 1 };
    check_rc("SET_LDT with an unaligned base", hypercall_mmuext_op(&ldt, 1, NULL, DOMID_SELF), -XEN_EINVAL);
    ldt.arg1.linear_addr = (unsigned long)page_b;
    ldt.arg2.nr_ents = 8193;
    check_rc("SET_LDT with 8193 entries", hypercall_mmuext_op(&ldt, 1, NULL, DOMID_SELF), -XEN_EINVAL);
    ldt.arg1.linear_addr = 0;
    ldt.arg2.nr_ents = 0;
    check_rc("SET_LDT(NULL, 0)", hypercall_mmuext_op(&ldt, 1, NULL, DOMID_SELF), 0);

    unsigned long l4mfn = virt_to_mfn((void *)start_info->pt_base);
    memset(page_a, 0x5a, sizeof(page_a));
    check_rc("CLEAR_PAGE of a", ext1(MMUEXT_CLEAR_PAGE, virt_to_mfn(page_a)), 0);
    check_eq("a cleared", page_a[0] | page_a[4095], 0);
    check_rc("CLEAR_PAGE of the L4", ext1(MMUEXT_CLEAR_PAGE, l4mfn), -XEN_EINVAL);

    memset(page_b, 0x77, sizeof(page_b));
    struct mmuext_op copy = { .cmd = MMUEXT_COPY_PAGE, .arg1.mfn = virt_to_mfn(page_a) };
    copy.arg2.src_mfn = virt_to_mfn(page_b);
    check_rc("COPY_PAGE b -> a", hypercall_mmuext_op(&copy, 1, NULL, DOMID_SELF), 0);
    check(memcmp(page_a, page_b, sizeof(page_a)) == 0, "COPY_PAGE: a differs from b");
    copy.arg1.mfn = l4mfn;
    check_rc("COPY_PAGE into the L4", hypercall_mmuext_op(&copy, 1, NULL, DOMID_SELF), -XEN_EINVAL);
    check_eq("L4 intact after the refused copy", ((uint64_t *)start_info->pt_base)[0] != 0x7777777777777777UL, 1);

    check_rc("NEW_BASEPTR to a writable data page", ext1(MMUEXT_NEW_BASEPTR, virt_to_mfn(page_a)), -XEN_EINVAL);
}

static void test_mmu_update_misc(void) {
    uint64_t ptr = l1e_maddr(page_b);
    check_rc("mmu_update cmd 4", mmu1(ptr | 4, pte_of(page_b, PTE_RW), NULL), -XEN_ENOSYS);
    check_rc("mmu_update cmd 7", mmu1(ptr | 7, pte_of(page_b, PTE_RW), NULL), -XEN_ENOSYS);
    check_rc("mmu_update of a PTE in a non-RAM frame", mmu1(HUGE_MFN << PAGE_SHIFT, 0, NULL), -XEN_EINVAL);
    check_rc("mmu_update from an unmapped array",
             hypercall_mmu_update((void *)0x00007ff000000000UL, 1, NULL, DOMID_SELF), -XEN_EFAULT);
    check_rc("mmu_update with count 0", hypercall_mmu_update(NULL, 0, NULL, DOMID_SELF), 0);

    struct mmu_update batch[2] = { { ptr | MMU_NORMAL_PT_UPDATE, pte_of(page_b, PTE_RW) },
                                   { ptr | 5, 0 } };
    unsigned int done = 0xdead;
    check_rc("batch stopping at cmd 5", hypercall_mmu_update(batch, 2, &done, DOMID_SELF), -XEN_ENOSYS);
    check_eq("batch: done", done, 1);

    /* A "page-table update" aimed at an ordinary writable page is a plain write. */
    memset(page_a, 0, sizeof(page_a));
    check_rc("NORMAL_PT_UPDATE into a data page", mmu1(virt_to_maddr(&page_a[40]), 0x1234abcdUL, NULL), 0);
    check_eq("data page written", *(volatile uint64_t *)&page_a[40], 0x1234abcdUL);

    /* The M2P entry of one of our frames can be changed (MMU_MACHPHYS_UPDATE). */
    unsigned long mfn = virt_to_mfn(page_a), pfn = virt_to_pfn(page_a);
    check_rc("MACHPHYS_UPDATE", mmu1(((uint64_t)mfn << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 0x12345, NULL), 0);
    check_eq("M2P entry changed", m2p(mfn), 0x12345);
    check_rc("MACHPHYS_UPDATE back", mmu1(((uint64_t)mfn << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, pfn, NULL), 0);
    check_eq("M2P entry restored", m2p(mfn), pfn);
    check_rc("MACHPHYS_UPDATE of a non-RAM MFN", mmu1((HUGE_MFN << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, 0, NULL), -XEN_EINVAL);

    /* Xen's L4 slots cannot be written. */
    uint64_t l4 = virt_to_maddr((void *)start_info->pt_base);
    check_rc("write L4 slot 256 (Xen's)", mmu1(l4 + 256 * 8, 0, NULL), -XEN_EINVAL);
    check_rc("write L4 slot 271 (Xen's)", mmu1(l4 + 271 * 8, 0, NULL), -XEN_EINVAL);
}

/* A new L1 of ours hooked into a free slot of the L2 that maps the image. */
static void test_new_l1(void) {
    const uint64_t *l4 = (const uint64_t *)start_info->pt_base;
    const uint64_t *l3 = mfn_to_virt((l4[0] & PTE_ADDR_MASK) >> PAGE_SHIFT);
    unsigned long l2mfn = (l3[0] & PTE_ADDR_MASK) >> PAGE_SHIFT;
    const uint64_t *l2 = mfn_to_virt(l2mfn);
    int slot = -1;
    for (int i = 511; i > 0; i--)
        if (!(l2[i] & _PAGE_PRESENT)) {
            slot = i;
            break;
        }
    if (!check(slot > 0, "no free L2 slot below 1 GiB")) return;
    uint64_t l2e_maddr = ((uint64_t)l2mfn << PAGE_SHIFT) + slot * 8;
    volatile uint64_t *window = (volatile uint64_t *)((unsigned long)slot << 21);

    memset(page_p, 0, sizeof(page_p));
    memset(page_a, 0, sizeof(page_a));
    *(volatile uint64_t *)page_a = 0xfeedface;
    ((uint64_t *)page_p)[0] = pte_of(page_a, PTE_RW);
    unsigned long p = virt_to_mfn(page_p);

    check_rc("L2 entry -> a data page mapped writable", mmu1(l2e_maddr, pte_of(page_a, PTE_TABLE), NULL), -XEN_EINVAL);
    check_rc("L2 entry -> the L1 while it is writable", mmu1(l2e_maddr, ((uint64_t)p << PAGE_SHIFT) | PTE_TABLE, NULL), -XEN_EINVAL);
    check_rc("make the new L1 read-only", remap(page_p, pte_of(page_p, PTE_RO)), 0);
    check_rc("pin the new L1", ext1(MMUEXT_PIN_L1_TABLE, p), 0);
    check_rc("hook the L1 into the L2", mmu1(l2e_maddr, ((uint64_t)p << PAGE_SHIFT) | PTE_TABLE, NULL), 0);
    unsigned long v = 0;
    check_ex("read through the new L1", probe_read_val(window, &v), 0);
    check_eq("value read through the new L1", v, 0xfeedface);
    check_ex("write through the new L1", probe_write(window + 1, 0xbeef), 0);
    check_eq("write landed in a", *(volatile uint64_t *)(page_a + 8), 0xbeef);
    check_ex("next page of the window is not present", probe_read(window + 512), EXINFO_SYM(PF, 0));

    /* Updates to the now-live L1 go through mmu_update and are validated. */
    uint64_t l1e0 = virt_to_maddr(page_p);
    check_rc("live L1: map a non-RAM MFN", mmu1(l1e0, (HUGE_MFN << PAGE_SHIFT) | PTE_RW, NULL), -XEN_EPERM);
    check_rc("live L1: map the L4 writable", mmu1(l1e0, pte_of((void *)start_info->pt_base, PTE_RW), NULL), -XEN_EBUSY);
    check_rc("live L1: clear the entry", mmu1(l1e0, 0, NULL), 0);
    ext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
    check_ex("window unmapped", probe_read(window), EXINFO_SYM(PF, 0));

    check_rc("unhook the L1", mmu1(l2e_maddr, 0, NULL), 0);
    ext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
    check_rc("unpin the L1", ext1(MMUEXT_UNPIN_TABLE, p), 0);
    check_rc("L1 page writable again", remap(page_p, pte_of(page_p, PTE_RW)), 0);
}

/* Linear (recursive) L4 -> L4 mapping at a guest slot: read-only only. */
#define LINEAR_SLOT 400UL
static unsigned long canonical(unsigned long va) {
    return (va & (1UL << 47)) ? (va | 0xffff000000000000UL) : va;
}

static void test_linear_l4(void) {
    uint64_t *l4 = (uint64_t *)start_info->pt_base;
    unsigned long l4mfn = virt_to_mfn(l4);
    uint64_t slot_maddr = ((uint64_t)l4mfn << PAGE_SHIFT) + LINEAR_SLOT * 8;
    if (!check_eq("L4 slot 400 is free", l4[LINEAR_SLOT] & _PAGE_PRESENT, 0)) return;

    uint64_t self = ((uint64_t)l4mfn << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
    check_rc("writable self-map of the L4", mmu1(slot_maddr, self | _PAGE_RW, NULL), -XEN_EINVAL);
    if (!check_rc("read-only self-map of the L4", mmu1(slot_maddr, self, NULL), 0)) return;

    unsigned long base = canonical(LINEAR_SLOT << 39);
    volatile uint64_t *l4_alias =
        (volatile uint64_t *)(base + (LINEAR_SLOT << 30) + (LINEAR_SLOT << 21) + (LINEAR_SLOT << 12));
    unsigned long v = 0;
    if (check_ex("read the L4 through the linear map", probe_read_val(&l4_alias[0], &v), 0)) {
        check_eq("L4[0] through the linear map", v, l4[0]);
        check_ex("read L4[400] through the linear map", probe_read_val(&l4_alias[LINEAR_SLOT], &v), 0);
        check_eq("L4[400] through the linear map is the self entry", v & PTE_ADDR_MASK,
                 (uint64_t)l4mfn << PAGE_SHIFT);

        /* The L1 entry of page_a, seen through the linear map. */
        unsigned long va = (unsigned long)page_a;
        volatile uint64_t *l1e_alias = (volatile uint64_t *)(base + (((va & ((1UL << 48) - 1)) >> 12) << 3));
        if (check_ex("read an L1 entry through the linear map", probe_read_val(l1e_alias, &v), 0)) {
            check_eq("L1 entry of page_a through the linear map", v, pt_walk(va, NULL, NULL));
            check_ex("write through the read-only linear map", probe_write(l1e_alias, v),
                     EXINFO_SYM(PF, PFEC_present | PFEC_write));
        }
    }

    check_rc("remove the self-map", mmu1(slot_maddr, 0, NULL), 0);
    ext1(MMUEXT_TLB_FLUSH_LOCAL, 0);
    check_ex("linear map gone", probe_read(l4_alias), EXINFO_SYM(PF, 0));
}

static void test_ptwr(void) {
    volatile uint64_t *l1 = (volatile uint64_t *)page_p;
    unsigned long p = virt_to_mfn(page_p);
    memset(page_p, 0, sizeof(page_p));
    if (!check_rc("ptwr: map the L1 read-only", remap(page_p, pte_of(page_p, PTE_RO)), 0)) return;
    if (!check_rc("ptwr: pin the L1", ext1(MMUEXT_PIN_L1_TABLE, p), 0)) return;

    check_rc("vm_assist(enable, writable_pagetables)",
             hypercall_vm_assist(VMASST_CMD_enable, VMASST_TYPE_writable_pagetables), 0);
    uint64_t want = pte_of(page_a, PTE_RW);
    check_ex("ptwr: write a valid PTE", probe_write(&l1[0], want), 0);
    check_eq("ptwr: the PTE's frame", l1[0] & PTE_ADDR_MASK, want & PTE_ADDR_MASK);
    check_eq("ptwr: the PTE's P/RW", l1[0] & (_PAGE_PRESENT | _PAGE_RW), _PAGE_PRESENT | _PAGE_RW);
    check_ex("ptwr: write a PTE mapping a non-RAM MFN", probe_write(&l1[1], (HUGE_MFN << PAGE_SHIFT) | PTE_RW),
             EXINFO_SYM(PF, PFEC_present | PFEC_write));
    check_eq("ptwr: refused PTE left alone", l1[1], 0);
    check_ex("ptwr: clear the valid PTE", probe_write(&l1[0], 0), 0);
    check_eq("ptwr: PTE cleared", l1[0], 0);

    check_rc("vm_assist(disable, writable_pagetables)",
             hypercall_vm_assist(VMASST_CMD_disable, VMASST_TYPE_writable_pagetables), 0);
    check_ex("no assist: the same write faults", probe_write(&l1[0], 0), EXINFO_SYM(PF, PFEC_present | PFEC_write));

    check_rc("ptwr: unpin", ext1(MMUEXT_UNPIN_TABLE, p), 0);
    check_rc("ptwr: L1 page writable again", remap(page_p, pte_of(page_p, PTE_RW)), 0);
}

void test_main(void) {
    /* Writes to read-only page tables must fault, whatever the builder's default. */
    check_rc("vm_assist(disable, writable_pagetables)",
             hypercall_vm_assist(VMASST_CMD_disable, VMASST_TYPE_writable_pagetables), 0);
    test_remap_own_frame();
    test_bad_mappings();
    test_pinning();
    test_mmuext_misc();
    test_mmu_update_misc();
    test_new_l1();
    test_linear_l4();
    test_ptwr();
}
