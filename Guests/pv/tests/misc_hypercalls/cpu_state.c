/* vm_assist, set_segment_base and the debug registers.
   - do_vm_assist (common/domain.c): type >= BITS_PER_LONG or not in the PV64 mask
     {0,1,2,3,4,5,32} -> -EINVAL (checked first); cmd other than enable/disable -> -ENOSYS.
   - do_set_segment_base (pv/misc-hypercalls.c): FS, GS_USER, GS_KERNEL need a canonical
     base (-EINVAL); GS_USER_SEL loads the user %gs with RPL 3 for non-null selectors and
     never fails: a selector that faults leaves the NUL selector; other `which` -> -EINVAL.
   - set_debugreg (same file): DR0-3 must satisfy breakpoint_addr_ok (below 1 << 47 or at
     or above HYPERVISOR_VIRT_END), else -EPERM; DR6/DR7 upper 32 bits -> -EINVAL, their
     reserved bits forced (DR6 ones in 4-11 and 16-31, DR7 bit 10); DR7.GD or an I/O
     breakpoint without CR4.DE -> -EPERM; DR4/5 alias DR6/7 while CR4.DE is clear;
     others -> -ENODEV. do_get_debugreg: x86emul_read_dr, -ENODEV for other registers. */
#include "misc.h"

void test_vm_assist(void) {
    printk("vm_assist\n");
    static const unsigned int valid[] = { VMASST_TYPE_4gb_segments, VMASST_TYPE_4gb_segments_notify,
                                          VMASST_TYPE_writable_pagetables, VMASST_TYPE_pae_extended_cr3,
                                          VMASST_TYPE_architectural_iopl, VMASST_TYPE_runstate_update_flag,
                                          VMASST_TYPE_m2p_strict };
    for (unsigned int i = 0; i < ARRAY_SIZE(valid); i++) {
        char w[64];
        snprintf(w, sizeof(w), "vm_assist(enable, %u)", valid[i]);
        check_rc(w, hypercall_vm_assist(VMASST_CMD_enable, valid[i]), 0);
        snprintf(w, sizeof(w), "vm_assist(disable, %u)", valid[i]);
        check_rc(w, hypercall_vm_assist(VMASST_CMD_disable, valid[i]), 0);
    }
    static const unsigned int invalid[] = { 6, 7, 31, 33, 63, 64, 0xffffffffu };
    for (unsigned int i = 0; i < ARRAY_SIZE(invalid); i++) {
        char w[64];
        snprintf(w, sizeof(w), "vm_assist(enable, %u)", invalid[i]);
        check_rc(w, hypercall_vm_assist(VMASST_CMD_enable, invalid[i]), -XEN_EINVAL);
    }
    check_rc("vm_assist(cmd 2, writable_pagetables)", hypercall_vm_assist(2, VMASST_TYPE_writable_pagetables), -XEN_ENOSYS);
    check_rc("vm_assist(cmd ~0, runstate_update_flag)", hypercall_vm_assist(~0u, VMASST_TYPE_runstate_update_flag), -XEN_ENOSYS);
    check_rc("vm_assist(cmd 2, type 6): the type is checked first", hypercall_vm_assist(2, 6), -XEN_EINVAL);
}

static unsigned long user_fs_read(unsigned long off) { return read_fs_qword(off); }
static unsigned long user_gs_read(unsigned long off) { return read_gs_qword(off); }
static unsigned long user_gs_sel(unsigned long unused) {
    (void)unused;
    return read_gs();
}

static volatile uint64_t fs_area[2] = { 0x66732d6172656121UL, 0 };
static volatile uint64_t gs_kernel_area[2] = { 0x67736b65726e656cUL, 0 };
static volatile uint64_t flat_probe = 0x666c61742d67730aUL;

