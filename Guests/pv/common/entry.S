/* Entry and exit paths of a 64-bit PV kernel (xen-abi.md §5.2-5.5).

   Xen bounces exceptions, events and user-mode syscalls to the guest with this frame,
   lowest address first (the new rsp):

       rcx, r11, [error code], rip, cs | saved_upcall_mask << 32, rflags, rsp, ss

   Every stub pops rcx/r11 (the values the interrupted code had), pushes a dummy error
   code where the vector has none, stores the vector in the upper half of that slot, saves
   the general registers as struct cpu_regs (ktf.h) and calls C. The way back is the iret
   hypercall (#23) with struct iret_context on the stack:

       rax, r11, rcx, flags, rip, cs, rflags, rsp, ss

   i.e. the saved hardware-like frame, preceded by `flags` (0, or VGCF_in_syscall to
   return like SYSRET) and the rcx/r11/rax the hypercall page's iret slot pushes. */
#include "layout.h"
#include "xen.h"

.macro SAVE_ALL
    push    %rdi
    push    %rsi
    push    %rdx
    push    %rcx
    push    %rax
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %rbx
    push    %rbp
    push    %r12
    push    %r13
    push    %r14
    push    %r15
.endm

.macro RESTORE_ALL
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbp
    pop     %rbx
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rax
    pop     %rcx
    pop     %rdx
    pop     %rsi
    pop     %rdi
.endm

/* Calls \fn(struct cpu_regs *) on a 16-byte aligned stack; rbx is restored by RESTORE_ALL. */
.macro CALL_C fn
    mov     %rsp, %rdi
    mov     %rsp, %rbx
    and     $~15, %rsp
    call    \fn
    mov     %rbx, %rsp
.endm

    .text

/* One stub per vector: vectors 0-19 and the kit's generic software interrupt. */
.macro EXCEPTION_STUB vec
    .globl entry_exc\vec
    .type entry_exc\vec, @function
entry_exc\vec:
    pop     %rcx
    pop     %r11
    .if ((1 << \vec) & X86_EXC_HAVE_EC) == 0
    push    $0
    .endif
    movl    $\vec, 4(%rsp)
    jmp     handle_exception
    .size entry_exc\vec, . - entry_exc\vec
.endm

EXCEPTION_STUB 0
EXCEPTION_STUB 1
EXCEPTION_STUB 2
EXCEPTION_STUB 3
EXCEPTION_STUB 4
EXCEPTION_STUB 5
EXCEPTION_STUB 6
EXCEPTION_STUB 7
EXCEPTION_STUB 8
EXCEPTION_STUB 9
EXCEPTION_STUB 10
EXCEPTION_STUB 11
EXCEPTION_STUB 12
EXCEPTION_STUB 13
EXCEPTION_STUB 14
EXCEPTION_STUB 16
EXCEPTION_STUB 17
EXCEPTION_STUB 18
EXCEPTION_STUB 19
EXCEPTION_STUB 48   /* KTF_VEC_SOFTINT */

handle_exception:
    SAVE_ALL
    CALL_C  do_exception
    RESTORE_ALL
    add     $8, %rsp            /* drop error code / vector */
    push    $0                  /* iret_context.flags */
    jmp     hypercall_iret

/* Event-channel upcall (CALLBACKTYPE_event): no error code. */
    .globl entry_upcall
    .type entry_upcall, @function
entry_upcall:
    pop     %rcx
    pop     %r11
    push    $0
    movl    $KTF_ENTRY_UPCALL, 4(%rsp)
    SAVE_ALL
    CALL_C  do_upcall
    RESTORE_ALL
    add     $8, %rsp
    push    $0
    jmp     hypercall_iret
    .size entry_upcall, . - entry_upcall

/* `syscall` from guest user mode (CALLBACKTYPE_syscall): frame {rcx, r11, rip, cs,
   rflags, rsp, ss} with rip = the user's return address; return like SYSRET. */
    .globl entry_syscall
    .type entry_syscall, @function
entry_syscall:
    pop     %rcx
    pop     %r11
    push    $0
    movl    $KTF_ENTRY_SYSCALL, 4(%rsp)
    SAVE_ALL
    CALL_C  do_syscall
    RESTORE_ALL
    movq    $VGCF_in_syscall, (%rsp)    /* the error-code slot becomes iret flags */
    jmp     hypercall_iret
    .size entry_syscall, . - entry_syscall

/* Failsafe callback: frame {rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss}.
   The kit never loads selectors that could fail, so this is always fatal. */
    .globl entry_failsafe
    .type entry_failsafe, @function
entry_failsafe:
    pop     %rcx
    pop     %r11
    mov     %rsp, %rdi
    and     $~15, %rsp
    call    do_failsafe
    ud2
    .size entry_failsafe, . - entry_failsafe

/* Return through the iret hypercall: the hypercall page's slot 23 (push rcx, r11, rax;
   mov $23, %eax; syscall) or the same sequence inline when ktf_raw_iret is set. */
    .globl hypercall_iret
    .type hypercall_iret, @function
hypercall_iret:
    cmpb    $0, ktf_raw_iret(%rip)
    jne     1f
    jmp     hypercall_page + __HYPERVISOR_iret * 32
1:  push    %rcx
    push    %r11
    push    %rax
    mov     $__HYPERVISOR_iret, %eax
    syscall
    ud2                                 /* iret never returns */
    .size hypercall_iret, . - hypercall_iret

/* unsigned long exec_user(unsigned long (*fn)(unsigned long), unsigned long arg)
   Drops to guest user mode (iret with cs RPL 3) running fn(arg) on user_stack; the user
   stub comes back with `int $KTF_VEC_RET2KERN`, whose handler restores the kernel stack
   saved here and returns fn's result (rax survives the bounce). */
    .globl exec_user
    .type exec_user, @function
exec_user:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, exec_user_saved_rsp(%rip)
    push    $FLAT_USER_SS               /* ss */
    lea     user_stack + 8192(%rip), %rax
    push    %rax                        /* rsp */
    push    $0x202                      /* rflags: IF (events unmasked in user mode) */
    push    $FLAT_USER_CS               /* cs, RPL 3: Xen switches to user mode */
    lea     exec_user_stub(%rip), %rax
    push    %rax                        /* rip */
    push    $0                          /* flags */
    jmp     hypercall_iret
    .size exec_user, . - exec_user

    .globl exec_user_stub
exec_user_stub:                         /* user mode: rdi = fn, rsi = arg */
    xchg    %rdi, %rsi
    call    *%rsi
    int     $KTF_VEC_RET2KERN
    ud2

    .globl entry_ret2kern
    .type entry_ret2kern, @function
entry_ret2kern:                         /* on the stack_switch stack, events masked */
    mov     exec_user_saved_rsp(%rip), %rsp
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size entry_ret2kern, . - entry_ret2kern

    .bss
    .balign 8
exec_user_saved_rsp:
    .quad 0

    .section .note.GNU-stack, "", @progbits
