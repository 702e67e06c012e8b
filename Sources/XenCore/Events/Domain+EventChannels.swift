import XenABI

/// The EVTCHNOP operations of a guest domain on its own ports (xen/common/event_channel.c),
/// with Xen's checks in Xen's order. The hypercall layer copies arguments in and out.
extension Domain {
    var eventEndpoint: EventEndpoint { .guest(self) }

    /// Xen: rcu_lock_domain_by_any_id() followed by the dummy XSM policy's XSM_TARGET
    /// check: a guest may name only itself; another existing domain is -EPERM (Kite never
    /// gives a guest control rights), an unknown one -ESRCH.
    private func requireSelf(_ dom: DomainID) throws(XenError) {
        if dom == DomainID.selfDomain || dom == id { return }
        guard events.hub?.endpoint(dom) != nil else { throw .ESRCH }
        throw .EPERM
    }

    /// Xen: evtchn_alloc_unbound() — a port `remote` may later bind to.
    func allocateUnbound(dom: DomainID, remote: DomainID) throws(XenError) -> UInt32 {
        if dom != DomainID.selfDomain && dom != id {
            // The port is taken in the named domain before XSM refuses (Xen's order), but a
            // guest never gets that far: the domain either does not exist or is not its own.
            try requireSelf(dom)
        }
        let remoteID = remote == DomainID.selfDomain ? id : remote
        return try events.table.withLock { (t) throws(XenError) -> UInt32 in
            let port = try t.allocatePort()
            t[port] = EventChannel(state: .unbound(remote: remoteID), notifyVCPU: 0, handler: nil)
            return port
        }
    }

    /// The toolstack's EVTCHNOP_alloc_unbound on this domain (Xen: xc_evtchn_alloc_unbound
    /// by the control domain), e.g. the console and xenstore ports before the guest runs.
    public func allocateUnboundPort(remote: DomainID) throws(XenError) -> EventChannelPort {
        EventChannelPort(try allocateUnbound(dom: id, remote: remote))
    }

    /// Xen: evtchn_bind_interdomain() — `remote` may be DOMID_SELF (loopback).
    func bindInterdomain(remote: DomainID, remotePort: UInt32) throws(XenError) -> UInt32 {
        let remoteID = remote == DomainID.selfDomain ? id : remote
        let peer: EventEndpoint
        if remoteID == id {
            peer = eventEndpoint
        } else {
            guard let found = events.hub?.endpoint(remoteID) else { throw .ESRCH }
            peer = found
        }
        return try EventChannelOperations.bindInterdomain(local: eventEndpoint, remote: peer, remotePort: remotePort)
    }

    /// Xen: evtchn_bind_virq(). Global VIRQs are bound through vCPU 0.
    func bindVIRQ(_ virq: UInt32, vcpu: UInt32) throws(XenError) -> UInt32 {
        // Xen reads both as int: values with the top bit set are negative.
        guard Int32(bitPattern: virq) >= 0, virq < VIRQ.count else { throw .EINVAL }
        if VIRQ.isGlobal(virq) && vcpu != 0 { throw .EINVAL }
        guard Int32(bitPattern: vcpu) >= 0, self.vcpu(vcpu) != nil else { throw .ENOENT }
        return try events.table.withLock { (t) throws(XenError) -> UInt32 in
            guard t.virqPort(vcpu: vcpu, virq: virq) == 0 else { throw .EEXIST }
            let port = try t.allocatePort()
            t[port] = EventChannel(state: .virq(virq), notifyVCPU: vcpu, handler: nil)
            t.setVIRQPort(vcpu: vcpu, virq: virq, port: port)
            return port
        }
    }

    /// Xen: evtchn_bind_ipi()
    func bindIPI(vcpu: UInt32) throws(XenError) -> UInt32 {
        guard self.vcpu(vcpu) != nil else { throw .ENOENT }
        return try events.table.withLock { (t) throws(XenError) -> UInt32 in
            let port = try t.allocatePort()
            t[port] = EventChannel(state: .ipi, notifyVCPU: vcpu, handler: nil)
            return port
        }
    }

