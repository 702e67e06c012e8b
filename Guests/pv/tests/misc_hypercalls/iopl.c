/* PHYSDEVOP_set_iopl and the port I/O Xen emulates (pv/emul-priv-op.c):
   - do_physdev_op: iopl > 3 -> -EINVAL, unreadable argument -> -EFAULT;
   - iopl_ok: the guest kernel counts as CPL 1 (CPL 0 with VMASST_TYPE_architectural_iopl),
     user mode as CPL 3; the access is allowed when IOPL(cpl) <= the virtual IOPL;
   - guest_io_read for a domain without the port (admin_io_okay false, port 0x80 is not
     one of the PIT/RTC/PCI ports Xen mediates) returns all ones;
   - cli/sti with enough IOPL are accepted and do nothing (validate(): "too dangerous"). */
#include "misc.h"

static long set_iopl(uint32_t iopl) {
    struct physdev_set_iopl op = { .iopl = iopl };
    return hypercall_physdev_op(PHYSDEVOP_set_iopl, &op);
}

/* in al/ax/eax with rax preset to RAX_BEFORE: the extable handler puts the exinfo
   (bit 63 set) in rax, an emulated `in` only writes al/ax/eax. */
#define RAX_BEFORE 0x123456789abcdef0UL
static exinfo_t in_probe(unsigned int width, uint64_t *val) {
    uint64_t rax = RAX_BEFORE;
    switch (width) {
    case 1:
        __asm__ volatile("1: inb $0x80, %%al\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(rax) : : "memory");
        break;
    case 2:
        __asm__ volatile("1: inw %%dx, %%ax\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(rax) : "d"(0x80) : "memory");
        break;
    default:
        __asm__ volatile("1: inl $0x80, %%eax\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(rax) : : "memory");
        break;
    }
    if (rax & EXINFO_VALID) return rax;
    *val = rax;
    return 0;
}

static exinfo_t cli_probe(void) {
    exinfo_t ex = 0;
    __asm__ volatile("1: cli\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : : "memory");
    return ex;
}

static unsigned long user_inb(unsigned long unused) {
    (void)unused;
    uint64_t v = 0;
    exinfo_t ex = in_probe(1, &v);
    return ex ? ex : v;
}

void test_iopl(void) {
    printk("set_iopl and emulated port I/O\n");
    uint64_t v = 0;

    check_rc("set_iopl(4)", set_iopl(4), -XEN_EINVAL);
    check_rc("set_iopl from an unmapped argument", hypercall_physdev_op(PHYSDEVOP_set_iopl, (void *)UNMAPPED_VA), -XEN_EFAULT);
    check_ex("inb $0x80 with IOPL 0", in_probe(1, &v), EXINFO_SYM(GP, 0));

    check_rc("set_iopl(1)", set_iopl(1), 0);
    if (check_ex("inb $0x80 with IOPL 1", in_probe(1, &v), 0))
        check_eq("inb $0x80 reads 0xff, the rest of rax kept", v, 0x123456789abcdeffUL);
    if (check_ex("inw %dx (0x80) with IOPL 1", in_probe(2, &v), 0))
        check_eq("inw reads 0xffff, the rest of rax kept", v, 0x123456789abcffffUL);
    if (check_ex("inl $0x80 with IOPL 1", in_probe(4, &v), 0))
        check_eq("inl reads 0xffffffff (upper half of rax cleared)", v, 0xffffffffUL);
    uint8_t mask = this_vcpu_info()->evtchn_upcall_mask;
    check_ex("cli with IOPL 1", cli_probe(), 0);
    check_eq("cli did not touch the upcall mask", this_vcpu_info()->evtchn_upcall_mask, mask);
    check_eq("user-mode inb with IOPL 1 (user counts as CPL 3)", exec_user(user_inb, 0), EXINFO_SYM(GP, 0));

    check_rc("set_iopl(3)", set_iopl(3), 0);
    check_eq("user-mode inb with IOPL 3", exec_user(user_inb, 0), 0x123456789abcdeffUL);

    check_rc("set_iopl(0)", set_iopl(0), 0);
    check_ex("inb $0x80 with IOPL 0 again", in_probe(1, &v), EXINFO_SYM(GP, 0));
    check_ex("cli with IOPL 0", cli_probe(), EXINFO_SYM(GP, 0));

    /* architectural_iopl: the kernel counts as CPL 0, so IOPL 0 is enough. */
    check_rc("vm_assist(enable, architectural_iopl)", hypercall_vm_assist(VMASST_CMD_enable, VMASST_TYPE_architectural_iopl), 0);
    check_ex("inb $0x80 with architectural_iopl and IOPL 0", in_probe(1, &v), 0);
    check_rc("vm_assist(disable, architectural_iopl)", hypercall_vm_assist(VMASST_CMD_disable, VMASST_TYPE_architectural_iopl), 0);
    check_ex("inb $0x80 without it", in_probe(1, &v), EXINFO_SYM(GP, 0));
}
