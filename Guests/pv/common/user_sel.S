/* User mode with chosen selectors, and a raw iret hypercall with chosen selectors
   (segments.h). Same frames as entry.S: the iret hypercall takes
   {flags, rip, cs, rflags, rsp, ss} above what the hypercall page's iret slot pushes;
   an `int n` from user mode arrives as {rcx, r11, rip, cs, rflags, rsp, ss}. */
#include "layout.h"
#include "xen.h"

#define KTF_VEC_RET2KERN_SEL 0x21   /* as in segments.h */

    .text

/* unsigned long exec_user_sel(fn, arg, cs, ss): rdi, rsi, rdx, rcx */
    .globl exec_user_sel
    .type exec_user_sel, @function
exec_user_sel:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, user_sel_saved_rsp(%rip)
    push    %rcx                        /* ss */
    lea     user_stack + 8192(%rip), %rax
    push    %rax                        /* rsp */
    push    $0x202                      /* rflags: IF */
    push    %rdx                        /* cs, RPL 3: Xen switches to user mode */
    lea     user_sel_stub(%rip), %rax
    push    %rax                        /* rip */
    push    $0                          /* flags */
    jmp     hypercall_iret
    .size exec_user_sel, . - exec_user_sel

user_sel_stub:                          /* user mode: rdi = fn, rsi = arg */
    xchg    %rdi, %rsi
    call    *%rsi
    int     $KTF_VEC_RET2KERN_SEL
    ud2

    .globl entry_ret2kern_sel
    .type entry_ret2kern_sel, @function
entry_ret2kern_sel:                     /* kernel stack: rcx, r11, rip, cs, rflags, rsp, ss */
    mov     24(%rsp), %rcx
    mov     %rcx, user_sel_ret_cs(%rip)
    mov     48(%rsp), %rcx
    mov     %rcx, user_sel_ret_ss(%rip)
    mov     user_sel_saved_rsp(%rip), %rsp
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size entry_ret2kern_sel, . - entry_ret2kern_sel

/* void iret_raw(uint64_t cs, uint64_t ss): rdi, rsi */
    .globl iret_raw
    .type iret_raw, @function
iret_raw:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %r12                  /* survives the iret and any bounce */
    push    %rsi                        /* ss */
    push    %r12                        /* rsp */
    push    $0x2                        /* rflags: IF clear, events stay masked */
    push    %rdi                        /* cs */
    lea     iret_raw_landing(%rip), %rax
    push    %rax                        /* rip */
    push    $0                          /* flags */
    jmp     hypercall_iret
    .globl iret_raw_landing
iret_raw_landing:
    mov     %r12, %rsp
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret
    .size iret_raw, . - iret_raw

/* Failsafe callback for iret_raw: frame {rcx, r11, ds, es, fs, gs, rip, cs, rflags,
   rsp, ss}; r12 still holds iret_raw's stack. */
    .globl iret_raw_failsafe_entry
    .type iret_raw_failsafe_entry, @function
iret_raw_failsafe_entry:
    mov     56(%rsp), %rax
    mov     %rax, iret_raw_failsafe_cs(%rip)
    lock incl iret_raw_failsafe_hits(%rip)
    jmp     iret_raw_landing
    .size iret_raw_failsafe_entry, . - iret_raw_failsafe_entry

    .bss
    .balign 8
user_sel_saved_rsp:
    .quad 0
    .globl user_sel_ret_cs
user_sel_ret_cs:
    .quad 0
    .globl user_sel_ret_ss
user_sel_ret_ss:
    .quad 0
    .globl iret_raw_failsafe_cs
iret_raw_failsafe_cs:
    .quad 0
    .globl iret_raw_failsafe_hits
iret_raw_failsafe_hits:
    .long 0

    .section .note.GNU-stack, "", @progbits
