/* set_gdt and update_descriptor: errors, check_descriptor's fixups and refusals. */
#include "descriptors.h"

uint64_t gdt[512] __page_aligned_bss;
static uint64_t gdt_bad[512] __page_aligned_bss;
static uint64_t scratch[512] __page_aligned_bss;
volatile uint64_t fs_target = 0x746567726174736bUL;  /* "kstarget" */
volatile uint64_t gs_target = 0x7367726174736b00UL;
volatile uint64_t gs_kernel_area[8] __aligned(64);

/* Where the call gates point; never called. */
__asm__(".text\n.globl gate_target\ngate_target:\n\tud2\n");

static uint32_t low32(const volatile void *p) { return (uint32_t)(unsigned long)p; }

void build_gdt(uint64_t *g) {
    memset(g, 0, PAGE_SIZE);
    g[GDT_KCODE] = seg_desc(0, 0xfffff, SEG_CODE64(0));
    g[GDT_KDATA] = seg_desc(0, 0xfffff, SEG_DATA(0));
    g[GDT_UCODE32] = seg_desc(0, 0xfffff, SEG_CODE32(3));
    g[GDT_UDATA] = seg_desc(0, 0xfffff, SEG_DATA(3));
    g[GDT_UCODE64] = seg_desc(0, 0xfffff, SEG_CODE64(3));
    g[GDT_DPL1] = seg_desc(0, 0xfffff, SEG_DATA(1));
    g[GDT_NP] = seg_desc(0, 0xfffff, SEG_DATA(0) & ~SEG_P);
    g[GDT_FS] = seg_desc(low32(&fs_target), 0xfffff, SEG_DATA(3));
    g[GDT_GS] = seg_desc(low32(&gs_target), 0xfffff, SEG_DATA(3));
    g[GDT_GATE] = call_gate(SEL(GDT_KCODE, 0), low32(gate_target), 3);
    g[GDT_SYS0] = sys_desc(0, 0, true, 0x1234);
    g[GDT_GATE_XEN] = call_gate(FLAT_KERNEL_CS, low32(gate_target), 2);
    g[GDT_TSS_NP] = sys_desc(9, 0, false, 0x67);
    g[GDT_NP3] = seg_desc(0, 0xfffff, SEG_DATA(3) & ~SEG_P);
}

static unsigned long gdt_mfn(void) { return virt_to_mfn(gdt); }

bool install_gdt(void) {
    build_gdt(gdt);
    if (!check_rc("map the GDT page read-only", ktf_remap_page(gdt, false), 0)) return false;
    unsigned long frames[1] = { gdt_mfn() };
    return check_rc("set_gdt(one read-only frame, 512 entries)", hypercall_set_gdt(frames, 512), 0);
}

void test_set_gdt_errors(void) {
    printk("set_gdt errors\n");
    build_gdt(gdt);
    unsigned long frames[2] = { gdt_mfn(), 0 };
    check_rc("set_gdt with 7169 entries", hypercall_set_gdt(frames, 7169), -XEN_EINVAL);
    check_rc("set_gdt from an unmapped frame list", hypercall_set_gdt((void *)UNMAPPED_VA, 1), -XEN_EFAULT);
    check_rc("set_gdt of a frame still mapped writable", hypercall_set_gdt(frames, 512), -XEN_EINVAL);
    frames[0] = HUGE_MFN;
    check_rc("set_gdt of a non-RAM MFN", hypercall_set_gdt(frames, 1), -XEN_EINVAL);
    frames[0] = virt_to_mfn((void *)start_info->pt_base);
    check_rc("set_gdt of the L4 page table", hypercall_set_gdt(frames, 1), -XEN_EINVAL);
    frames[0] = start_info->shared_info >> PAGE_SHIFT;
    check_rc("set_gdt of the shared_info frame", hypercall_set_gdt(frames, 1), -XEN_EINVAL);

    /* No GDT yet: Xen maps its zero page in the guest's part, so every guest selector
       names an all-zero (system, type 0) descriptor. */
    check_ex("mov 0x2b to %ds before any set_gdt", load_ds(SEL(GDT_UDATA, 3)), EXINFO_SYM(GP, SEL(GDT_UDATA, 0)));
}

/* The descriptor check_descriptor leaves in the page for one we wrote. */
static uint64_t dpl3(uint64_t d) { return d | DESC_DPL_MASK; }

