/* descriptors: the guest's own GDT and LDT on a 64-bit PV domain, with the rules of
   xen/arch/x86/pv/descriptor-tables.c and xen/arch/x86/mm.c (xen-abi.md §2.10, §4.7):
   - do_set_gdt / pv_set_gdt: entries > FIRST_RESERVED_GDT_ENTRY (7168) -> -EINVAL; an
     unreadable frame list -> -EFAULT; every frame must be a valid MFN of the domain
     that takes the PGT_seg_desc_page type (so no writable mapping anywhere), else the
     whole call fails with -EINVAL and the old GDT stays;
   - check_descriptor (run over the whole page when it takes the type, writing the fixes
     back): not-present and type-0 system descriptors are left alone; code/data get
     DPL < 3 raised to 3 (__fixup_guest_selector); a 64-bit call gate is kept only if its
     target is a guest selector, FLAT_KERNEL_CS or an LDT selector
     (guest_gate_selector_okay) and its reserved byte is 0: DPL forced to 0, the fixed-up
     DPL moved into the target selector's RPL; anything else (TSS, LDT, interrupt/trap
     gates) is refused;
   - do_update_descriptor: unaligned address or refused descriptor -> -EINVAL; the frame
     must be the domain's and take PGT_seg_desc_page or PGT_writable_page, else -EINVAL;
   - MMUEXT_SET_LDT: unaligned base, > 8192 entries or a base in Xen's range -> -EINVAL;
     the LDT is mapped lazily on first use (pv_map_ldt_shadow_page), which validates the
     page then: a writable page gives the guest a #PF at ldt_base + offset;
   - the guest then loads its own selectors: mov to %ds/%es/%fs, an iret hypercall to
     user mode with cs/ss 0x33/0x2b, syscall back (whose frame always says 0xe033/0xe02b:
     lstar_enter pushes FLAT_KERNEL_CS64/FLAT_KERNEL_SS; the SYSRET-like return takes cs
     from MSR_STAR, 0xe033), and SEGBASE_GS_USER_SEL;
   - an iret hypercall whose selectors do not load: the iretq fault is re-dispatched as a
     guest exception (x86_64/entry.S exception_with_ints_disabled: "make it appear as if
     this exception occurred in guest context"), i.e. #GP(selector) at the target. */
#include "descriptors.h"

const char test_title[] = "descriptor tables: set_gdt, update_descriptor, SET_LDT, guest selectors";

void test_main(void) {
    test_set_gdt_errors();
    if (!install_gdt()) {
        xtf_error("Error: cannot install the test GDT\n");
        return;
    }
    test_gdt_fixups();
    test_selector_loads();
    test_user_selectors();
    test_gs_user_sel();
    test_update_descriptor();
    test_refused_descriptors();
    test_ldt();
    teardown_gdt();
    test_iret_faults();
}
