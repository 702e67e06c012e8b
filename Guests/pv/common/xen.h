/* Xen's public guest ABI for a 64-bit PV guest, written from the headers in xen/include/public and
   /work/shared/reference/xen-abi.md (Appendix A offsets are asserted below). Only what the
   kit and its tests use. Shared by C and assembly (the numeric part). */
#ifndef KTF_XEN_H
#define KTF_XEN_H

/* ---- Hypercall numbers (public/xen.h) ---- */
#define __HYPERVISOR_set_trap_table        0
#define __HYPERVISOR_mmu_update            1
#define __HYPERVISOR_set_gdt               2
#define __HYPERVISOR_stack_switch          3
#define __HYPERVISOR_set_callbacks         4
#define __HYPERVISOR_fpu_taskswitch        5
#define __HYPERVISOR_sched_op_compat       6
#define __HYPERVISOR_platform_op           7
#define __HYPERVISOR_set_debugreg          8
#define __HYPERVISOR_get_debugreg          9
#define __HYPERVISOR_update_descriptor    10
#define __HYPERVISOR_memory_op            12
#define __HYPERVISOR_multicall            13
#define __HYPERVISOR_update_va_mapping    14
#define __HYPERVISOR_set_timer_op         15
#define __HYPERVISOR_event_channel_op_compat 16
#define __HYPERVISOR_xen_version          17
#define __HYPERVISOR_console_io           18
#define __HYPERVISOR_physdev_op_compat    19
#define __HYPERVISOR_grant_table_op       20
#define __HYPERVISOR_vm_assist            21
#define __HYPERVISOR_update_va_mapping_otherdomain 22
#define __HYPERVISOR_iret                 23
#define __HYPERVISOR_vcpu_op              24
#define __HYPERVISOR_set_segment_base     25
#define __HYPERVISOR_mmuext_op            26
#define __HYPERVISOR_xsm_op               27
#define __HYPERVISOR_nmi_op               28
#define __HYPERVISOR_sched_op             29
#define __HYPERVISOR_callback_op          30
#define __HYPERVISOR_event_channel_op     32
#define __HYPERVISOR_physdev_op           33
#define __HYPERVISOR_hvm_op               34

/* ---- Errno values (public/errno.h); hypercalls return them negated ---- */
#define XEN_EPERM       1
#define XEN_ENOENT      2
#define XEN_ESRCH       3
#define XEN_EINTR       4
#define XEN_EIO         5
#define XEN_ENXIO       6
#define XEN_E2BIG       7
#define XEN_EBADF       9
#define XEN_EAGAIN     11
#define XEN_ENOMEM     12
#define XEN_EACCES     13
#define XEN_EFAULT     14
#define XEN_EBUSY      16
#define XEN_EEXIST     17
#define XEN_EXDEV      18
#define XEN_ENODEV     19
#define XEN_EINVAL     22
#define XEN_ENOSPC     28
#define XEN_ERANGE     34
#define XEN_ENOSYS     38
#define XEN_ENODATA    61
#define XEN_ETIME      62
#define XEN_EOPNOTSUPP 95

/* ---- Segment selectors (arch-x86/xen-x86_64.h) ---- */
#define FLAT_RING3_CS32  0xe023
#define FLAT_RING3_CS64  0xe033
#define FLAT_RING3_DS32  0xe02b
#define FLAT_RING3_SS64  0xe02b
#define FLAT_KERNEL_CS   FLAT_RING3_CS64
#define FLAT_KERNEL_SS   FLAT_RING3_SS64
#define FLAT_KERNEL_DS   0
#define FLAT_USER_CS     FLAT_RING3_CS64
#define FLAT_USER_SS     FLAT_RING3_SS64

#define HYPERVISOR_VIRT_START   0xFFFF800000000000UL
#define HYPERVISOR_VIRT_END     0xFFFF880000000000UL
#define MACH2PHYS_VIRT_START    0xFFFF800000000000UL
#define MACH2PHYS_VIRT_END      0xFFFF804000000000UL

/* iret_context.flags (arch-x86/xen-x86_64.h) */
#define VGCF_in_syscall  (1 << 8)

/* ---- Xen ELF notes (public/elfnote.h) ---- */
#define XEN_ELFNOTE_ENTRY           1
#define XEN_ELFNOTE_HYPERCALL_PAGE  2
#define XEN_ELFNOTE_VIRT_BASE       3
#define XEN_ELFNOTE_PADDR_OFFSET    4
#define XEN_ELFNOTE_XEN_VERSION     5
#define XEN_ELFNOTE_GUEST_OS        6
#define XEN_ELFNOTE_GUEST_VERSION   7
#define XEN_ELFNOTE_LOADER          8
#define XEN_ELFNOTE_FEATURES       10

