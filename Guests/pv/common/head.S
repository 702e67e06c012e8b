/* Start of every KiteXTF PV kernel: the Xen ELF notes (public/elfnote.h, xen-abi.md §1),
   the hypercall page the domain builder fills (§2.8), the stacks, and the entry point.
   Entry state (§2.6): 64-bit mode, cs 0xe033, rsi = VA of start_info, rsp = top of the
   builder's boot stack, events masked (vcpu_info.evtchn_upcall_mask = 1). */
#include "layout.h"
#include "xen.h"

/* ELFNOTE type, directive, value: one "Xen" note in .note.Xen (placed in a PT_NOTE). */
.macro ELFNOTE type, directive, value:vararg
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4                 /* namesz: "Xen\0" */
    .long 2f - 1f           /* descsz */
    .long \type
    .asciz "Xen"
1:  \directive \value
2:  .balign 4
    .popsection
.endm

ELFNOTE XEN_ELFNOTE_GUEST_OS,       .asciz, "KiteXTF"
ELFNOTE XEN_ELFNOTE_GUEST_VERSION,  .asciz, "1"
ELFNOTE XEN_ELFNOTE_XEN_VERSION,    .asciz, "xen-3.0"
ELFNOTE XEN_ELFNOTE_LOADER,         .asciz, "generic"
ELFNOTE XEN_ELFNOTE_VIRT_BASE,      .quad,  0
ELFNOTE XEN_ELFNOTE_PADDR_OFFSET,   .quad,  0
ELFNOTE XEN_ELFNOTE_ENTRY,          .quad,  _start
ELFNOTE XEN_ELFNOTE_HYPERCALL_PAGE, .quad,  hypercall_page
/* The same FEATURES string as XTF and Linux; no feature is actually relied upon. */
ELFNOTE XEN_ELFNOTE_FEATURES,       .asciz, "!writable_page_tables|pae_pgdir_above_4gb"

    .section .text.head, "ax"
    .code64
    .globl _start
_start:
    cld
    mov     %rsi, start_info(%rip)
    lea     cpu_stacks + KTF_STACK_BLOCK(%rip), %rsp    /* vCPU 0 main stack top */
    xor     %ebp, %ebp
    call    ktf_main
    ud2                                                 /* ktf_main never returns */

/* Secondary vCPUs start here (VCPUOP_initialise sets rip and rsp; rdi = vCPU id). */
    .globl ktf_ap_entry
ktf_ap_entry:
    cld
    xor     %ebp, %ebp
    call    ktf_ap_main
    ud2

/* The builder overwrites this page with 128 stubs of 32 bytes; until then every slot
   is `ret` (0xc3), as in XTF, so a missing page shows up as hypercalls returning junk. */
    .text
    .balign 4096
    .globl hypercall_page
hypercall_page:
    .fill 4096, 1, 0xc3
    .size hypercall_page, 4096

    .section .bss.page_aligned, "aw", @nobits
    .balign 4096
    .globl cpu_stacks
cpu_stacks:
    .skip KTF_STACK_BLOCK * KTF_MAX_CPUS
    .size cpu_stacks, KTF_STACK_BLOCK * KTF_MAX_CPUS
    .globl user_stack
user_stack:
    .skip 8192
    .size user_stack, 8192

    .section .note.GNU-stack, "", @progbits
