/* MMUEXT_SET_LDT (do_mmuext_op) and Xen's lazy LDT mapping (pv_map_ldt_shadow_page,
   handle_ldt_mapping_fault in traps.c): the page is validated and typed only when the
   CPU first reads a descriptor from it; a page that cannot take the type makes Xen
   pass the #PF on with cr2 = ldt_base + offset. */
#include "descriptors.h"

static uint64_t ldt[512] __page_aligned_bss;

void test_ldt(void) {
    printk("SET_LDT and the lazy LDT\n");
    unsigned long base = (unsigned long)ldt;

    check_rc("SET_LDT with an unaligned base", mmuext_set_ldt(base + 8, 1), -XEN_EINVAL);
    check_rc("SET_LDT with 8193 entries", mmuext_set_ldt(base, 8193), -XEN_EINVAL);
    check_rc("SET_LDT in Xen's range", mmuext_set_ldt(HYPERVISOR_VIRT_START, 1), -XEN_EINVAL);
    check_rc("SET_LDT with 0 entries ignores the base", mmuext_set_ldt(base + 8, 0), 0);

    memset(ldt, 0, sizeof(ldt));
    uint64_t data0 = seg_desc(0, 0xfffff, SEG_DATA(0));
    ldt[1] = data0;
    ldt[2] = seg_desc((uint32_t)(unsigned long)&fs_target, 0xfffff, SEG_DATA(3));

    /* Still writable: SET_LDT accepts it (nothing is checked until first use). */
    if (!check_rc("SET_LDT(ldt, 3 entries) on a writable page", mmuext_set_ldt(base, 3), 0)) return;
    check_eq("LDT[1] untouched by SET_LDT", ACCESS_ONCE(ldt[1]), data0);
    exinfo_t ex = load_ds(LDT_SEL(1));
    if (check_ex("mov 0x0f to %ds with the LDT page writable", ex, EXINFO_SYM(PF, 0)))
        check_eq("#PF cr2 = ldt_base + 8", last_fault.cr2, base + 8);

    check_rc("map the LDT page read-only", ktf_remap_page(ldt, false), 0);
    check_ex("mov 0x0f (LDT entry 1) to %ds", load_ds(LDT_SEL(1)), 0);
    check_eq("%ds", read_ds(), LDT_SEL(1));
    check_eq("LDT[1] validated on first use: DPL 3", ACCESS_ONCE(ldt[1]), data0 | DESC_DPL_MASK);
    check_rc("map the LDT page writable while in use", ktf_remap_page(ldt, true), -XEN_EBUSY);
    check_ex("mov 0x17 (base = &fs_target) to %fs", load_fs(LDT_SEL(2)), 0);
    check_eq("%fs:0 reads fs_target", read_fs_qword(0), fs_target);
    check_ex("mov 0x2f (entry 5, beyond 3 entries) to %ds", load_ds(LDT_SEL(5)), EXINFO_SYM(GP, LDT_SEL(5) & ~3));

    check_ex("null %ds", load_ds(0), 0);
    check_ex("null %fs", load_fs(0), 0);
    check_rc("set_segment_base(FS, 0)", hypercall_set_segment_base(SEGBASE_FS, 0), 0);
    check_rc("SET_LDT(0, 0)", mmuext_set_ldt(0, 0), 0);
    check_rc("the LDT page is writable again", ktf_remap_page(ldt, true), 0);
    check_ex("mov 0x0f to %ds with no LDT", load_ds(LDT_SEL(1)), EXINFO_SYM(GP, LDT_SEL(1) & ~3));
}
