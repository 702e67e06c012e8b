/// Hypercall numbers. Xen: `__HYPERVISOR_*` (public/xen.h).
public enum Hypercall: UInt64, Sendable, CaseIterable {
    /// Xen: __HYPERVISOR_set_trap_table
    case setTrapTable = 0
    /// Xen: __HYPERVISOR_mmu_update
    case mmuUpdate = 1
    /// Xen: __HYPERVISOR_set_gdt
    case setGDT = 2
    /// Xen: __HYPERVISOR_stack_switch
    case stackSwitch = 3
    /// Xen: __HYPERVISOR_set_callbacks
    case setCallbacks = 4
    /// Xen: __HYPERVISOR_fpu_taskswitch
    case fpuTaskswitch = 5
    /// Xen: __HYPERVISOR_sched_op_compat
    case schedOpCompat = 6
    /// Xen: __HYPERVISOR_platform_op
    case platformOp = 7
    /// Xen: __HYPERVISOR_set_debugreg
    case setDebugreg = 8
    /// Xen: __HYPERVISOR_get_debugreg
    case getDebugreg = 9
    /// Xen: __HYPERVISOR_update_descriptor
    case updateDescriptor = 10
    /// Xen: __HYPERVISOR_memory_op
    case memoryOp = 12
    /// Xen: __HYPERVISOR_multicall
    case multicall = 13
    /// Xen: __HYPERVISOR_update_va_mapping
    case updateVAMapping = 14
    /// Xen: __HYPERVISOR_set_timer_op
    case setTimerOp = 15
    /// Xen: __HYPERVISOR_event_channel_op_compat
    case eventChannelOpCompat = 16
    /// Xen: __HYPERVISOR_xen_version
    case xenVersion = 17
    /// Xen: __HYPERVISOR_console_io
    case consoleIO = 18
    /// Xen: __HYPERVISOR_physdev_op_compat
    case physdevOpCompat = 19
    /// Xen: __HYPERVISOR_grant_table_op
    case grantTableOp = 20
    /// Xen: __HYPERVISOR_vm_assist
    case vmAssist = 21
    /// Xen: __HYPERVISOR_update_va_mapping_otherdomain
    case updateVAMappingOtherDomain = 22
    /// Xen: __HYPERVISOR_iret
    case iret = 23
    /// Xen: __HYPERVISOR_vcpu_op
    case vcpuOp = 24
    /// Xen: __HYPERVISOR_set_segment_base
    case setSegmentBase = 25
    /// Xen: __HYPERVISOR_mmuext_op
    case mmuextOp = 26
    /// Xen: __HYPERVISOR_xsm_op
    case xsmOp = 27
    /// Xen: __HYPERVISOR_nmi_op
    case nmiOp = 28
    /// Xen: __HYPERVISOR_sched_op
    case schedOp = 29
    /// Xen: __HYPERVISOR_callback_op
    case callbackOp = 30
    /// Xen: __HYPERVISOR_event_channel_op
    case eventChannelOp = 32
    /// Xen: __HYPERVISOR_physdev_op
    case physdevOp = 33
    /// Xen: __HYPERVISOR_hvm_op
    case hvmOp = 34
    /// Xen: __HYPERVISOR_sysctl
    case sysctl = 35
    /// Xen: __HYPERVISOR_domctl
    case domctl = 36
    /// Xen: __HYPERVISOR_xenpmu_op
    case xenpmuOp = 40
}
