/* Hypercall wrappers for a 64-bit PV guest (arch-x86/xen-x86_64.h): number in rax,
   arguments in rdi, rsi, rdx, r10, r8, result in rax; Xen may clobber the argument
   registers, so they are in/out operands here.

   Two entry paths:
   - hypercall_*: `call hypercall_page + nr * 32`; the page is filled by the domain
     builder from the XEN_ELFNOTE_HYPERCALL_PAGE note (xen-abi.md §2.8).
   - raw_hypercall_*: an inline `push %rcx; push %r11; syscall; pop %r11; pop %rcx`, the
     form post-XSA-466 Linux and PV-GRUB use (no hypercall page at all). */
#ifndef KTF_HYPERCALL_H
#define KTF_HYPERCALL_H

#include "xen.h"

extern char hypercall_page[4096];

#define KTF_HC_PAGE(nr) "call hypercall_page + %c[off]\n\t"
#define KTF_HC_RAW(nr) "push %%rcx\n\tpush %%r11\n\tsyscall\n\tpop %%r11\n\tpop %%rcx\n\t"

/* The page variant passes the slot offset as an immediate; the raw one passes nr in rax. */
#define _hypercall0(nr)                                                               \
    ({ long _r;                                                                       \
       __asm__ volatile(KTF_HC_PAGE(nr) : "=a"(_r) : [off] "i"((nr) * 32) : "memory"); \
       _r; })
#define _hypercall1(nr, a1)                                                           \
    ({ long _r; long _a1 = (long)(a1);                                                \
       __asm__ volatile(KTF_HC_PAGE(nr) : "=a"(_r), "+D"(_a1)                        \
                        : [off] "i"((nr) * 32) : "memory");                          \
       _r; })
#define _hypercall2(nr, a1, a2)                                                       \
    ({ long _r; long _a1 = (long)(a1), _a2 = (long)(a2);                              \
       __asm__ volatile(KTF_HC_PAGE(nr) : "=a"(_r), "+D"(_a1), "+S"(_a2)             \
                        : [off] "i"((nr) * 32) : "memory");                          \
       _r; })
#define _hypercall3(nr, a1, a2, a3)                                                   \
    ({ long _r; long _a1 = (long)(a1), _a2 = (long)(a2), _a3 = (long)(a3);            \
       __asm__ volatile(KTF_HC_PAGE(nr) : "=a"(_r), "+D"(_a1), "+S"(_a2), "+d"(_a3)  \
                        : [off] "i"((nr) * 32) : "memory");                          \
       _r; })
#define _hypercall4(nr, a1, a2, a3, a4)                                               \
    ({ long _r; long _a1 = (long)(a1), _a2 = (long)(a2), _a3 = (long)(a3);            \
       register long _a4 __asm__("r10") = (long)(a4);                                 \
       __asm__ volatile(KTF_HC_PAGE(nr) : "=a"(_r), "+D"(_a1), "+S"(_a2), "+d"(_a3), \
                        "+r"(_a4) : [off] "i"((nr) * 32) : "memory");                \
       _r; })
#define _hypercall5(nr, a1, a2, a3, a4, a5)                                           \
    ({ long _r; long _a1 = (long)(a1), _a2 = (long)(a2), _a3 = (long)(a3);            \
       register long _a4 __asm__("r10") = (long)(a4);                                 \
       register long _a5 __asm__("r8") = (long)(a5);                                  \
       __asm__ volatile(KTF_HC_PAGE(nr) : "=a"(_r), "+D"(_a1), "+S"(_a2), "+d"(_a3), \
                        "+r"(_a4), "+r"(_a5) : [off] "i"((nr) * 32) : "memory");     \
       _r; })

/* Raw `syscall` variants: nr is a run-time value in rax. */
#define _raw_hypercall0(nr)                                                           \
    ({ long _r = (long)(nr);                                                          \
       __asm__ volatile(KTF_HC_RAW(0) : "+a"(_r) : : "memory"); _r; })
#define _raw_hypercall1(nr, a1)                                                       \
    ({ long _r = (long)(nr); long _a1 = (long)(a1);                                   \
       __asm__ volatile(KTF_HC_RAW(0) : "+a"(_r), "+D"(_a1) : : "memory"); _r; })
#define _raw_hypercall2(nr, a1, a2)                                                   \
    ({ long _r = (long)(nr); long _a1 = (long)(a1), _a2 = (long)(a2);                 \
       __asm__ volatile(KTF_HC_RAW(0) : "+a"(_r), "+D"(_a1), "+S"(_a2) : : "memory"); \
       _r; })
#define _raw_hypercall3(nr, a1, a2, a3)                                               \
    ({ long _r = (long)(nr); long _a1 = (long)(a1), _a2 = (long)(a2), _a3 = (long)(a3); \
       __asm__ volatile(KTF_HC_RAW(0) : "+a"(_r), "+D"(_a1), "+S"(_a2), "+d"(_a3)     \
                        : : "memory");                                                \
       _r; })
