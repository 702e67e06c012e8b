import GuestMemory
import X86
import XenABI

extension PVHypercalls {
    /// Entries read per invocation before set_trap_table yields with a continuation.
    static let trapEntriesPerInvocation = 256

    /// Xen: do_set_trap_table (arch/x86/pv/callback.c). NULL clears the table; entries
    /// up to one with address 0 replace their vectors.
    static func setTrapTable(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        var pointer = args[0]
        if pointer == 0 {
            vcpu.pv.trapTable = Array(repeating: nil, count: 256)
            return .success
        }
        for _ in 0..<trapEntriesPerInvocation {
            let e = try vcpu.readGuestStruct(pointer, size: TrapInfo.size)
            let address = e.u64(8)
            if address == 0 { return .success }
            guard isCanonical(address) else { throw .EINVAL }
            // 64-bit guests: the code selector is always Xen's flat ring-3 one.
            vcpu.pv.trapTable[Int(e.u8(0))] = TrapInfo(
                vector: e.u8(0), flags: e.u8(1), codeSelector: FlatSelector.code64, address: address)
            pointer &+= UInt64(TrapInfo.size)
        }
        var next = args
        next[0] = pointer
        return .preempted(next)
    }

    /// Xen: do_set_gdt (pv/descriptor-tables.c): `frames` lists ceil(entries/512) MFNs.
    static func setGDT(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let entries = args[1] & 0xFFFF_FFFF
        guard entries <= UInt64(FlatSelector.firstReservedGDTEntry) else { throw .EINVAL }
        let count = Int((entries + 511) / 512)
        let list = try vcpu.readGuestStruct(args[0], size: count * 8)
        let frames = (0..<count).map { MachineFrame(list.u64($0 * 8)) }
        try vcpu.setGDT(frames: frames, entries: Int(entries))
        return .success
    }

    /// Xen: do_update_descriptor — one checked descriptor written at a machine address of a
    /// descriptor page (or a writable page) of the caller.
    static func updateDescriptor(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        guard let tables = vcpu.pageTables else { throw .ENOSYS }
        guard let fixed = SegmentDescriptors.check(args[1]) else { throw .EINVAL }
        var actions = MMUActions()
        try tables.updateDescriptor(at: args[0], descriptor: fixed, domain: vcpu.domain.id, check: { SegmentDescriptors.check($0) != nil }, actions: &actions)
        vcpu.apply(vcpu.mmuContext, actions)
        return .success
    }

    /// Xen: do_stack_switch — the kernel stack for bounces from guest user mode.
    static func stackSwitch(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        var ss = UInt16(truncatingIfNeeded: args[0])
        // Xen: fixup_guest_stack_selector — a 64-bit guest's stack selector gets RPL 3.
        if ss & 3 != 3 && ss > 3 { ss |= 3 }
        vcpu.pv.kernelSS = ss
        vcpu.pv.kernelSP = args[1]
        return .success
    }

    /// Xen: do_fpu_taskswitch — the virtual CR0.TS.
    static func fpuTaskswitch(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        vcpu.setVirtualTS(args[0] & 0xFFFF_FFFF != 0)
        return .success
    }

    static func setDebugreg(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let reg = Int32(truncatingIfNeeded: args[0])
        try vcpu.setDebugRegister(Int(reg), value: args[1])
        return .success
    }

    static func getDebugreg(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let reg = Int32(truncatingIfNeeded: args[0])
        return .value(try vcpu.getDebugRegister(Int(reg)))
    }

    /// Xen: do_set_segment_base (pv/misc-hypercalls.c).
    static func setSegmentBase(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let base = args[1]
        var s = vcpu.engine.state
        let gs = SegmentRegister.gs.rawValue
        switch SegmentBaseWhich(rawValue: args[0] & 0xFFFF_FFFF) {
        case .fs:
            guard isCanonical(base) else { throw .EINVAL }
            s.segments[SegmentRegister.fs.rawValue].base = base
        case .gsUser:
            guard isCanonical(base) else { throw .EINVAL }
            if vcpu.pv.kernelMode { vcpu.pv.inactiveGSBase = base } else { s.segments[gs].base = base }
        case .gsKernel:
            guard isCanonical(base) else { throw .EINVAL }
            if vcpu.pv.kernelMode { s.segments[gs].base = base } else { vcpu.pv.inactiveGSBase = base }
        case .gsUserSelector:
            // Loads the user %gs selector (RPL 3) and the base of its descriptor; a selector
            // that would fault loads NUL instead, as Xen's fixup does.
            var selector = UInt16(truncatingIfNeeded: base)
            if selector > 3 { selector |= 3 }
            var userBase: UInt64 = 0
            if selector > 3, let segment = vcpu.segment(for: selector, asCode: false) {
                userBase = segment.base
            } else {
                selector = 0
            }
            s.segments[gs].selector = selector
            if vcpu.pv.kernelMode { vcpu.pv.inactiveGSBase = userBase } else { s.segments[gs].base = userBase }
        case nil:
            throw .EINVAL
        }
        vcpu.engine.state = s
        return .success
    }

    /// Xen: do_vm_assist (common/kernel.c).
    static func vmAssist(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let type = args[1] & 0xFFFF_FFFF
        guard type < 64, VMAssist.validTypesPV64 & (1 << type) != 0 else { throw .EINVAL }
        switch args[0] & 0xFFFF_FFFF {
        case VMAssist.enable:
            vcpu.domain.lifecycle.withLock { $0.vmAssist |= 1 << type }
        case VMAssist.disable:
            vcpu.domain.lifecycle.withLock { $0.vmAssist &= ~(1 << type) }
        default:
            throw .ENOSYS
        }
        return .success
    }

    /// Xen: PHYSDEVOP_set_iopl — the virtual IOPL governing emulated port access.
    static let physdevSetIOPL: UInt64 = 6

    /// Xen: do_physdev_op for an unprivileged PV domain: set_iopl; the rest is for domains
    /// with physical devices, which Kite does not pass through.
    static func physdevOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        try physdev(vcpu, command: args[0] & 0xFFFF_FFFF, argument: args[1])
    }

    /// Xen: do_physdev_op_compat — {u32 cmd; union} in one guest buffer.
    static func physdevOpCompat(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let command = try vcpu.readGuest(UInt32.self, at: args[0])
        return try physdev(vcpu, command: UInt64(command), argument: args[0] &+ 4)
    }

    private static func physdev(_ vcpu: PVVCPU, command: UInt64, argument: UInt64) throws(XenError) -> HypercallOutcome {
        switch command {
        case physdevSetIOPL:
            let iopl = try vcpu.readGuest(UInt32.self, at: argument)
            guard iopl <= 3 else { throw .EINVAL }
            vcpu.pv.virtualIOPL = UInt8(iopl)
            return .success
        default:
            throw .ENOSYS
        }
    }
}