/* ---- Exception vectors ---- */
#define X86_EXC_DE   0
#define X86_EXC_DB   1
#define X86_EXC_NMI  2
#define X86_EXC_BP   3
#define X86_EXC_OF   4
#define X86_EXC_BR   5
#define X86_EXC_UD   6
#define X86_EXC_NM   7
#define X86_EXC_DF   8
#define X86_EXC_TS  10
#define X86_EXC_NP  11
#define X86_EXC_SS  12
#define X86_EXC_GP  13
#define X86_EXC_PF  14
#define X86_EXC_MF  16
#define X86_EXC_AC  17
#define X86_EXC_MC  18
#define X86_EXC_XM  19
/* Vectors with an error code: DF, TS, NP, SS, GP, PF, AC (and CP 21). */
#define X86_EXC_HAVE_EC  ((1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17))

/* Page-fault error code bits. */
#define PFEC_present     (1 << 0)
#define PFEC_write       (1 << 1)
#define PFEC_user        (1 << 2)
#define PFEC_reserved    (1 << 3)
#define PFEC_insn_fetch  (1 << 4)

#ifndef __ASSEMBLER__

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define KTF_CHECK_OFFSET(type, field, off) \
    _Static_assert(__builtin_offsetof(type, field) == (off), #type "." #field " offset")
#define KTF_CHECK_SIZE(type, size) _Static_assert(sizeof(type) == (size), "sizeof " #type)

typedef uint16_t domid_t;
typedef uint32_t evtchn_port_t;
typedef unsigned long xen_pfn_t;
typedef unsigned long xen_ulong_t;

#define DOMID_SELF  ((domid_t)0x7FF0)
#define DOMID_IO    ((domid_t)0x7FF1)
#define DOMID_XEN   ((domid_t)0x7FF2)
#define DOMID_INVALID ((domid_t)0x7FF4)

/* ---- start_info (public/xen.h) ---- */
#define MAX_GUEST_CMDLINE 1024
struct start_info {
    char magic[32];
    unsigned long nr_pages;
    unsigned long shared_info;      /* machine address */
    uint32_t flags;
    xen_pfn_t store_mfn;
    uint32_t store_evtchn;
    union {
        struct { xen_pfn_t mfn; uint32_t evtchn; } domU;
        struct { uint32_t info_off; uint32_t info_size; } dom0;
    } console;
    unsigned long pt_base;          /* virtual address */
    unsigned long nr_pt_frames;
    unsigned long mfn_list;         /* virtual address */
    unsigned long mod_start;
    unsigned long mod_len;
    int8_t cmd_line[MAX_GUEST_CMDLINE];
    unsigned long first_p2m_pfn;
    unsigned long nr_p2m_frames;
};
KTF_CHECK_OFFSET(struct start_info, nr_pages, 32);
KTF_CHECK_OFFSET(struct start_info, shared_info, 40);
KTF_CHECK_OFFSET(struct start_info, flags, 48);
KTF_CHECK_OFFSET(struct start_info, store_mfn, 56);
KTF_CHECK_OFFSET(struct start_info, store_evtchn, 64);
KTF_CHECK_OFFSET(struct start_info, console.domU.mfn, 72);
KTF_CHECK_OFFSET(struct start_info, console.domU.evtchn, 80);
KTF_CHECK_OFFSET(struct start_info, pt_base, 88);
KTF_CHECK_OFFSET(struct start_info, nr_pt_frames, 96);
KTF_CHECK_OFFSET(struct start_info, mfn_list, 104);
KTF_CHECK_OFFSET(struct start_info, mod_start, 112);
KTF_CHECK_OFFSET(struct start_info, mod_len, 120);
KTF_CHECK_OFFSET(struct start_info, cmd_line, 128);
KTF_CHECK_OFFSET(struct start_info, first_p2m_pfn, 1152);
KTF_CHECK_OFFSET(struct start_info, nr_p2m_frames, 1160);
KTF_CHECK_SIZE(struct start_info, 1168);

#define SIF_PRIVILEGED     (1 << 0)
#define SIF_INITDOMAIN     (1 << 1)
#define SIF_MOD_START_PFN  (1 << 3)

/* ---- vcpu_time_info / vcpu_info / shared_info ---- */
struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};
KTF_CHECK_SIZE(struct vcpu_time_info, 32);
KTF_CHECK_OFFSET(struct vcpu_time_info, tsc_to_system_mul, 24);

