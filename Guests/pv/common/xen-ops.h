/* The second half of xen.h: event channels, vCPU operations and memory_op (C only). */
#ifndef KTF_XEN_OPS_H
#define KTF_XEN_OPS_H

/* ---- Event channels (public/event_channel.h) ---- */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq        1
#define EVTCHNOP_bind_pirq        2
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define EVTCHNOP_bind_ipi         7
#define EVTCHNOP_bind_vcpu        8
#define EVTCHNOP_unmask           9
#define EVTCHNOP_reset           10
#define EVTCHNOP_init_control    11

struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; };
KTF_CHECK_SIZE(struct evtchn_alloc_unbound, 8);
struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port; evtchn_port_t local_port; };
KTF_CHECK_SIZE(struct evtchn_bind_interdomain, 12);
struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; evtchn_port_t port; };
KTF_CHECK_SIZE(struct evtchn_bind_virq, 12);
struct evtchn_bind_ipi { uint32_t vcpu; evtchn_port_t port; };
struct evtchn_close { evtchn_port_t port; };
struct evtchn_send { evtchn_port_t port; };
struct evtchn_unmask { evtchn_port_t port; };
struct evtchn_bind_vcpu { evtchn_port_t port; uint32_t vcpu; };
struct evtchn_status {
    domid_t dom;
    evtchn_port_t port;
    uint32_t status;
    uint32_t vcpu;
    union {
        struct { domid_t dom; } unbound;
        struct { domid_t dom; evtchn_port_t port; } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};
KTF_CHECK_OFFSET(struct evtchn_status, u, 16);
KTF_CHECK_SIZE(struct evtchn_status, 24);
#define EVTCHNSTAT_closed       0
#define EVTCHNSTAT_unbound      1
#define EVTCHNSTAT_interdomain  2
#define EVTCHNSTAT_pirq         3
#define EVTCHNSTAT_virq         4
#define EVTCHNSTAT_ipi          5

#define VIRQ_TIMER    0
#define VIRQ_DEBUG    1
#define VIRQ_CONSOLE  2
#define NR_EVENT_CHANNELS_2L 4096

/* ---- vCPU ops (public/vcpu.h) ---- */
#define VCPUOP_initialise               0
#define VCPUOP_up                       1
#define VCPUOP_down                     2
#define VCPUOP_is_up                    3
#define VCPUOP_get_runstate_info        4
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_set_periodic_timer       6
#define VCPUOP_stop_periodic_timer      7
#define VCPUOP_set_singleshot_timer     8
#define VCPUOP_stop_singleshot_timer    9
#define VCPUOP_register_vcpu_info      10
struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;
    uint32_t flags;
};
KTF_CHECK_SIZE(struct vcpu_set_singleshot_timer, 16);
#define VCPU_SSHOTTMR_future (1U << 0)
struct vcpu_set_periodic_timer { uint64_t period_ns; };
struct vcpu_runstate_info {
    int state;
    uint64_t state_entry_time;
    uint64_t time[4];
};
KTF_CHECK_SIZE(struct vcpu_runstate_info, 48);

/* cpu_user_regs / vcpu_guest_context (arch-x86/xen-x86_64.h, arch-x86/xen.h) */
struct xen_cpu_user_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
    uint32_t error_code;
    uint32_t entry_vector;
    uint64_t rip;
    uint16_t cs, _pad0[1];
    uint8_t saved_upcall_mask;
    uint8_t _pad1[3];
    uint64_t rflags;
    uint64_t rsp;
    uint16_t ss, _pad2[3];
    uint16_t es, _pad3[3];
    uint16_t ds, _pad4[3];
    uint16_t fs, _pad5[3];
    uint16_t gs, _pad6[3];
};
KTF_CHECK_OFFSET(struct xen_cpu_user_regs, error_code, 120);
KTF_CHECK_OFFSET(struct xen_cpu_user_regs, cs, 136);
KTF_CHECK_OFFSET(struct xen_cpu_user_regs, saved_upcall_mask, 140);
KTF_CHECK_OFFSET(struct xen_cpu_user_regs, ss, 160);
KTF_CHECK_SIZE(struct xen_cpu_user_regs, 200);

