import XenABI

extension PVHypercalls {
    /// Xen: do_event_channel_op (common/event_channel.c): the argument is copied in once
    /// (-EFAULT), the operation runs, and on success the structure is copied back whole.
    static func eventChannelOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        // Xen takes cmd as an int: only the low 32 bits count.
        guard let op = EventChannelOp(rawValue: UInt32(truncatingIfNeeded: args[0])) else { throw .ENOSYS }
        return .value(try eventChannel(vcpu, op, argument: args[1]))
    }

    /// Xen: do_event_channel_op_compat — evtchn_op_t {u32 cmd; union u} in one buffer.
    /// Only the original commands are accepted; the rest are -ENOSYS.
    static func eventChannelOpCompat(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let op = try vcpu.readGuestStruct(args[0], size: EventChannelArgs.Compat.size)
        switch EventChannelOp(rawValue: op.u32(EventChannelArgs.Compat.command)) {
        case let command?
            where [.bindInterdomain, .bindVIRQ, .bindPIRQ, .close, .send, .status, .allocUnbound,
                   .bindIPI, .bindVCPU, .unmask].contains(command):
            return .value(try eventChannel(vcpu, command, argument: args[0] &+ UInt64(EventChannelArgs.Compat.union)))
        default:
            throw .ENOSYS
        }
    }

    private static func eventChannel(_ vcpu: PVVCPU, _ op: EventChannelOp, argument: UInt64) throws(XenError) -> UInt64 {
        let domain = vcpu.domain
        var a = try vcpu.readGuestStruct(argument, size: op.argumentSize)
        typealias A = EventChannelArgs
        switch op {
        case .allocUnbound:
            let port = try domain.allocateUnbound(
                dom: DomainID(a.u16(A.AllocUnbound.dom)), remote: DomainID(a.u16(A.AllocUnbound.remoteDom)))
            a.set(A.AllocUnbound.port, 4, UInt64(port))
        case .bindInterdomain:
            let port = try domain.bindInterdomain(
                remote: DomainID(a.u16(A.BindInterdomain.remoteDom)), remotePort: a.u32(A.BindInterdomain.remotePort))
            a.set(A.BindInterdomain.localPort, 4, UInt64(port))
        case .bindVIRQ:
            let port = try domain.bindVIRQ(a.u32(A.BindVIRQ.virq), vcpu: a.u32(A.BindVIRQ.vcpu))
            a.set(A.BindVIRQ.port, 4, UInt64(port))
        case .bindPIRQ:
            let port = try domain.bindPIRQ(a.u32(A.BindPIRQ.pirq))
            a.set(A.BindPIRQ.port, 4, UInt64(port))
        case .bindIPI:
            let port = try domain.bindIPI(vcpu: a.u32(A.BindIPI.vcpu))
            a.set(A.BindIPI.port, 4, UInt64(port))
        case .close:
            try domain.closeEventChannel(a.u32(0))
            return 0
        case .send:
            try domain.sendEvent(a.u32(0))
            return 0
        case .status:
            let s = try domain.eventChannelStatus(dom: DomainID(a.u16(A.Status.dom)), port: a.u32(A.Status.port))
            a.set(A.Status.status, 4, UInt64(s.status.rawValue))
            a.set(A.Status.vcpu, 4, UInt64(s.vcpu))
            // Only the union member of this status is written, as in Xen.
            switch s.status {
            case .unbound:
                a.set(A.Status.remoteDom, 2, UInt64(s.remoteDomain?.rawValue ?? 0))
            case .interdomain:
                a.set(A.Status.remoteDom, 2, UInt64(s.remoteDomain?.rawValue ?? 0))
                a.set(A.Status.remotePort, 4, UInt64(s.remotePort?.rawValue ?? 0))
            case .virq:
                a.set(A.Status.value, 4, UInt64(s.virq ?? 0))
            case .closed, .pirq, .ipi:
                break
            }
        case .bindVCPU:
            try domain.bindEventChannel(a.u32(A.BindVCPU.port), toVCPU: a.u32(A.BindVCPU.vcpu))
            return 0
        case .unmask:
            try domain.unmaskEventChannel(a.u32(0))
            return 0
        case .reset, .resetContinuation:
            try domain.resetEventChannels(dom: DomainID(a.u16(0)), continuation: op == .resetContinuation)
            return 0
        case .initControl, .expandArray:
            // Kite offers only the 2-level ABI: guests fall back to it on -ENOSYS.
            throw .ENOSYS
        case .setPriority:
            // Xen: a valid port, then the 2-level ABI's missing set_priority hook.
            _ = try domain.eventChannelStatus(dom: DomainID.selfDomain, port: a.u32(A.SetPriority.port))
            throw .ENOSYS
        }
        // Xen: "__copy_to_guest … Cleaning up here would be a mess!" — the port stays bound.
        try vcpu.copyToGuest(a.bytes, at: argument)
        return 0
    }
}
