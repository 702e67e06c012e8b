/* start_info: the domain builder's promises about memory (xen-abi.md §2.1, §2.5, §2.9):
   - mfn_list (the P2M) maps every pfn < nr_pages to an MFN whose entry in the read-only
     M2P at 0xffff800000000000 maps back to that pfn;
   - without an INIT_P2M note the P2M lies inside the initial mapping (first_p2m_pfn and
     nr_p2m_frames are 0);
   - the xenstore and console pages are domain RAM with non-zero event channels;
   - shared_info is a Xen page shared with the guest: its M2P entry is INVALID (~0,
     share_xen_page_with_guest);
   - pt_base is the L4, the first of nr_pt_frames page-table frames, all of them mapped
     read-only: writing one raises #PF with error code P|W (the test switches the
     writable-pagetable assist off first), and so does writing the M2P. */
#include "ktf.h"

const char test_title[] = "start_info, P2M/M2P and read-only page tables";

#define INVALID_MFN (~0UL)

static void check_p2m_m2p(void) {
    const unsigned long *p2m_table = p2m();
    unsigned long nr = start_info->nr_pages;
    unsigned int bad = 0, faults = 0;

    check(((unsigned long)p2m_table & 7) == 0, "mfn_list %p is not 8-byte aligned", (const void *)p2m_table);
    check_eq("first_p2m_pfn (no INIT_P2M note)", start_info->first_p2m_pfn, 0);
    check_eq("nr_p2m_frames (no INIT_P2M note)", start_info->nr_p2m_frames, 0);

    for (unsigned long pfn = 0; pfn < nr; pfn++) {
        unsigned long mfn = p2m_table[pfn], back = 0;
        if (mfn == INVALID_MFN) {
            if (bad++ < 4) xtf_failure("Fail: p2m[%#lx] is INVALID_MFN\n", pfn);
            continue;
        }
        exinfo_t ex = probe_read_val(&((const unsigned long *)MACH2PHYS_VIRT_START)[mfn], &back);
        if (ex) {
            char b[24];
            if (faults++ < 4)
                xtf_failure("Fail: reading m2p[%#lx] (pfn %#lx) raised %s\n", mfn, pfn, exinfo_str(ex, b));
            continue;
        }
        if (back != pfn && bad++ < 4)
            xtf_failure("Fail: p2m[%#lx] = %#lx but m2p[%#lx] = %#lx\n", pfn, mfn, mfn, back);
    }
    printk("checked %lu P2M entries: %u mismatches, %u faults\n", nr, bad, faults);
    check(bad == 0 && faults == 0, "P2M/M2P disagree for %u pfns, %u M2P reads faulted", bad, faults);
}

static void check_special_pages(void) {
    const struct start_info *si = start_info;
    check(si->store_mfn != 0, "store_mfn is 0");
    check(si->console.domU.mfn != 0, "console.domU.mfn is 0");
    check(si->store_evtchn != 0, "store_evtchn is 0 (port 0 is never valid)");
    check(si->console.domU.evtchn != 0, "console.domU.evtchn is 0");
    check(si->store_mfn != si->console.domU.mfn, "store and console share MFN %#lx", si->store_mfn);
    check(si->store_evtchn != si->console.domU.evtchn, "store and console share port %u", si->store_evtchn);

    unsigned long store_pfn = m2p(si->store_mfn), console_pfn = m2p(si->console.domU.mfn);
    if (check(store_pfn < si->nr_pages, "m2p[store_mfn] = %#lx is not a pfn of the domain", store_pfn))
        check_eq("p2m[m2p[store_mfn]]", pfn_to_mfn(store_pfn), si->store_mfn);
    if (check(console_pfn < si->nr_pages, "m2p[console mfn] = %#lx is not a pfn of the domain", console_pfn))
        check_eq("p2m[m2p[console mfn]]", pfn_to_mfn(console_pfn), si->console.domU.mfn);

    unsigned long start_info_pfn = virt_to_pfn(si);
    check_eq("m2p[mfn of start_info]", m2p(pfn_to_mfn(start_info_pfn)), start_info_pfn);

    unsigned long shinfo_mfn = si->shared_info >> PAGE_SHIFT;
    check_eq("shared_info is page aligned", si->shared_info & (PAGE_SIZE - 1), 0);
    unsigned long shinfo_m2p = 0;
    exinfo_t ex = probe_read_val(&((const unsigned long *)MACH2PHYS_VIRT_START)[shinfo_mfn], &shinfo_m2p);
    check_ex("reading m2p[shared_info mfn]", ex, 0);
    check_eq("m2p[shared_info mfn] (not guest RAM)", shinfo_m2p, INVALID_MFN);
}