#define _raw_hypercall4(nr, a1, a2, a3, a4)                                           \
    ({ long _r = (long)(nr); long _a1 = (long)(a1), _a2 = (long)(a2), _a3 = (long)(a3); \
       register long _a4 __asm__("r10") = (long)(a4);                                 \
       __asm__ volatile(KTF_HC_RAW(0) : "+a"(_r), "+D"(_a1), "+S"(_a2), "+d"(_a3),    \
                        "+r"(_a4) : : "memory");                                      \
       _r; })
#define _raw_hypercall5(nr, a1, a2, a3, a4, a5)                                       \
    ({ long _r = (long)(nr); long _a1 = (long)(a1), _a2 = (long)(a2), _a3 = (long)(a3); \
       register long _a4 __asm__("r10") = (long)(a4);                                 \
       register long _a5 __asm__("r8") = (long)(a5);                                  \
       __asm__ volatile(KTF_HC_RAW(0) : "+a"(_r), "+D"(_a1), "+S"(_a2), "+d"(_a3),    \
                        "+r"(_a4), "+r"(_a5) : : "memory");                           \
       _r; })

/* True once the builder has filled the page (slot 0 starts with push %rcx, 0x51). */
static inline bool hypercall_page_ready(void) {
    return *(volatile uint8_t *)&hypercall_page[0] == 0x51;
}

/* ---- Typed wrappers (through the hypercall page) ---- */

static inline long hypercall_set_trap_table(const struct trap_info *t) {
    return _hypercall1(__HYPERVISOR_set_trap_table, t);
}
static inline long hypercall_mmu_update(const struct mmu_update *req, unsigned int count,
                                        unsigned int *done, domid_t foreigndom) {
    return _hypercall4(__HYPERVISOR_mmu_update, req, count, done, foreigndom);
}
static inline long hypercall_stack_switch(unsigned long ss, const void *sp) {
    return _hypercall2(__HYPERVISOR_stack_switch, ss, sp);
}
static inline long hypercall_set_callbacks(unsigned long event, unsigned long failsafe,
                                           unsigned long syscall) {
    return _hypercall3(__HYPERVISOR_set_callbacks, event, failsafe, syscall);
}
static inline long hypercall_fpu_taskswitch(int set) {
    return _hypercall1(__HYPERVISOR_fpu_taskswitch, set);
}
static inline long hypercall_get_debugreg(int reg) {
    return _hypercall1(__HYPERVISOR_get_debugreg, reg);
}
static inline long hypercall_set_debugreg(int reg, unsigned long value) {
    return _hypercall2(__HYPERVISOR_set_debugreg, reg, value);
}
static inline long hypercall_memory_op(unsigned long cmd, void *arg) {
    return _hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}
static inline long hypercall_multicall(struct multicall_entry *calls, unsigned long nr) {
    return _hypercall2(__HYPERVISOR_multicall, calls, nr);
}
static inline long hypercall_update_va_mapping(unsigned long va, uint64_t pte,
                                               unsigned long flags) {
    return _hypercall3(__HYPERVISOR_update_va_mapping, va, pte, flags);
}
static inline long hypercall_set_timer_op(uint64_t timeout) {
    return _hypercall1(__HYPERVISOR_set_timer_op, timeout);
}
static inline long hypercall_xen_version(int cmd, void *arg) {
    return _hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}
static inline long hypercall_console_io(unsigned int cmd, unsigned int count, const void *buf) {
    return _hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}
static inline long hypercall_vm_assist(unsigned int cmd, unsigned int type) {
    return _hypercall2(__HYPERVISOR_vm_assist, cmd, type);
}
static inline long hypercall_vcpu_op(int cmd, unsigned int vcpu, void *arg) {
    return _hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}
static inline long hypercall_set_segment_base(unsigned int which, unsigned long base) {
    return _hypercall2(__HYPERVISOR_set_segment_base, which, base);
}
static inline long hypercall_mmuext_op(const struct mmuext_op *ops, unsigned int count,
                                       unsigned int *done, domid_t foreigndom) {
    return _hypercall4(__HYPERVISOR_mmuext_op, ops, count, done, foreigndom);
}
static inline long hypercall_sched_op(int cmd, void *arg) {
    return _hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}
static inline long hypercall_callback_op(int cmd, const void *arg) {
    return _hypercall2(__HYPERVISOR_callback_op, cmd, arg);
}
static inline long hypercall_event_channel_op(int cmd, void *arg) {
    return _hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

/* Convenience forms */
static inline long hypercall_shutdown(unsigned int reason) {
    struct sched_shutdown s = { .reason = reason };
    return hypercall_sched_op(SCHEDOP_shutdown, &s);
}
static inline long hypercall_yield(void) { return hypercall_sched_op(SCHEDOP_yield, NULL); }
static inline long hypercall_block(void) { return hypercall_sched_op(SCHEDOP_block, NULL); }
static inline long hypercall_register_callback(unsigned int type, unsigned int flags,
                                               void (*fn)(void)) {
    struct callback_register cb = { .type = (uint16_t)type, .flags = (uint16_t)flags,
                                    .address = (unsigned long)fn };
    return hypercall_callback_op(CALLBACKOP_register, &cb);
}

#endif
