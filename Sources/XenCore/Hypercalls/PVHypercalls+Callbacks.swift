import X86
import XenABI

extension PVHypercalls {
    /// Xen: do_callback_op (pv/callback.c): register or unregister one callback.
    static func callbackOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        switch args[0] & 0xFFFF_FFFF {
        case CallbackOp.register:
            let r = try vcpu.readGuestStruct(args[1], size: 16)
            try vcpu.registerCallback(type: r.u16(0), flags: r.u16(2), address: r.u64(8))
            return .success
        case CallbackOp.unregister:
            let type = try vcpu.readGuest(UInt16.self, at: args[1])
            try vcpu.unregisterCallback(type: type)
            return .success
        default:
            throw .ENOSYS
        }
    }

    /// Xen: do_set_callbacks — the legacy form; registration errors are ignored, as in Xen.
    static func setCallbacks(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        try? vcpu.registerCallback(type: CallbackType.event.rawValue, flags: 0, address: args[0])
        try? vcpu.registerCallback(type: CallbackType.failsafe.rawValue, flags: 0, address: args[1])
        try? vcpu.registerCallback(type: CallbackType.syscall.rawValue, flags: 0, address: args[2])
        return .success
    }
}

extension PVVCPU {
    /// Xen: register_guest_callback (64-bit).
    func registerCallback(type: UInt16, flags: UInt16, address: UInt64) throws(XenError) {
        guard isCanonical(address) else { throw .EINVAL }
        let masks = flags & CallbackOp.maskEventsFlag != 0
        switch CallbackType(rawValue: type) {
        case .event:
            pv.eventCallback = address
        case .failsafe:
            pv.failsafeCallback = address
            pv.failsafeMasksEvents = masks
        case .syscall:
            pv.syscallCallback = address
            pv.syscallMasksEvents = masks
        case .syscall32, .sysenter:
            // 32-bit user mode does not exist on Kite's CPU yet; accepted and never used.
            break
        case .nmi:
            // Xen: the NMI callback lives in the trap table at vector 2, events masked.
            pv.trapTable[2] = TrapInfo(vector: 2, flags: 4, codeSelector: FlatSelector.code64, address: address)
        case nil:
            throw .ENOSYS
        }
    }

    /// Xen: unregister_guest_callback — only the NMI callback can be removed.
    func unregisterCallback(type: UInt16) throws(XenError) {
        switch CallbackType(rawValue: type) {
        case .nmi:
            pv.trapTable[2] = nil
        case .event, .failsafe, .syscall, .syscall32, .sysenter:
            throw .EINVAL
        case nil:
            throw .ENOSYS
        }
    }
}