#define VGCF_i387_valid        (1 << 0)
#define VGCF_in_kernel         (1 << 2)
#define VGCF_failsafe_disables_events (1 << 3)
#define VGCF_syscall_disables_events  (1 << 4)
#define VGCF_online            (1 << 5)
struct vcpu_guest_context {
    struct { char x[512]; } fpu_ctxt;
    unsigned long flags;
    struct xen_cpu_user_regs user_regs;
    struct trap_info trap_ctxt[256];
    unsigned long ldt_base, ldt_ents;
    unsigned long gdt_frames[16], gdt_ents;
    unsigned long kernel_ss, kernel_sp;
    unsigned long ctrlreg[8];
    unsigned long debugreg[8];
    unsigned long event_callback_eip;
    unsigned long failsafe_callback_eip;
    unsigned long syscall_callback_eip;
    unsigned long vm_assist;
    uint64_t fs_base;
    uint64_t gs_base_kernel;
    uint64_t gs_base_user;
};
KTF_CHECK_OFFSET(struct vcpu_guest_context, flags, 512);
KTF_CHECK_OFFSET(struct vcpu_guest_context, user_regs, 520);
KTF_CHECK_OFFSET(struct vcpu_guest_context, trap_ctxt, 720);
KTF_CHECK_OFFSET(struct vcpu_guest_context, ldt_base, 4816);
KTF_CHECK_OFFSET(struct vcpu_guest_context, gdt_frames, 4832);
KTF_CHECK_OFFSET(struct vcpu_guest_context, gdt_ents, 4960);
KTF_CHECK_OFFSET(struct vcpu_guest_context, kernel_ss, 4968);
KTF_CHECK_OFFSET(struct vcpu_guest_context, ctrlreg, 4984);
KTF_CHECK_OFFSET(struct vcpu_guest_context, debugreg, 5048);
KTF_CHECK_OFFSET(struct vcpu_guest_context, event_callback_eip, 5112);
KTF_CHECK_OFFSET(struct vcpu_guest_context, syscall_callback_eip, 5128);
KTF_CHECK_OFFSET(struct vcpu_guest_context, vm_assist, 5136);
KTF_CHECK_OFFSET(struct vcpu_guest_context, gs_base_user, 5160);
KTF_CHECK_SIZE(struct vcpu_guest_context, 5168);

/* ---- Memory (public/memory.h) ---- */
#define XENMEM_increase_reservation 0
#define XENMEM_decrease_reservation 1
#define XENMEM_maximum_ram_page     2
#define XENMEM_current_reservation  3
#define XENMEM_maximum_reservation  4
#define XENMEM_machphys_mfn_list    5
#define XENMEM_populate_physmap     6
#define XENMEM_add_to_physmap       7
#define XENMEM_memory_map           9
#define XENMEM_machine_memory_map  10
#define XENMEM_exchange            11
#define XENMEM_machphys_mapping    12
#define XENMEM_maximum_gpfn        14
struct xen_memory_reservation {
    xen_pfn_t *extent_start;
    xen_ulong_t nr_extents;
    unsigned int extent_order;
    unsigned int mem_flags;
    domid_t domid;
};
KTF_CHECK_OFFSET(struct xen_memory_reservation, extent_order, 16);
KTF_CHECK_OFFSET(struct xen_memory_reservation, domid, 24);
KTF_CHECK_SIZE(struct xen_memory_reservation, 32);
struct xen_memory_map {
    unsigned int nr_entries;
    void *buffer;
};
KTF_CHECK_SIZE(struct xen_memory_map, 16);
struct e820entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));
KTF_CHECK_SIZE(struct e820entry, 20);
#define E820_RAM 1
struct xen_machphys_mapping {
    xen_ulong_t v_start, v_end;
    xen_ulong_t max_mfn;
};
KTF_CHECK_SIZE(struct xen_machphys_mapping, 24);

#endif