struct arch_vcpu_info {
    unsigned long cr2;
    unsigned long pad;
};

struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    xen_ulong_t evtchn_pending_sel;
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
};
KTF_CHECK_OFFSET(struct vcpu_info, evtchn_pending_sel, 8);
KTF_CHECK_OFFSET(struct vcpu_info, arch.cr2, 16);
KTF_CHECK_OFFSET(struct vcpu_info, time, 32);
KTF_CHECK_SIZE(struct vcpu_info, 64);

#define XEN_LEGACY_MAX_VCPUS 32
struct arch_shared_info {
    unsigned long max_pfn;
    xen_pfn_t pfn_to_mfn_frame_list_list;
    unsigned long nmi_reason;
    unsigned long p2m_cr3;
    unsigned long p2m_vaddr;
    unsigned long p2m_generation;
};

struct shared_info {
    struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    xen_ulong_t evtchn_pending[64];
    xen_ulong_t evtchn_mask[64];
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    struct arch_shared_info arch;
};
KTF_CHECK_OFFSET(struct shared_info, evtchn_pending, 2048);
KTF_CHECK_OFFSET(struct shared_info, evtchn_mask, 2560);
KTF_CHECK_OFFSET(struct shared_info, wc_version, 3072);
KTF_CHECK_OFFSET(struct shared_info, wc_sec_hi, 3084);
KTF_CHECK_OFFSET(struct shared_info, arch, 3088);
KTF_CHECK_SIZE(struct shared_info, 3136);

/* ---- Traps (public/arch-x86/xen.h) ---- */
struct trap_info {
    uint8_t vector;
    uint8_t flags;      /* bits 1:0 DPL, bit 2: mask events on entry */
    uint16_t cs;
    unsigned long address;
};
KTF_CHECK_SIZE(struct trap_info, 16);
#define TI_SET_DPL(dpl)   ((dpl) & 3)
#define TI_MASK_EVENTS    4

/* ---- Callbacks (public/callback.h) ---- */
#define CALLBACKTYPE_event     0
#define CALLBACKTYPE_failsafe  1
#define CALLBACKTYPE_syscall   2
#define CALLBACKTYPE_nmi       4
#define CALLBACKTYPE_sysenter  5
#define CALLBACKTYPE_syscall32 7
#define CALLBACKF_mask_events  (1 << 0)
#define CALLBACKOP_register    0
#define CALLBACKOP_unregister  1
struct callback_register {
    uint16_t type;
    uint16_t flags;
    unsigned long address;
};
KTF_CHECK_OFFSET(struct callback_register, address, 8);
KTF_CHECK_SIZE(struct callback_register, 16);
struct callback_unregister {
    uint16_t type;
    uint16_t _unused;
};

/* ---- MMU (public/xen.h) ---- */
#define MMU_NORMAL_PT_UPDATE       0
#define MMU_MACHPHYS_UPDATE        1
#define MMU_PT_UPDATE_PRESERVE_AD  2
#define MMU_PT_UPDATE_NO_TRANSLATE 3
struct mmu_update {
    uint64_t ptr;
    uint64_t val;
};
KTF_CHECK_SIZE(struct mmu_update, 16);

#define MMUEXT_PIN_L1_TABLE      0
#define MMUEXT_PIN_L2_TABLE      1
#define MMUEXT_PIN_L3_TABLE      2
#define MMUEXT_PIN_L4_TABLE      3
#define MMUEXT_UNPIN_TABLE       4
#define MMUEXT_NEW_BASEPTR       5
#define MMUEXT_TLB_FLUSH_LOCAL   6
#define MMUEXT_INVLPG_LOCAL      7
#define MMUEXT_TLB_FLUSH_MULTI   8
#define MMUEXT_INVLPG_MULTI      9
#define MMUEXT_TLB_FLUSH_ALL    10
#define MMUEXT_INVLPG_ALL       11
#define MMUEXT_FLUSH_CACHE      12
#define MMUEXT_SET_LDT          13
#define MMUEXT_NEW_USER_BASEPTR 15
#define MMUEXT_CLEAR_PAGE       16
#define MMUEXT_COPY_PAGE        17
#define MMUEXT_FLUSH_CACHE_GLOBAL 18
#define MMUEXT_MARK_SUPER       19
#define MMUEXT_UNMARK_SUPER     20
struct mmuext_op {
    uint32_t cmd;
    union { xen_pfn_t mfn; unsigned long linear_addr; } arg1;
    union { unsigned int nr_ents; const void *vcpumask; xen_pfn_t src_mfn; } arg2;
};
KTF_CHECK_OFFSET(struct mmuext_op, arg1, 8);
KTF_CHECK_OFFSET(struct mmuext_op, arg2, 16);
KTF_CHECK_SIZE(struct mmuext_op, 24);