static void check_page_tables(void) {
    const struct start_info *si = start_info;
    unsigned long pt = si->pt_base;
    check_eq("pt_base is page aligned", pt & (PAGE_SIZE - 1), 0);
    check(si->nr_pt_frames >= 4, "nr_pt_frames %lu: a 4-level mapping needs at least 4", si->nr_pt_frames);
    check(si->nr_pt_frames < si->nr_pages, "nr_pt_frames %lu >= nr_pages", si->nr_pt_frames);
    check(virt_to_pfn((void *)pt) + si->nr_pt_frames <= si->nr_pages, "page tables run past nr_pages");

    /* L4 slot 0 maps our image (we run at 1 MiB). */
    const uint64_t *l4 = (const uint64_t *)pt;
    check(l4[0] & _PAGE_PRESENT, "L4[0] = %#lx is not present", l4[0]);

    char b[24];
    for (unsigned long i = 0; i < si->nr_pt_frames; i++) {
        volatile uint64_t *page = (volatile uint64_t *)(pt + i * PAGE_SIZE);
        int level = 0;
        uint64_t l1e = pt_walk((unsigned long)page, &level, NULL);
        unsigned long mfn = virt_to_mfn((const void *)page);
        if (!check(level == 1 && (l1e & _PAGE_PRESENT), "page-table frame %lu at %p is not mapped (level %d)",
                   i, (void *)page, level))
            continue;
        check_eq("page-table frame: mapped MFN", (l1e & PTE_ADDR_MASK) >> PAGE_SHIFT, mfn);
        check(!(l1e & _PAGE_RW), "page-table frame %lu at %p is mapped writable: l1e %#lx", i, (void *)page, l1e);

        /* Write back what is there, so even a wrongly accepted write changes nothing. */
        uint64_t old = page[1];
        exinfo_t ex = probe_write(&page[1], old);
        if (!check(ex == EXINFO_SYM(PF, PFEC_present | PFEC_write),
                   "writing page-table frame %lu at %p: expected #PF[0003], got %s", i, (void *)&page[1],
                   exinfo_str(ex, b)))
            continue;
        check_eq("cr2 of the page-table write", last_fault.cr2, (uint64_t)&page[1]);
        check_eq("page-table entry unchanged", page[1], old);
    }

    /* The M2P is mapped read-only for guests. */
    volatile unsigned long *m2p_entry =
        &((volatile unsigned long *)MACH2PHYS_VIRT_START)[virt_to_mfn(start_info)];
    unsigned long old = *m2p_entry;
    check_ex("writing the M2P", probe_write(m2p_entry, old), EXINFO_SYM(PF, PFEC_present | PFEC_write));
    check_eq("cr2 of the M2P write", last_fault.cr2, (uint64_t)m2p_entry);

    /* Far beyond any MFN the M2P may be unmapped: a read may #PF, nothing else. */
    exinfo_t ex = probe_read(&((const unsigned long *)MACH2PHYS_VIRT_START)[1UL << 34]);
    check(ex == 0 || exinfo_vec(ex) == X86_EXC_PF, "reading m2p[2^34] raised %s", exinfo_str(ex, b));

    /* The hypervisor range beyond the M2P is not guest accessible at all. */
    ex = probe_read((const void *)(HYPERVISOR_VIRT_START + (1UL << 40)));
    check(exinfo_vec(ex) == X86_EXC_PF && (ex & EXINFO_VALID), "reading Xen's private area raised %s",
          exinfo_str(ex, b));
}

void test_main(void) {
    /* With VMASST_TYPE_writable_pagetables Xen would emulate writes to L1 frames; make
       sure it is off so every page-table write faults. */
    check_rc("vm_assist(disable, writable_pagetables)",
             hypercall_vm_assist(VMASST_CMD_disable, VMASST_TYPE_writable_pagetables), 0);
    check_p2m_m2p();
    check_special_pages();
    check_page_tables();
}
