/* Helpers for the descriptor-table tests (segments.h): page remapping and the trap-table
   entry behind exec_user_sel. */
#include "segments.h"

long ktf_remap_page(void *va, bool writable) {
    uint64_t pte = ((uint64_t)virt_to_mfn(va) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_ACCESSED;
    if (writable) pte |= _PAGE_RW | _PAGE_DIRTY;
    return hypercall_update_va_mapping((unsigned long)va, pte, UVMF_INVLPG | UVMF_LOCAL);
}

long user_sel_init(void) {
    /* set_trap_table replaces only the listed vectors: the kit's table stays. */
    const struct trap_info t[] = {
        { KTF_VEC_RET2KERN_SEL, TI_SET_DPL(3) | TI_MASK_EVENTS, FLAT_KERNEL_CS,
          (unsigned long)entry_ret2kern_sel },
        { 0, 0, 0, 0 },
    };
    return hypercall_set_trap_table(t);
}
