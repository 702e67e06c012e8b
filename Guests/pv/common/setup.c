/* Start of day in C: entered from head.S with start_info saved. Maps shared_info,
   installs the trap table, runs the test and reports. */
#include "ktf.h"

struct start_info *start_info; /* written by head.S */
struct shared_info *shared_info;
char shared_info_page[4096] __page_aligned_bss;

long map_shared_info(void) {
    /* start_info.shared_info is a machine address; map it over a page of our own. */
    uint64_t pte = (start_info->shared_info & PTE_ADDR_MASK) | _PAGE_PRESENT | _PAGE_RW |
                   _PAGE_ACCESSED | _PAGE_DIRTY;
    long rc = hypercall_update_va_mapping((unsigned long)shared_info_page, pte,
                                          UVMF_INVLPG | UVMF_LOCAL);
    if (rc == 0) shared_info = (struct shared_info *)shared_info_page;
    return rc;
}

uint64_t pt_walk(unsigned long va, int *level_out, uint64_t *pte_maddr_out) {
    const uint64_t *table = (const uint64_t *)start_info->pt_base;
    uint64_t table_maddr = virt_to_maddr(table);
    for (int level = 4; level >= 1; level--) {
        unsigned int idx = (va >> (12 + 9 * (level - 1))) & 511;
        uint64_t e = table[idx];
        if (level_out) *level_out = level;
        if (pte_maddr_out) *pte_maddr_out = table_maddr + idx * 8;
        if (level == 1) return e;
        if (!(e & _PAGE_PRESENT)) return 0;
        if (e & _PAGE_PSE) return e; /* superpage: not used by PV guests */
        unsigned long mfn = (e & PTE_ADDR_MASK) >> PAGE_SHIFT;
        table = (const uint64_t *)mfn_to_virt(mfn);
        table_maddr = (uint64_t)mfn << PAGE_SHIFT;
    }
    return 0;
}

__noreturn void ktf_main(void) {
    printk("--- KiteXTF (PV64): %s ---\n", test_title);
    bool minimal = &test_minimal_setup != NULL && test_minimal_setup;
    if (!minimal) {
        long rc = map_shared_info();
        if (rc) panic("update_va_mapping(shared_info) failed: %ld (%s)\n", rc, xen_errno_name(rc));
        traps_init();
    }
    test_main();
    xtf_exit();
}

/* Secondary vCPUs (tests/smp): the test provides test_ap_main. */
void test_ap_main(unsigned int cpu) __attribute__((weak));

__noreturn void ktf_ap_main(unsigned long cpu) {
    if (test_ap_main) test_ap_main((unsigned int)cpu);
    for (;;) {
        hypercall_vcpu_op(VCPUOP_down, (unsigned int)cpu, NULL);
        hypercall_block();
    }
}