void test_segment_base(void) {
    printk("set_segment_base\n");
    check_rc("set_segment_base(FS)", hypercall_set_segment_base(SEGBASE_FS, (unsigned long)fs_area), 0);
    check_eq("kernel %fs:0", read_fs_qword(0), fs_area[0]);
    check_eq("user %fs:0 (FS is not swapped)", exec_user(user_fs_read, 0), fs_area[0]);
    check_rc("set_segment_base(FS, 0)", hypercall_set_segment_base(SEGBASE_FS, 0), 0);
    check_rc("set_segment_base(FS, non-canonical)", hypercall_set_segment_base(SEGBASE_FS, NONCANON), -XEN_EINVAL);
    check_rc("set_segment_base(GS_USER, non-canonical)", hypercall_set_segment_base(SEGBASE_GS_USER, 0x0000800000000000UL), -XEN_EINVAL);
    check_rc("set_segment_base(GS_KERNEL, non-canonical)", hypercall_set_segment_base(SEGBASE_GS_KERNEL, 0xffff7fffffffffffUL), -XEN_EINVAL);
    check_rc("set_segment_base(FS, highest canonical)", hypercall_set_segment_base(SEGBASE_FS, 0x00007fffffffffffUL), 0);
    check_rc("set_segment_base(FS, 0)", hypercall_set_segment_base(SEGBASE_FS, 0), 0);
    check_rc("set_segment_base(4)", hypercall_set_segment_base(4, 0), -XEN_EINVAL);
    check_rc("set_segment_base(0x100000000 | FS): which is an unsigned int",
             _hypercall2(__HYPERVISOR_set_segment_base, (1UL << 32) | SEGBASE_FS, 0), 0);

    /* GS_USER_SEL with Xen's flat ring-3 data selector (given with RPL 0). */
    check_rc("set_segment_base(GS_KERNEL)", hypercall_set_segment_base(SEGBASE_GS_KERNEL, (unsigned long)gs_kernel_area), 0);
    check_rc("set_segment_base(GS_USER_SEL, 0xe028)", hypercall_set_segment_base(SEGBASE_GS_USER_SEL, FLAT_RING3_DS32 & ~3), 0);
    check_eq("user %gs = 0xe02b (RPL 3)", exec_user(user_gs_sel, 0), FLAT_RING3_DS32);
    check_eq("user %gs:&flat_probe (flat base 0)", exec_user(user_gs_read, (unsigned long)&flat_probe), flat_probe);
    check_eq("kernel %gs:0 keeps the kernel base", read_gs_qword(0), gs_kernel_area[0]);
    /* No GDT: 0x10 names a zero descriptor; Xen's fixup loads NUL and still returns 0. */
    check_rc("set_segment_base(GS_USER_SEL, 0x10) with no GDT", hypercall_set_segment_base(SEGBASE_GS_USER_SEL, 0x10), 0);
    check_eq("user %gs after the failed load", exec_user(user_gs_sel, 0), 0);
    check_rc("set_segment_base(GS_USER_SEL, 0)", hypercall_set_segment_base(SEGBASE_GS_USER_SEL, 0), 0);
    check_eq("user %gs", exec_user(user_gs_sel, 0), 0);
    check_rc("set_segment_base(GS_USER, 0)", hypercall_set_segment_base(SEGBASE_GS_USER, 0), 0);
}

static volatile uint32_t watched;

void test_debugreg(void) {
    printk("set_debugreg / get_debugreg\n");
    unsigned long addr = (unsigned long)&watched;
    check_rc("set_debugreg(0, a kernel address)", hypercall_set_debugreg(0, addr), 0);
    check_eq("get_debugreg(0)", hypercall_get_debugreg(0), addr);
    check_rc("set_debugreg(1, 1 << 47)", hypercall_set_debugreg(1, 0x0000800000000000UL), -XEN_EPERM);
    check_rc("set_debugreg(2, HYPERVISOR_VIRT_START)", hypercall_set_debugreg(2, HYPERVISOR_VIRT_START), -XEN_EPERM);
    check_rc("set_debugreg(3, HYPERVISOR_VIRT_END - 8)", hypercall_set_debugreg(3, HYPERVISOR_VIRT_END - 8), -XEN_EPERM);
    check_rc("set_debugreg(3, HYPERVISOR_VIRT_END)", hypercall_set_debugreg(3, HYPERVISOR_VIRT_END), 0);
    check_eq("get_debugreg(3)", hypercall_get_debugreg(3), HYPERVISOR_VIRT_END);
    check_rc("set_debugreg(3, 0)", hypercall_set_debugreg(3, 0), 0);

    check_rc("set_debugreg(6, 0)", hypercall_set_debugreg(6, 0), 0);
    long dr6 = hypercall_get_debugreg(6);
    /* Bits 4-10 and 17-31 read as one, bit 12 as zero; 11 and 16 depend on BLD/RTM. */
    check((dr6 & 0xfffe17f0L) == 0xfffe07f0L, "DR6 after writing 0: %#lx lacks the reserved ones", dr6);
    check_eq("get_debugreg(4) aliases DR6 (CR4.DE clear)", hypercall_get_debugreg(4), dr6);
    check_rc("set_debugreg(6, 1 << 32)", hypercall_set_debugreg(6, 1UL << 32), -XEN_EINVAL);
    check_rc("set_debugreg(4, 0) writes DR6", hypercall_set_debugreg(4, 0), 0);

    check_rc("set_debugreg(7, 0)", hypercall_set_debugreg(7, 0), 0);
    check_eq("get_debugreg(7): bit 10 reads as one", hypercall_get_debugreg(7), 0x400);
    check_eq("get_debugreg(5) aliases DR7", hypercall_get_debugreg(5), 0x400);
    check_rc("set_debugreg(7, 1 << 32)", hypercall_set_debugreg(7, 1UL << 32), -XEN_EINVAL);
    check_rc("set_debugreg(7, GD)", hypercall_set_debugreg(7, 1UL << 13), -XEN_EPERM);
    check_rc("set_debugreg(7, L0 with an I/O breakpoint)", hypercall_set_debugreg(7, 1 | (2UL << 16)), -XEN_EPERM);
    check_rc("set_debugreg(8, 0)", hypercall_set_debugreg(8, 0), -XEN_ENODEV);
    check_rc("set_debugreg(-1, 0)", hypercall_set_debugreg(-1, 0), -XEN_ENODEV);
    check_rc("get_debugreg(8)", hypercall_get_debugreg(8), -XEN_ENODEV);
    check_rc("get_debugreg(-1)", hypercall_get_debugreg(-1), -XEN_ENODEV);

    /* The armed data breakpoint itself is tested by the debug_breakpoints kernel. */
    check_rc("set_debugreg(0, 0)", hypercall_set_debugreg(0, 0), 0);
}