void test_gdt_fixups(void) {
    printk("set_gdt fixups\n");
    uint64_t want[512];
    build_gdt(want);
    want[GDT_KCODE] = dpl3(want[GDT_KCODE]);
    want[GDT_KDATA] = dpl3(want[GDT_KDATA]);
    want[GDT_DPL1] = dpl3(want[GDT_DPL1]);
    want[GDT_GATE] = call_gate(SEL(GDT_KCODE, 3), low32(gate_target), 0);
    want[GDT_GATE_XEN] = call_gate(FLAT_KERNEL_CS, low32(gate_target), 0);

    static const char *const names[] = {
        [GDT_KCODE] = "kernel CS64 DPL 0 -> 3", [GDT_KDATA] = "kernel DS DPL 0 -> 3",
        [GDT_UCODE32] = "user CS32 DPL 3", [GDT_UDATA] = "user DS DPL 3", [GDT_UCODE64] = "user CS64 DPL 3",
        [GDT_DPL1] = "data DPL 1 -> 3", [GDT_NP] = "not-present data keeps DPL 0",
        [GDT_FS] = "data with a base", [GDT_GS] = "data with a base",
        [GDT_GATE] = "call gate: DPL 0, DPL 3 moved into the selector RPL",
        [GDT_SYS0] = "present type-0 system descriptor left alone",
        [GDT_GATE_XEN] = "call gate to FLAT_KERNEL_CS: DPL 0, selector 0xe033",
        [GDT_TSS_NP] = "not-present TSS left alone", [GDT_NP3] = "not-present data DPL 3",
    };
    for (unsigned int i = 0; i < 512; i++) {
        if (ACCESS_ONCE(gdt[i]) == want[i]) continue;
        char what[112];
        snprintf(what, sizeof(what), "GDT[%u] after set_gdt (%s)", i,
                 i < ARRAY_SIZE(names) && names[i] ? names[i] : "zero");
        check_eq(what, gdt[i], want[i]);
    }

    /* A frame in use as GDT has the segment-descriptor type: no writable mapping. */
    check_rc("map the GDT page writable", ktf_remap_page(gdt, true), -XEN_EBUSY);
    check_ex("write to the GDT page", probe_write(&gdt[GDT_EMPTY], 1), EXINFO_SYM(PF, PFEC_present | PFEC_write));
}

/* Each of these in an otherwise good page makes the whole set_gdt fail. */
void test_refused_descriptors(void) {
    printk("set_gdt refusals\n");
    static const char *const names[] = {
        "64-bit TSS", "busy TSS", "LDT descriptor", "interrupt gate", "trap gate",
        "call gate to Xen's ring-0 CS 0xe008", "call gate to 0xe030 (FLAT_KERNEL_CS with RPL 0)",
        "call gate with a non-zero reserved byte", "call gate to FLAT_USER_CS32 0xe023",
    };
    const uint64_t descs[ARRAY_SIZE(names)] = {
        sys_desc(9, 0, true, 0x67),
        sys_desc(11, 0, true, 0x67),
        sys_desc(2, 0, true, 0xfff),
        sys_desc(14, 3, true, (uint32_t)SEL(GDT_KCODE, 0) << 16),
        sys_desc(15, 3, true, (uint32_t)SEL(GDT_KCODE, 0) << 16),
        call_gate(0xe008, low32(gate_target), 3),
        call_gate(0xe030, low32(gate_target), 3),
        call_gate(SEL(GDT_KCODE, 0), low32(gate_target), 3) | (1UL << 32),
        call_gate(FLAT_RING3_CS32, low32(gate_target), 3),
    };
    unsigned long frames[1] = { virt_to_mfn(gdt_bad) };
    for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
        char what[112];
        build_gdt(gdt_bad);
        gdt_bad[GDT_BAD] = descs[i];
        if (!check_rc("map gdt_bad read-only", ktf_remap_page(gdt_bad, false), 0)) return;
        snprintf(what, sizeof(what), "set_gdt of a page holding a %s", names[i]);
        if (!check_rc(what, hypercall_set_gdt(frames, 512), -XEN_EINVAL) &&
            !check_rc("put the good GDT back", hypercall_set_gdt((unsigned long[]){ gdt_mfn() }, 512), 0))
            return;
        check_rc("map gdt_bad writable again (it never took the type)", ktf_remap_page(gdt_bad, true), 0);
    }

    /* The old GDT survives a refused set_gdt, and so does a second frame failing. */
    check_ex("old GDT still loaded: mov 0x2b to %ds", load_ds(SEL(GDT_UDATA, 3)), 0);
    check_ex("restore %ds", load_ds(0), 0);
    unsigned long two[2] = { gdt_mfn(), HUGE_MFN };
    check_rc("set_gdt of 513 entries whose second frame is not RAM", hypercall_set_gdt(two, 513), -XEN_EINVAL);
    check_ex("old GDT still loaded after it", load_ds(SEL(GDT_KDATA, 0)), 0);
    check_ex("restore %ds", load_ds(0), 0);
}

