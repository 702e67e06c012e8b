/* Kit-wide constants shared by C and assembly. */
#ifndef KTF_LAYOUT_H
#define KTF_LAYOUT_H

#define KTF_MAX_CPUS    4
/* Per vCPU: [0,16K) stack Xen bounces to from user mode (stack_switch), [16K,32K) main. */
#define KTF_STACK_BLOCK 32768

/* Software-interrupt vectors in the kit's trap table. */
#define KTF_VEC_RET2KERN 0x20   /* DPL 3: user code returns to the kernel (exec_user) */
#define KTF_VEC_SOFTINT  0x30   /* DPL 3: generic software interrupt, handled like a trap */

/* entry_vector values for non-exception entries, recorded in cpu_regs.entry_vector. */
#define KTF_ENTRY_SYSCALL 0x100
#define KTF_ENTRY_UPCALL  0x200

#endif
