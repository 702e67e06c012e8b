/* Segments for the descriptor-table tests (xen-abi.md §2.10, §4.7): descriptor builders,
   selector loads that report the exception they raise, remapping a page read-only or
   writable, user mode with a chosen cs/ss pair, and a raw iret hypercall with chosen
   selectors. Helpers only: nothing here runs unless a test calls it. */
#ifndef KTF_SEGMENTS_H
#define KTF_SEGMENTS_H

#include "ktf.h"

/* A second "return to the kernel" vector for exec_user_sel (DPL 3, registered by
   user_sel_init next to the kit's 0x20). */
#define KTF_VEC_RET2KERN_SEL 0x21   /* also in user_sel.S */

/* Descriptor flags as Linux writes them (GDT_ENTRY): access byte in bits 0-7, then
   AVL/L/DB/G in bits 12-15. The accessed bit is set so the CPU never writes it back. */
#define SEG_CODE64(dpl)  (0xa09b | ((dpl) << 5))  /* L=1, execute/read, accessed */
#define SEG_CODE32(dpl)  (0xc09b | ((dpl) << 5))  /* D=1, G=1 */
#define SEG_DATA(dpl)    (0xc093 | ((dpl) << 5))  /* read/write, accessed, G=1, B=1 */
#define SEG_P            0x0080                    /* the P bit in these flags */

/* desc_struct {a, b}: a = low dword, b = high dword. */
static inline uint64_t seg_desc(uint32_t base, uint32_t limit, uint16_t flags) {
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (limit & 0xffffu) | ((uint64_t)(limit & 0xf0000u) << 32) |
           ((uint64_t)(flags & 0xf0ffu) << 40);
}

/* System descriptors (S = 0): type in bits 40-43 of the 64-bit value. */
static inline uint64_t sys_desc(unsigned int type, unsigned int dpl, bool present, uint32_t a) {
    return ((uint64_t)(present ? 1 : 0) << 47) | ((uint64_t)(dpl & 3) << 45) |
           ((uint64_t)(type & 15) << 40) | a;
}

/* First half of a 64-bit call gate (type 0xC) to sel:offset (offset < 4 GiB, so the
   second half, offset bits 63:32 and a type-0 high dword, is all zero). */
static inline uint64_t call_gate(uint16_t sel, uint32_t offset, unsigned int dpl) {
    uint64_t a = ((uint64_t)sel << 16) | (offset & 0xffffu);
    uint64_t b = (offset & 0xffff0000u) | 0x8000u | ((dpl & 3u) << 13) | (0xcu << 8);
    return (b << 32) | a;
}

#define DESC_DPL(d)      ((unsigned int)(((d) >> 45) & 3))
#define DESC_PRESENT(d)  ((unsigned int)(((d) >> 47) & 1))
#define GATE_SEL(d)      ((uint16_t)((d) >> 16))
#define DESC_DPL_MASK    (3UL << 45)

/* ---- selector loads: 0 or the exinfo of the fault ---- */
static inline exinfo_t load_ds(uint16_t sel) {
    exinfo_t ex = 0;
    __asm__ volatile("1: mov %w[s], %%ds\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : [s] "r"(sel) : "memory");
    return ex;
}
static inline exinfo_t load_es(uint16_t sel) {
    exinfo_t ex = 0;
    __asm__ volatile("1: mov %w[s], %%es\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : [s] "r"(sel) : "memory");
    return ex;
}
static inline exinfo_t load_fs(uint16_t sel) {
    exinfo_t ex = 0;
    __asm__ volatile("1: mov %w[s], %%fs\n2:\n\t" _ASM_EXTABLE(1b, 2b) : "+a"(ex) : [s] "r"(sel) : "memory");
    return ex;
}
static inline uint16_t read_ds(void) { uint16_t s; __asm__ volatile("mov %%ds, %0" : "=r"(s)); return s; }
static inline uint16_t read_es(void) { uint16_t s; __asm__ volatile("mov %%es, %0" : "=r"(s)); return s; }
static inline uint16_t read_fs(void) { uint16_t s; __asm__ volatile("mov %%fs, %0" : "=r"(s)); return s; }
static inline uint16_t read_gs(void) { uint16_t s; __asm__ volatile("mov %%gs, %0" : "=r"(s)); return s; }
static inline uint16_t read_cs(void) { uint16_t s; __asm__ volatile("mov %%cs, %0" : "=r"(s)); return s; }
static inline uint16_t read_ss(void) { uint16_t s; __asm__ volatile("mov %%ss, %0" : "=r"(s)); return s; }
static inline uint64_t read_fs_qword(unsigned long off) {
    uint64_t v;
    __asm__ volatile("mov %%fs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
    return v;
}
static inline uint64_t read_gs_qword(unsigned long off) {
    uint64_t v;
    __asm__ volatile("mov %%gs:(%1), %0" : "=r"(v) : "r"(off) : "memory");
    return v;
}

/* SEGBASE_* of set_segment_base (public/arch-x86/xen-x86_64.h) */
#define SEGBASE_FS          0
#define SEGBASE_GS_USER     1
#define SEGBASE_GS_KERNEL   2
#define SEGBASE_GS_USER_SEL 3

/* Hypercalls the kit has no wrapper for. */
static inline long hypercall_set_gdt(const unsigned long *frames, unsigned int entries) {
    return _hypercall2(__HYPERVISOR_set_gdt, frames, entries);
}
static inline long hypercall_update_descriptor(uint64_t maddr, uint64_t desc) {
    return _hypercall2(__HYPERVISOR_update_descriptor, maddr, desc);
}
static inline long mmuext_set_ldt(unsigned long base, unsigned int ents) {
    struct mmuext_op op = { .cmd = MMUEXT_SET_LDT };
    op.arg1.linear_addr = base;
    op.arg2.nr_ents = ents;
    return hypercall_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

/* ---- segments.c ---- */
/* Maps the page at va (its own frame) read-only or writable again. */
long ktf_remap_page(void *va, bool writable);
/* Adds the KTF_VEC_RET2KERN_SEL entry to the trap table (once per test). */
long user_sel_init(void);

/* ---- user_sel.S ---- */
/* exec_user with a chosen user cs/ss (RPL 3): fn(arg) at user privilege on user_stack,
   back with `int $KTF_VEC_RET2KERN_SEL`. user_sel_ret_cs/ss hold the cs/ss of that
   int's bounce frame (what user mode was running with). */
unsigned long exec_user_sel(unsigned long (*fn)(unsigned long), unsigned long arg, uint64_t cs, uint64_t ss);
extern volatile uint64_t user_sel_ret_cs, user_sel_ret_ss;
void entry_ret2kern_sel(void);

/* An iret hypercall to iret_raw_landing with the given cs and ss (rflags IF clear, so
   events stay masked; rsp = the caller's). With good selectors it simply lands there;
   with a bad one the test recovers to iret_raw_landing from its #GP handler (set
   rip = iret_raw_landing, a kernel cs/ss and rsp = regs->r12) or from
   iret_raw_failsafe_entry (registered as the failsafe callback), which counts in
   iret_raw_failsafe_hits and records the frame's cs in iret_raw_failsafe_cs. */
void iret_raw(uint64_t cs, uint64_t ss);
void iret_raw_landing(void);
void iret_raw_failsafe_entry(void);
extern volatile uint32_t iret_raw_failsafe_hits;
extern volatile uint64_t iret_raw_failsafe_cs;

#endif
