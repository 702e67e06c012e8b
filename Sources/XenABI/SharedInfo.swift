/// Offsets inside the shared_info page for 64-bit guests. Xen: `struct shared_info`
/// (public/xen.h, arch-x86/xen.h). The page belongs to Xen; the guest maps it writable.
public enum SharedInfoLayout {
    /// Xen: XEN_LEGACY_MAX_VCPUS — vcpu_info slots inside shared_info.
    public static let legacyMaxVCPUs = 32
    /// Xen: shared_info.vcpu_info[] (64 bytes each).
    public static let vcpuInfo = 0
    /// Xen: shared_info.evtchn_pending[64] (one bit per port).
    public static let eventChannelPending = 2048
    /// Xen: shared_info.evtchn_mask[64].
    public static let eventChannelMask = 2560
    /// Xen: shared_info.wc_version
    public static let wallclockVersion = 3072
    /// Xen: shared_info.wc_sec
    public static let wallclockSeconds = 3076
    /// Xen: shared_info.wc_nsec
    public static let wallclockNanoseconds = 3080
    /// Xen: shared_info.wc_sec_hi
    public static let wallclockSecondsHigh = 3084
    /// Xen: arch_shared_info.max_pfn (written by the guest).
    public static let maxPFN = 3088
    /// Xen: arch_shared_info.nmi_reason
    public static let nmiReason = 3104

    /// Offset of vcpu_info[vcpu] in shared_info.
    public static func vcpuInfo(_ vcpu: VCPUID) -> Int? {
        vcpu.rawValue < legacyMaxVCPUs ? vcpuInfo + Int(vcpu.rawValue) * VCPUInfoLayout.size : nil
    }
}

/// Offsets inside one vcpu_info (64 bytes). Xen: `struct vcpu_info` (public/xen.h).
public enum VCPUInfoLayout {
    public static let size = 64
    /// Xen: vcpu_info.evtchn_upcall_pending
    public static let upcallPending = 0
    /// Xen: vcpu_info.evtchn_upcall_mask — the virtual "interrupts disabled" flag.
    public static let upcallMask = 1
    /// Xen: vcpu_info.evtchn_pending_sel
    public static let pendingSelector = 8
    /// Xen: arch_vcpu_info.cr2 — where a bounced #PF finds its address.
    public static let cr2 = 16
    /// Xen: vcpu_info.time (struct vcpu_time_info, 32 bytes).
    public static let time = 32
}

/// Offsets inside vcpu_time_info. Xen: `struct vcpu_time_info` (public/xen.h).
public enum VCPUTimeInfoLayout {
    /// Xen: vcpu_time_info.version — odd while being updated.
    public static let version = 0
    /// Xen: vcpu_time_info.tsc_timestamp
    public static let tscTimestamp = 8
    /// Xen: vcpu_time_info.system_time (ns)
    public static let systemTime = 16
    /// Xen: vcpu_time_info.tsc_to_system_mul (32.32 fixed point)
    public static let tscToSystemMul = 24
    /// Xen: vcpu_time_info.tsc_shift
    public static let tscShift = 28
    /// Xen: vcpu_time_info.flags
    public static let flags = 29
    /// Xen: XEN_PVCLOCK_TSC_STABLE_BIT
    public static let tscStableFlag: UInt8 = 1 << 0
}