#define UVMF_NONE        0
#define UVMF_TLB_FLUSH   1
#define UVMF_INVLPG      2
#define UVMF_LOCAL       0
#define UVMF_ALL         4

#define VMASST_CMD_enable   0
#define VMASST_CMD_disable  1
#define VMASST_TYPE_writable_pagetables 2

/* PTE bits */
#define _PAGE_PRESENT  0x001UL
#define _PAGE_RW       0x002UL
#define _PAGE_USER     0x004UL
#define _PAGE_PWT      0x008UL
#define _PAGE_PCD      0x010UL
#define _PAGE_ACCESSED 0x020UL
#define _PAGE_DIRTY    0x040UL
#define _PAGE_PSE      0x080UL
#define _PAGE_GLOBAL   0x100UL
#define _PAGE_NX       (1UL << 63)
#define PTE_ADDR_MASK  0x000FFFFFFFFFF000UL
#define PAGE_SHIFT     12
#define PAGE_SIZE      4096UL

/* ---- Multicall ---- */
struct multicall_entry {
    unsigned long op;
    long result;
    unsigned long args[6];
};
KTF_CHECK_SIZE(struct multicall_entry, 64);

/* ---- Console (public/xen.h, io/console.h) ---- */
#define CONSOLEIO_write 0
#define CONSOLEIO_read  1
struct xencons_interface {
    char in[1024];
    char out[2048];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
    uint8_t connection;
};
KTF_CHECK_OFFSET(struct xencons_interface, out_prod, 3084);
KTF_CHECK_OFFSET(struct xencons_interface, connection, 3088);

/* ---- Scheduler (public/sched.h) ---- */
#define SCHEDOP_yield          0
#define SCHEDOP_block          1
#define SCHEDOP_shutdown       2
#define SCHEDOP_poll           3
#define SCHEDOP_remote_shutdown 4
#define SCHEDOP_shutdown_code  5
#define SCHEDOP_watchdog       6
#define SHUTDOWN_poweroff  0
#define SHUTDOWN_reboot    1
#define SHUTDOWN_suspend   2
#define SHUTDOWN_crash     3
#define SHUTDOWN_watchdog  4
struct sched_shutdown { unsigned int reason; };
struct sched_poll {
    evtchn_port_t *ports;
    unsigned int nr_ports;
    uint64_t timeout;
};
KTF_CHECK_OFFSET(struct sched_poll, timeout, 16);

/* ---- Version (public/version.h) ---- */
#define XENVER_version      0
#define XENVER_extraversion 1
#define XENVER_compile_info 2
#define XENVER_capabilities 3
#define XENVER_changeset    4
#define XENVER_platform_parameters 5
#define XENVER_get_features 6
#define XENVER_pagesize     7
#define XENVER_guest_handle 8
#define XENVER_commandline  9
#define XENVER_build_id    10
struct xen_compile_info {
    char compiler[64];
    char compile_by[16];
    char compile_domain[32];
    char compile_date[32];
};
KTF_CHECK_SIZE(struct xen_compile_info, 144);
struct xen_platform_parameters { unsigned long virt_start; };
struct xen_feature_info {
    unsigned int submap_idx;
    uint32_t submap;
};
KTF_CHECK_SIZE(struct xen_feature_info, 8);

#define XENFEAT_writable_page_tables       0
#define XENFEAT_writable_descriptor_tables 1
#define XENFEAT_auto_translated_physmap    2
#define XENFEAT_supervisor_mode_kernel     3
#define XENFEAT_pae_pgdir_above_4gb        4
#define XENFEAT_mmu_pt_update_preserve_ad  5
#define XENFEAT_highmem_assist             6
#define XENFEAT_gnttab_map_avail_bits      7
#define XENFEAT_hvm_callback_vector        8
#define XENFEAT_dom0                      11

#include "xen-ops.h"

#endif /* !__ASSEMBLER__ */
#endif
