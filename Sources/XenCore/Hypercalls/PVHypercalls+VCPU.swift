import GuestMemory
import XenABI

extension PVHypercalls {
    /// Xen: do_vcpu_op (arch/x86/domain.c) and common_vcpu_op (common/domain.c):
    /// vcpu_op(cmd, vcpuid, arg). An unknown vCPU is -ENOENT before the command is looked at.
    static func vcpuOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let domain = vcpu.domain
        guard let target = domain.vcpu(UInt32(truncatingIfNeeded: args[1])),
              let ev = domain.eventState(target.id.rawValue) else { throw .ENOENT }
        guard let op = VCPUOp(rawValue: UInt32(truncatingIfNeeded: args[0])) else { throw .ENOSYS }
        let arg = args[2]
        let isCurrent = target === vcpu
        switch op {
        case .initialise:
            // Xen: a PV vCPU >= 32 needs a registered vcpu_info first.
            guard ev.vcpuInfo != nil else { throw .EINVAL }
            let context = try vcpu.readGuestStruct(arg, size: VCPUGuestContextLayout.size)
            try initialise(target, ev, context)
        case .up:
            guard target.isOnline || ev.initialised.load(ordering: .relaxed) else { throw .EINVAL }
            if !target.isOnline {
                target.isOnline = true
                target.kick()
            }
        case .down:
            try down(target, ev, caller: vcpu)
        case .isUp:
            return .value(target.isOnline ? 1 : 0)
        case .getRunstateInfo:
            try vcpu.copyToGuest(vcpu.runstateSnapshot(of: ev).encoded(), at: arg)
        case .registerRunstateMemoryArea:
            let va = try vcpu.readGuest(UInt64.self, at: arg)
            guard PVVCPU.accessOK(va, count: UInt64(RunstateInfoLayout.size)) else { throw .EFAULT }
            ev.areas.withLock { $0.runstateVirtual = va }
            // Written at once through the caller's page tables; failure is ignored (Xen).
            vcpu.writeRunstate(vcpu.runstateSnapshot(of: ev), virtual: va, flagged: false)
        case .setPeriodicTimer:
            let period = try vcpu.readGuest(UInt64.self, at: arg)
            // Xen: at least 1 ms, at most STIME_DELTA_MAX.
            guard period >= 1_000_000, period <= UInt64.max >> 2 else { throw .EINVAL }
            domain.setPeriodicTimer(vcpu: target.id.rawValue, period: period)
        case .stopPeriodicTimer:
            domain.setPeriodicTimer(vcpu: target.id.rawValue, period: 0)
        case .setSingleshotTimer:
            guard isCurrent else { throw .EINVAL }
            let t = try vcpu.readGuestStruct(arg, size: SingleshotTimerLayout.size)
            // Xen >= 4.18 ignores VCPU_SSHOTTMR_future: a past deadline fires at once.
            domain.setSingleshotTimer(vcpu: target.id.rawValue, deadline: t.u64(SingleshotTimerLayout.timeoutAbsolute))
        case .stopSingleshotTimer:
            guard isCurrent else { throw .EINVAL }
            domain.setSingleshotTimer(vcpu: target.id.rawValue, deadline: nil)
        case .registerVCPUInfo:
            let r = try vcpu.readGuestStruct(arg, size: RegisterVCPUInfoLayout.size)
            try domain.registerVCPUInfo(
                target: target, mfn: r.u64(RegisterVCPUInfoLayout.mfn), offset: r.u32(RegisterVCPUInfoLayout.offset),
                caller: vcpu)
        case .sendNMI:
            guard arg == 0 else { throw .EINVAL }
            // Delivering a virtual NMI (nmi_pending, the NMI trap bounce, masking until
            // iret) is not built yet.
            throw .ENOSYS
        case .getPhysID:
            // Xen: only for the hardware domain's pinned vCPUs.
            throw .EINVAL
        case .registerVCPUTimeMemoryArea:
            let va = try vcpu.readGuest(UInt64.self, at: arg)
            guard PVVCPU.accessOK(va, count: 32) else { throw .EFAULT }
            ev.areas.withLock { $0.timeVirtual = va }
            try? vcpu.publishTimeInfoCopy(at: va)
        case .registerRunstatePhysArea:
            let address = try vcpu.readGuest(UInt64.self, at: arg)
            let machine = try guestArea(domain, address, size: RunstateInfoLayout.size)
            ev.areas.withLock { $0.runstateMachine = machine?.rawValue }
            if let machine {
                domain.machine.write(vcpu.runstateSnapshot(of: ev).encoded(), at: machine)
            }
        case .registerVCPUTimePhysArea:
            let address = try vcpu.readGuest(UInt64.self, at: arg)
            let machine = try guestArea(domain, address, size: 32)
            ev.areas.withLock { $0.timeMachine = machine?.rawValue }
            if let machine { domain.writeTimeInfo(at: machine) }
        }
        return .success
    }

    /// Xen: map_guest_area() — all ones unregisters (nil), anything else must be usable.
    private static func guestArea(_ domain: Domain, _ address: UInt64, size: Int) throws(XenError) -> MachineAddress? {
        guard address != .max else { return nil }
        return try domain.checkGuestArea(address, size: UInt64(size))
    }

    /// Xen: default_initialise_vcpu() — -EEXIST once the vCPU has been initialised.
    private static func initialise(_ target: PVVCPU, _ ev: VCPUEventState, _ context: GuestStruct) throws(XenError) {
        guard !target.isOnline, ev.initialised.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw .EEXIST
        }
        do {
            try target.setInfoGuest(context)
        } catch {
            ev.initialised.store(false, ordering: .releasing)
            throw error
        }
        if context.u64(VCPUGuestContextLayout.flags) & VCPUGuestContextLayout.flagOnline != 0 {
            target.isOnline = true
            target.kick()
        }
    }

    /// Xen: VCPUOP_down — the last vCPU going down powers the domain off.
    private static func down(_ target: PVVCPU, _ ev: VCPUEventState, caller: PVVCPU) throws(XenError) {
        let domain = target.domain
        let othersUp = domain.vcpus.contains { $0 !== target && $0.isOnline }
        guard othersUp else {
            domain.shutdown(.poweroff)
            return
        }
        guard target.isOnline else { return }
        target.isOnline = false
        if target === caller {
            target.changeRunstate(to: .offline)
        } else {
            ev.changeRunstateRemotely(to: .offline, now: domain.clock.systemTime())
        }
        target.kick()
    }
}

extension PVVCPU {
    /// Xen: force_update_vcpu_system_time() for the secondary copy registered with
    /// VCPUOP_register_vcpu_time_memory_area, written through this vCPU's page tables.
    func publishTimeInfoCopy(at va: UInt64) throws(XenError) {
        var g = GuestStruct(bytes: [UInt8](repeating: 0, count: 32))
        g.set(VCPUTimeInfoLayout.version, 4, 2)
        g.set(VCPUTimeInfoLayout.tscToSystemMul, 4, UInt64(DomainClock.tscToSystemMul))
        g.set(VCPUTimeInfoLayout.tscShift, 1, UInt64(UInt8(bitPattern: DomainClock.tscShift)))
        g.set(VCPUTimeInfoLayout.flags, 1, UInt64(VCPUTimeInfoLayout.tscStableFlag))
        try copyToGuest(g.bytes, at: va)
    }
}
