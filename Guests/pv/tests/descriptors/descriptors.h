/* Shared state of the descriptors kernel (one file per area: gdt.c, selectors.c,
   ldt.c, iret.c, main.c). */
#ifndef DESCRIPTORS_H
#define DESCRIPTORS_H

#include "segments.h"

#define HUGE_MFN (1UL << 32)                          /* 16 TiB: not RAM anywhere */
#define UNMAPPED_VA 0x00007ff000000000UL

/* The guest GDT the kernel installs (512 entries, one page), laid out like Linux's:
   0x10 kernel CS64 and 0x18 kernel DS written with DPL 0 (Xen makes them DPL 3), 0x23
   user CS32, 0x2b user DS, 0x33 user CS64 (DPL 3). */
enum {
    GDT_KCODE = 2, GDT_KDATA = 3, GDT_UCODE32 = 4, GDT_UDATA = 5, GDT_UCODE64 = 6,
    GDT_DPL1 = 7,        /* data, DPL 1 -> 3 */
    GDT_NP = 8,          /* data, DPL 0, not present: left alone */
    GDT_FS = 9,          /* data, DPL 3, base = &fs_target */
    GDT_GS = 10,         /* data, DPL 3, base = &gs_target */
    GDT_GATE = 11,       /* call gate to 0x10, DPL 3 (12: its second half) */
    GDT_SYS0 = 13,       /* system type 0, present: left alone */
    GDT_GATE_XEN = 14,   /* call gate to FLAT_KERNEL_CS 0xe033, DPL 2 (15: second half) */
    GDT_TSS_NP = 18,     /* a TSS, not present: left alone */
    GDT_NP3 = 19,        /* data, DPL 3, not present */
    GDT_BAD = 20,        /* where gdt_bad gets its refused descriptor */
    GDT_UPDATE = 21,     /* update_descriptor targets: 21 to 24 */
    GDT_EMPTY = 100,     /* never written */
};
#define SEL(idx, rpl) ((uint16_t)(((idx) << 3) | (rpl)))
#define LDT_SEL(idx)  ((uint16_t)(((idx) << 3) | 4 | 3))

extern uint64_t gdt[512];
extern volatile uint64_t fs_target, gs_target;
extern volatile uint64_t gs_kernel_area[8];
void gate_target(void);

void build_gdt(uint64_t *g);
/* Installs gdt as the only frame with 512 entries (remapped read-only first). */
bool install_gdt(void);
void test_set_gdt_errors(void);
void test_gdt_fixups(void);
void test_refused_descriptors(void);
void test_update_descriptor(void);
void test_selector_loads(void);
void test_user_selectors(void);
void test_gs_user_sel(void);
void test_ldt(void);
void test_iret_faults(void);
void teardown_gdt(void);

#endif
