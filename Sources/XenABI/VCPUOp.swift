/// vCPU sub-commands. Xen: `VCPUOP_*` (public/vcpu.h).
public enum VCPUOp: UInt32, Sendable, CaseIterable {
    /// Xen: VCPUOP_initialise
    case initialise = 0
    /// Xen: VCPUOP_up
    case up = 1
    /// Xen: VCPUOP_down
    case down = 2
    /// Xen: VCPUOP_is_up
    case isUp = 3
    /// Xen: VCPUOP_get_runstate_info
    case getRunstateInfo = 4
    /// Xen: VCPUOP_register_runstate_memory_area
    case registerRunstateMemoryArea = 5
    /// Xen: VCPUOP_set_periodic_timer
    case setPeriodicTimer = 6
    /// Xen: VCPUOP_stop_periodic_timer
    case stopPeriodicTimer = 7
    /// Xen: VCPUOP_set_singleshot_timer
    case setSingleshotTimer = 8
    /// Xen: VCPUOP_stop_singleshot_timer
    case stopSingleshotTimer = 9
    /// Xen: VCPUOP_register_vcpu_info
    case registerVCPUInfo = 10
    /// Xen: VCPUOP_send_nmi
    case sendNMI = 11
    /// Xen: VCPUOP_get_physid
    case getPhysID = 12
    /// Xen: VCPUOP_register_vcpu_time_memory_area
    case registerVCPUTimeMemoryArea = 13
    /// Xen: VCPUOP_register_runstate_phys_area
    case registerRunstatePhysArea = 14
    /// Xen: VCPUOP_register_vcpu_time_phys_area
    case registerVCPUTimePhysArea = 15
}

/// Xen: struct vcpu_set_singleshot_timer (16 bytes for 64-bit guests).
public enum SingleshotTimerLayout {
    public static let timeoutAbsolute = 0, flags = 8, size = 16
    /// Xen: VCPU_SSHOTTMR_future — ignored by Xen since 4.18 (commit 19c6cbd90965).
    public static let futureFlag: UInt32 = 1 << 0
}

/// Xen: struct vcpu_register_vcpu_info (16 bytes).
public enum RegisterVCPUInfoLayout {
    public static let mfn = 0, offset = 8, reserved = 12, size = 16
}

/// Xen: struct vcpu_runstate_info for 64-bit guests (48 bytes).
public enum RunstateInfoLayout {
    public static let state = 0, stateEntryTime = 8, time = 16, size = 48
    /// Xen: XEN_RUNSTATE_UPDATE — set in state_entry_time while Xen rewrites the area.
    public static let updateFlag: UInt64 = 1 << 63
}

/// Xen: RUNSTATE_* (public/vcpu.h).
public enum Runstate: Int32, Sendable, CaseIterable {
    /// Xen: RUNSTATE_running
    case running = 0
    /// Xen: RUNSTATE_runnable
    case runnable = 1
    /// Xen: RUNSTATE_blocked
    case blocked = 2
    /// Xen: RUNSTATE_offline
    case offline = 3
}

/// Xen: struct sched_poll for 64-bit guests (public/sched.h): ports handle, nr_ports,
/// absolute timeout.
public enum SchedPollLayout {
    public static let ports = 0, portCount = 8, timeout = 16, size = 24
    /// Xen: do_poll()'s "fairly arbitrary limit".
    public static let maxPorts: UInt32 = 128
}

/// Offsets inside `struct vcpu_guest_context` for 64-bit PV guests (5168 bytes).
/// Xen: public/arch-x86/xen.h.
public enum VCPUGuestContextLayout {
    public static let fpuContext = 0
    public static let flags = 512
    public static let userRegisters = 520
    public static let trapContext = 720
    public static let ldtBase = 4816
    public static let ldtEntries = 4824
    public static let gdtFrames = 4832
    public static let gdtFrameCount = 16
    public static let gdtEntries = 4960
    public static let kernelSS = 4968
    public static let kernelSP = 4976
    /// ctrlreg[8], 8 bytes each.
    public static let controlRegisters = 4984
    /// debugreg[8], 8 bytes each.
    public static let debugRegisters = 5048
    public static let eventCallback = 5112
    public static let failsafeCallback = 5120
    public static let syscallCallback = 5128
    public static let vmAssist = 5136
    public static let fsBase = 5144
    public static let gsBaseKernel = 5152
    public static let gsBaseUser = 5160
    public static let size = 5168

    /// Xen: VGCF_i387_valid
    public static let flagI387Valid: UInt64 = 1 << 0
    /// Xen: VGCF_in_kernel
    public static let flagInKernel: UInt64 = 1 << 2
    /// Xen: VGCF_failsafe_disables_events
    public static let flagFailsafeDisablesEvents: UInt64 = 1 << 3
    /// Xen: VGCF_syscall_disables_events
    public static let flagSyscallDisablesEvents: UInt64 = 1 << 4
    /// Xen: VGCF_online
    public static let flagOnline: UInt64 = 1 << 5
}

/// Offsets inside `struct cpu_user_regs` for 64-bit guests (200 bytes).
/// Xen: public/arch-x86/xen-x86_64.h.
public enum CPUUserRegsLayout {
    public static let r15 = 0, r14 = 8, r13 = 16, r12 = 24, rbp = 32, rbx = 40, r11 = 48,
        r10 = 56, r9 = 64, r8 = 72, rax = 80, rcx = 88, rdx = 96, rsi = 104, rdi = 112
    public static let errorCode = 120, entryVector = 124, rip = 128, cs = 136
    public static let savedUpcallMask = 140, rflags = 144, rsp = 152, ss = 160
    public static let es = 168, ds = 176, fs = 184, gs = 192
    public static let size = 200
}