void test_update_descriptor(void) {
    printk("update_descriptor\n");
    uint64_t base = (uint64_t)gdt_mfn() << PAGE_SHIFT;
    uint64_t slot = base + GDT_UPDATE * 8;
    uint64_t data0 = seg_desc(0, 0xfffff, SEG_DATA(0));

    check_rc("update_descriptor(GDT entry 21, data DPL 0)", hypercall_update_descriptor(slot, data0), 0);
    check_eq("GDT entry 21 reads back with DPL 3", ACCESS_ONCE(gdt[GDT_UPDATE]), dpl3(data0));
    check_ex("mov the new selector 0xab to %ds", load_ds(SEL(GDT_UPDATE, 3)), 0);
    check_eq("%ds", read_ds(), SEL(GDT_UPDATE, 3));
    check_ex("restore %ds", load_ds(0), 0);

    check_rc("update_descriptor with a TSS", hypercall_update_descriptor(slot, sys_desc(9, 0, true, 0x67)), -XEN_EINVAL);
    check_rc("update_descriptor with an interrupt gate",
             hypercall_update_descriptor(slot, sys_desc(14, 3, true, (uint32_t)SEL(GDT_KCODE, 0) << 16)), -XEN_EINVAL);
    check_eq("GDT entry 21 unchanged by the refusals", ACCESS_ONCE(gdt[GDT_UPDATE]), dpl3(data0));
    check_rc("update_descriptor at a 4-byte aligned address", hypercall_update_descriptor(slot + 4, data0), -XEN_EINVAL);
    check_rc("update_descriptor at address 1", hypercall_update_descriptor(base + 1, data0), -XEN_EINVAL);
    check_rc("update_descriptor in a non-RAM frame", hypercall_update_descriptor(HUGE_MFN << PAGE_SHIFT, data0), -XEN_EINVAL);

    uint64_t np = seg_desc(0, 0xfffff, SEG_DATA(3) & ~SEG_P);
    check_rc("update_descriptor(entry 22, not present)", hypercall_update_descriptor(slot + 8, np), 0);
    check_eq("GDT entry 22", ACCESS_ONCE(gdt[GDT_UPDATE + 1]), np);
    check_ex("mov 0xb3 (not present) to %ds", load_ds(SEL(GDT_UPDATE + 1, 3)), EXINFO_SYM(NP, SEL(GDT_UPDATE + 1, 0)));

    check_rc("update_descriptor(entry 23, call gate DPL 3)",
             hypercall_update_descriptor(slot + 16, call_gate(SEL(GDT_KCODE, 0), low32(gate_target), 3)), 0);
    check_eq("GDT entry 23: gate DPL 0, selector RPL 3", ACCESS_ONCE(gdt[GDT_UPDATE + 2]),
             call_gate(SEL(GDT_KCODE, 3), low32(gate_target), 0));

    /* guest_gate_selector_okay also takes any LDT selector (TI set), even one whose
       index is in Xen's range: DPL 0 -> 3 goes into the RPL, the gate gets DPL 0. */
    check_rc("update_descriptor(entry 24, call gate to LDT selector 0xe00c)",
             hypercall_update_descriptor(slot + 24, call_gate(0xe00c, low32(gate_target), 0)), 0);
    check_eq("GDT entry 24: gate to 0xe00f, DPL 0", ACCESS_ONCE(gdt[GDT_UPDATE + 3]),
             call_gate(0xe00f, low32(gate_target), 0));

    /* Any page of the domain that can be writable takes the update. */
    memset(scratch, 0, sizeof(scratch));
    check_rc("update_descriptor into an ordinary writable page",
             hypercall_update_descriptor(virt_to_maddr(&scratch[5]), data0), 0);
    check_eq("the ordinary page got the fixed-up descriptor", ACCESS_ONCE(scratch[5]), dpl3(data0));

    /* ... but not a page table. */
    const volatile uint64_t *l4 = (const uint64_t *)start_info->pt_base;
    uint64_t before = l4[300];
    check_rc("update_descriptor into the L4 page table",
             hypercall_update_descriptor(virt_to_maddr((const void *)&l4[300]), data0), -XEN_EINVAL);
    check_eq("L4 slot 300 unchanged", l4[300], before);
}

void teardown_gdt(void) {
    printk("teardown\n");
    check_ex("null %ds", load_ds(0), 0);
    check_ex("null %es", load_es(0), 0);
    check_ex("null %fs", load_fs(0), 0);
    check_rc("set_segment_base(FS, 0)", hypercall_set_segment_base(SEGBASE_FS, 0), 0);
    check_rc("set_gdt(no frames, 0 entries)", hypercall_set_gdt(NULL, 0), 0);
    check_rc("the old GDT page is writable again", ktf_remap_page(gdt, true), 0);
    check_ex("mov 0x2b to %ds with no GDT", load_ds(SEL(GDT_UDATA, 3)), EXINFO_SYM(GP, SEL(GDT_UDATA, 0)));
}
