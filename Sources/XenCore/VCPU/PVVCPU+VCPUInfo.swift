import GuestMemory
import XenABI

/// The vCPU's vcpu_info as Xen reads and writes it: a 64-byte structure in guest-visible
/// memory (shared_info slot or a page registered by the guest). Bytes the guest changes at
/// any time are read fresh on every use.
extension PVVCPU {
    private func infoAddress(_ offset: Int) -> MachineAddress? {
        pv.vcpuInfo.map { MachineAddress($0.rawValue &+ UInt64(offset)) }
    }

    /// Xen: vcpu_info.evtchn_upcall_mask (1 = events masked: the virtual CLI).
    var upcallMask: UInt8 {
        get { infoAddress(VCPUInfoLayout.upcallMask).flatMap { domain.machine.load(UInt8.self, at: $0) } ?? 1 }
        set { if let a = infoAddress(VCPUInfoLayout.upcallMask) { domain.machine.store(newValue, at: a) } }
    }

    /// Xen: vcpu_info.evtchn_upcall_pending
    var upcallPending: UInt8 {
        get { infoAddress(VCPUInfoLayout.upcallPending).flatMap { domain.machine.load(UInt8.self, at: $0) } ?? 0 }
        set { if let a = infoAddress(VCPUInfoLayout.upcallPending) { domain.machine.store(newValue, at: a) } }
    }

    /// Xen: arch_vcpu_info.cr2 — written before a #PF is bounced.
    func storeCR2(_ address: UInt64) {
        pv.virtualCR2 = address
        if let a = infoAddress(VCPUInfoLayout.cr2) { domain.machine.store(address, at: a) }
    }

    /// Writes vcpu_time_info once: Kite's virtual TSC runs at exactly 1 GHz from system time
    /// 0, so (tsc_timestamp 0, system_time 0, mul 0x80000000, shift 1) stays exact forever
    /// and the guest never sees the record change under it.
    func publishTimeInfo() {
        guard let base = infoAddress(VCPUInfoLayout.time) else { return }
        let memory = domain.machine
        func at(_ offset: Int) -> MachineAddress { MachineAddress(base.rawValue + UInt64(offset)) }
        let version = memory.load(UInt32.self, at: at(VCPUTimeInfoLayout.version)) ?? 0
        memory.store(version | 1, at: at(VCPUTimeInfoLayout.version))
        memory.store(UInt64(0), at: at(VCPUTimeInfoLayout.tscTimestamp))
        memory.store(UInt64(0), at: at(VCPUTimeInfoLayout.systemTime))
        memory.store(DomainClock.tscToSystemMul, at: at(VCPUTimeInfoLayout.tscToSystemMul))
        memory.store(UInt8(bitPattern: DomainClock.tscShift), at: at(VCPUTimeInfoLayout.tscShift))
        memory.store(VCPUTimeInfoLayout.tscStableFlag, at: at(VCPUTimeInfoLayout.flags))
        memory.store((version | 1) &+ 1, at: at(VCPUTimeInfoLayout.version))
    }
}
