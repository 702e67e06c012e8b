/* The kit's grant table v1, granting side: GNTTABOP_setup_table gives the machine frame of
   the table's first frame, mapped writable over a page of our own (as shared_info is);
   entries are written frame and domid first, then flags after a barrier (grant_table.h). */
#include "ktf.h"

static char table_page[4096] __page_aligned_bss;
static volatile struct grant_entry_v1 *table;
static grant_ref_t next_ref = GNTTAB_NR_RESERVED_ENTRIES;
#define ENTRIES_PER_FRAME (4096 / sizeof(struct grant_entry_v1))

long gnttab_init(void) {
    if (table) return 0;
    xen_pfn_t frame = 0;
    struct gnttab_setup_table setup = { .dom = DOMID_SELF, .nr_frames = 1, .status = 0, .frame_list = &frame };
    long rc = _hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, &setup, 1);
    if (rc) return rc;
    if (setup.status) return setup.status;
    uint64_t pte = ((uint64_t)frame << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    rc = hypercall_update_va_mapping((unsigned long)table_page, pte, UVMF_INVLPG | UVMF_LOCAL);
    if (rc) return rc;
    table = (volatile struct grant_entry_v1 *)table_page;
    return 0;
}

grant_ref_t gnttab_grant_page(domid_t domid, const void *va, bool readonly) {
    if (!table) panic("gnttab_grant_page before gnttab_init\n");
    if (next_ref >= ENTRIES_PER_FRAME) panic("out of grant references\n");
    grant_ref_t ref = next_ref++;
    table[ref].frame = (uint32_t)virt_to_mfn(va);
    table[ref].domid = domid;
    wmb(); /* frame and domid before the flags that make the entry valid */
    table[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
    return ref;
}

uint16_t gnttab_flags(grant_ref_t ref) { return ref < ENTRIES_PER_FRAME && table ? table[ref].flags : 0; }

bool gnttab_end_access(grant_ref_t ref) {
    if (!table || ref >= ENTRIES_PER_FRAME) return false;
    uint16_t flags = table[ref].flags;
    for (;;) {
        if (flags & (GTF_reading | GTF_writing)) return false;
        /* Xen sets GTF_reading/writing with a compare-exchange too: only clear an entry
           nobody mapped in between. */
        if (__atomic_compare_exchange_n(&table[ref].flags, &flags, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    }
}
