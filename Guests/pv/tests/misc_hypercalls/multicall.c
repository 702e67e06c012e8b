/* multicall (common/multicall.c do_multicall, x86 pv_do_multicall_call): entries run in
   order and each one's return value goes to its `result` (a debug Xen scribbles 0xAA
   over the rest of the entry: only `result` is checked); an unknown op gives -ENOSYS
   in its result; a nested multicall finds _MCSF_in_multicall set and gives -EINVAL
   without running its list; the call itself returns 0, or -EFAULT when an entry
   cannot be read (entries before it have run and have their results). */
#include "misc.h"

#define SENTINEL 0x5a5a5a5aL

static uint8_t page_a[4096] __page_aligned_bss;
static uint8_t page_b[4096] __page_aligned_bss;
static uint8_t mc_pages[2][4096] __page_aligned_bss;
static volatile uint64_t fs_area[2] = { 0x6d756c7469667321UL, 0 };

static struct multicall_entry mc(unsigned long op, unsigned long a0, unsigned long a1, unsigned long a2) {
    struct multicall_entry e = { .op = op, .result = SENTINEL };
    e.args[0] = a0;
    e.args[1] = a1;
    e.args[2] = a2;
    return e;
}

static uint64_t pte_of(const void *page) {
    return ((uint64_t)virt_to_mfn(page) << PAGE_SHIFT) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
}

void test_multicall(void) {
    printk("multicall\n");
    long version = hypercall_xen_version(XENVER_version, NULL);
    memset(page_a, 0xa1, sizeof(page_a));
    memset(page_b, 0xb2, sizeof(page_b));

    struct multicall_entry inner[1] = { mc(__HYPERVISOR_xen_version, XENVER_version, 0, 0) };
    struct multicall_entry calls[] = {
        mc(__HYPERVISOR_xen_version, XENVER_version, 0, 0),
        mc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag, 0),
        mc(__HYPERVISOR_multicall, (unsigned long)inner, 1, 0),
        mc(99, 0, 0, 0),
        mc(11, 0, 0, 0),                       /* a hole in the hypercall table */
        mc((1UL << 32) | __HYPERVISOR_xen_version, XENVER_version, 0, 0),
        mc(__HYPERVISOR_update_va_mapping, (unsigned long)page_b, pte_of(page_a), UVMF_INVLPG | UVMF_LOCAL),
        mc(__HYPERVISOR_set_segment_base, SEGBASE_FS, (unsigned long)fs_area, 0),
        mc(__HYPERVISOR_xen_version, 99, 0, 0),
        mc(__HYPERVISOR_vm_assist, VMASST_CMD_enable, 6, 0),
        mc(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, (unsigned long)cpu_trap_stack_top(0), 0),
        mc(__HYPERVISOR_vm_assist, VMASST_CMD_disable, VMASST_TYPE_runstate_update_flag, 0),
    };
    static const char *const what[] = {
        "xen_version(version)", "vm_assist(enable, runstate_update_flag)", "nested multicall",
        "op 99", "op 11 (no such hypercall)", "op (1 << 32) | 17", "update_va_mapping(b -> frame of a)",
        "set_segment_base(FS)", "xen_version(99)", "vm_assist(enable, 6)", "stack_switch",
        "vm_assist(disable, runstate_update_flag)",
    };
    const long want[] = { version, 0, -XEN_EINVAL, -XEN_ENOSYS, -XEN_ENOSYS, -XEN_ENOSYS, 0, 0,
                          -XEN_ENOSYS, -XEN_EINVAL, 0, 0 };
    _Static_assert(ARRAY_SIZE(calls) == ARRAY_SIZE(what) && ARRAY_SIZE(calls) == ARRAY_SIZE(want), "table sizes");

    check_rc("multicall of 12 entries", hypercall_multicall(calls, ARRAY_SIZE(calls)), 0);
    for (unsigned int i = 0; i < ARRAY_SIZE(calls); i++) {
        char w[96];
        snprintf(w, sizeof(w), "multicall entry %u result: %s", i, what[i]);
        check_rc(w, calls[i].result, want[i]);
    }
    check_eq("the nested list did not run", inner[0].result, SENTINEL);
    check_eq("update_va_mapping in the batch took effect", ACCESS_ONCE(page_b[0]), 0xa1);
    check_eq("set_segment_base in the batch took effect: %fs:0", read_fs_qword(0), fs_area[0]);
    check_rc("restore b", hypercall_update_va_mapping((unsigned long)page_b, pte_of(page_b), UVMF_INVLPG | UVMF_LOCAL), 0);
    check_eq("b's own frame is back", ACCESS_ONCE(page_b[0]), 0xb2);
    check_rc("set_segment_base(FS, 0)", hypercall_set_segment_base(SEGBASE_FS, 0), 0);

    check_rc("multicall with count 0", hypercall_multicall(NULL, 0), 0);
    check_rc("multicall from an unmapped list", hypercall_multicall((void *)UNMAPPED_VA, 1), -XEN_EFAULT);
    check_rc("multicall from a non-canonical list", hypercall_multicall((void *)NONCANON, 1), -XEN_EFAULT);

    /* A list running into an unmapped page: the first entry runs, then -EFAULT. */
    void *second = mc_pages[1];
    if (!check_rc("unmap the page after the list", hypercall_update_va_mapping((unsigned long)second, 0, UVMF_INVLPG | UVMF_LOCAL), 0))
        return;
    struct multicall_entry *edge = (struct multicall_entry *)(mc_pages[0] + 4096 - sizeof(struct multicall_entry));
    *edge = mc(__HYPERVISOR_xen_version, XENVER_version, 0, 0);
    check_rc("multicall whose second entry is unmapped", hypercall_multicall(edge, 2), -XEN_EFAULT);
    check_rc("its first entry ran", edge->result, version);
    check_rc("map the page again", hypercall_update_va_mapping((unsigned long)second, pte_of(second), UVMF_INVLPG | UVMF_LOCAL), 0);
}
