import GuestMemory
import XenABI

/// Guest memory a vCPU hands to Xen by frame: VCPUOP_register_vcpu_info and the
/// *_phys_area variants. Xen: map_guest_area() (common/domain.c).
extension Domain {
    /// Xen: check_get_page_from_gfn() + get_page_type(PGT_writable_page) for a PV domain.
    /// Until the PV MMU tracks ownership and page types Kite checks only that the frame is
    /// machine RAM and not the shared_info page; the PV MMU must add "owned by this domain
    /// (-EINVAL) and not a page table or descriptor page (-EACCES)".
    func checkGuestAreaFrame(_ frame: MachineFrame) throws(XenError) {
        guard machine.contains(frame), frame != sharedInfoFrame else { throw .EINVAL }
    }

    /// Xen: map_guest_area()'s placement checks: inside one page, naturally aligned for a
    /// 64-bit guest (xen_ulong_t), in a frame the domain may write.
    func checkGuestArea(_ address: UInt64, size: UInt64) throws(XenError) -> MachineAddress {
        let (last, overflow) = address.addingReportingOverflow(size - 1)
        guard !overflow, address >> 12 == last >> 12, address & 7 == 0 else { throw .ENXIO }
        try checkGuestAreaFrame(MachineFrame(address >> 12))
        return MachineAddress(address)
    }

    /// Xen: VCPUOP_register_vcpu_info — moves `target`'s vcpu_info to (mfn, offset), once.
    /// The old contents are copied, then every selector bit and upcall_pending are set so
    /// the guest rescans (a spurious event it can cope with), and the time is published.
    func registerVCPUInfo(target: PVVCPU, mfn: UInt64, offset: UInt32, caller: PVVCPU) throws(XenError) {
        // Xen: gaddr = gfn_to_gaddr(mfn) + offset must be a valid address inside that frame.
        guard mfn <= UInt64.max >> 12 else { throw .EINVAL }
        let (gaddr, overflow) = (mfn << 12).addingReportingOverflow(UInt64(offset))
        guard !overflow, gaddr != .max, gaddr >> 12 == mfn else { throw .EINVAL }
        guard let ev = eventState(target.id.rawValue) else { throw .ENOENT }
        guard !ev.areas.withLock({ $0.vcpuInfoRegistered }) else { throw .EBUSY }
        let newInfo = try checkGuestArea(gaddr, size: UInt64(VCPUInfoLayout.size))

        let claimed = ev.areas.withLock { areas -> Bool in
            guard !areas.vcpuInfoRegistered else { return false }
            areas.vcpuInfoRegistered = true
            return true
        }
        guard claimed else { throw .EBUSY }

        // Xen: vcpu_info_populate() — copy the current contents, or a fresh masked one for
        // a vCPU that only had the dummy.
        var contents = [UInt8](repeating: 0, count: VCPUInfoLayout.size)
        if let old = ev.vcpuInfo, let bytes = machine.read(at: MachineAddress(old), count: VCPUInfoLayout.size) {
            contents = bytes
        } else {
            contents[VCPUInfoLayout.upcallMask] = 1
        }
        machine.write(contents, at: newInfo)
        ev.vcpuInfoAddress.store(newInfo.rawValue, ordering: .releasing)
        if target === caller {
            target.pv.vcpuInfo = newInfo
        } else {
            ev.requestOwnerWork(VCPUEventState.OwnerWork.vcpuInfoMoved)
        }
        machine.atomicExchange64(~0, at: MachineAddress(newInfo.rawValue + UInt64(VCPUInfoLayout.pendingSelector)))
        markEventsPending(target.id.rawValue)
        writeTimeInfo(at: MachineAddress(newInfo.rawValue + UInt64(VCPUInfoLayout.time)))
    }

    /// Writes Kite's vcpu_time_info at `base` with the version protocol. Kite's virtual TSC
    /// runs at exactly 1 GHz from system time 0, so the record never changes afterwards
    /// (see PVVCPU.publishTimeInfo).
    func writeTimeInfo(at base: MachineAddress) {
        func at(_ offset: Int) -> MachineAddress { MachineAddress(base.rawValue &+ UInt64(offset)) }
        guard machine.contains(base, length: 32) else { return }
        let version = machine.load(UInt32.self, at: at(VCPUTimeInfoLayout.version)) ?? 0
        machine.store(version | 1, at: at(VCPUTimeInfoLayout.version))
        machine.store(UInt64(0), at: at(VCPUTimeInfoLayout.tscTimestamp))
        machine.store(UInt64(0), at: at(VCPUTimeInfoLayout.systemTime))
        machine.store(DomainClock.tscToSystemMul, at: at(VCPUTimeInfoLayout.tscToSystemMul))
        machine.store(UInt8(bitPattern: DomainClock.tscShift), at: at(VCPUTimeInfoLayout.tscShift))
        machine.store(VCPUTimeInfoLayout.tscStableFlag, at: at(VCPUTimeInfoLayout.flags))
        machine.store((version | 1) &+ 1, at: at(VCPUTimeInfoLayout.version))
    }
}
