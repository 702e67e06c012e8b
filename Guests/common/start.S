/* Entry of every bare-metal guest. The machine enters here in 64-bit mode at CPL 0 with
   RSP at the top of RAM (16-byte aligned), RDI = RAM size in bytes, interrupts off. */
    .section .text.start, "ax"
    .globl _start
_start:
    /* Zero .bss: the flat image does not contain it. RDI is preserved for kmain. */
    mov     %rdi, %r8
    lea     __bss_start(%rip), %rdi
    lea     __bss_end(%rip), %rcx
    sub     %rdi, %rcx
    xor     %eax, %eax
    cld
    rep stosb
    mov     %r8, %rdi
    call    kmain
    /* kmain's return value is the exit code. */
    mov     $0xF4, %dx
    out     %eax, %dx
1:  hlt
    jmp     1b