    /// Xen: evtchn_bind_pirq() for a domain without physical IRQ access: out-of-range
    /// PIRQs are -EINVAL, the rest -EPERM. Kite's nr_pirqs: 24 GSIs + 32 extra (Xen's
    /// extra_domU_irqs default).
    func bindPIRQ(_ pirq: UInt32) throws(XenError) -> UInt32 {
        guard pirq < 24 + 32 else { throw .EINVAL }
        throw .EPERM
    }

    /// Xen: evtchn_close(current->domain, port, guest = true)
    func closeEventChannel(_ port: UInt32) throws(XenError) {
        try EventChannelOperations.close(eventEndpoint, port: port, hub: events.hub)
    }

    /// Xen: evtchn_send()
    func sendEvent(_ port: UInt32) throws(XenError) {
        try EventChannelOperations.send(eventEndpoint, port: port, hub: events.hub)
    }

    /// Xen: evtchn_status()
    func eventChannelStatus(dom: DomainID, port: UInt32) throws(XenError) -> EventChannelPortStatus {
        if dom != DomainID.selfDomain && dom != id {
            // Xen checks the port against the named domain before XSM says no.
            guard let other = events.hub?.endpoint(dom) else { throw .ESRCH }
            let valid = (try? other.withTable { $0.isValid(port) }) ?? false
            guard valid else { throw .EINVAL }
            throw .EPERM
        }
        return try events.table.withLock { (t) throws(XenError) -> EventChannelPortStatus in
            guard t.isValid(port) else { throw .EINVAL }
            return EventChannelPortStatus(t[port])
        }
    }

    /// Xen: evtchn_bind_vcpu() — re-targets unbound, interdomain and global-VIRQ ports.
    func bindEventChannel(_ port: UInt32, toVCPU vcpu: UInt32) throws(XenError) {
        guard self.vcpu(vcpu) != nil else { throw .ENOENT }
        try events.table.withLock { (t) throws(XenError) in
            guard t.isValid(port) else { throw .EINVAL }
            switch t[port].state {
            case .virq(let virq) where VIRQ.isGlobal(virq):
                t[port].notifyVCPU = vcpu
            case .unbound, .interdomain:
                t[port].notifyVCPU = vcpu
            case .virq, .ipi, .free, .reserved:
                throw .EINVAL
            }
        }
    }

    /// Xen: evtchn_unmask() — valid ports only; free ones are left alone.
    func unmaskEventChannel(_ port: UInt32) throws(XenError) {
        try events.table.withLock { (t) throws(XenError) in
            guard t.isValid(port) else { throw .EINVAL }
            guard t[port].state.isUsable else { return }
            unmask2L(port: port, vcpu: t[port].notifyVCPU)
        }
    }

    /// Xen: EVTCHNOP_reset / reset_cont. A reset is never preempted in Kite, so a
    /// continuation finds none in progress (-EBUSY, as Xen).
    func resetEventChannels(dom: DomainID, continuation: Bool) throws(XenError) {
        try requireSelf(dom)
        guard !continuation else { throw .EBUSY }
        closeAllEventChannels()
    }

    /// Closes every port but the reserved port 0 (Xen: the loop of evtchn_reset and
    /// evtchn_destroy).
    func closeAllEventChannels() {
        let count = events.table.withLock { UInt32($0.channels.count) }
        for port in 1..<max(count, 1) {
            try? closeEventChannel(port)
        }
    }

    /// Xen: evtchn_port_poll() — -EINVAL for ports a guest cannot use, else pending.
    func pollPort(_ port: UInt32) throws(XenError) -> Bool {
        try events.table.withLock { (t) throws(XenError) -> Bool in
            guard t.isValid(port), t[port].state.isUsable else { throw .EINVAL }
            return isPending2L(port: port)
        }
    }
}
