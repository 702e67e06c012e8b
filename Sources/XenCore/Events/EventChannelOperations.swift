import XenABI

/// The port operations that may involve two endpoints — bind_interdomain, close and send —
/// shared by guests (hypercalls) and Kite's control domain (backends). Two port tables are
/// locked lower domain id first, as Xen's double event lock; `send` never holds two.
enum EventChannelOperations {
    /// Locks both tables in id order (one when they are the same) and runs `body` with
    /// (local, remote); the remote is nil for a loopback, where local plays both parts.
    static func withBothTables<R: Sendable>(
        _ local: EventEndpoint, _ remote: EventEndpoint,
        _ body: (inout EventChannelTableState, inout EventChannelTableState?) throws(XenError) -> R
    ) throws(XenError) -> R {
        if local.sameEndpoint(as: remote) {
            return try local.withTable { (l) throws(XenError) -> R in
                var none: EventChannelTableState? = nil
                return try body(&l, &none)
            }
        }
        if local.id < remote.id {
            return try local.withTable { (l) throws(XenError) -> R in
                try remote.withTable { (r) throws(XenError) -> R in try withOptional(&l, &r, body) }
            }
        }
        return try remote.withTable { (r) throws(XenError) -> R in
            try local.withTable { (l) throws(XenError) -> R in try withOptional(&l, &r, body) }
        }
    }

    private static func withOptional<R>(
        _ l: inout EventChannelTableState, _ r: inout EventChannelTableState,
        _ body: (inout EventChannelTableState, inout EventChannelTableState?) throws(XenError) -> R
    ) throws(XenError) -> R {
        // Moved in and out with swaps: copying would duplicate the port array.
        var optional: EventChannelTableState? = EventChannelTableState.placeholder
        swap(&r, &optional!)
        defer { if optional != nil { swap(&r, &optional!) } }
        return try body(&l, &optional)
    }

    /// Xen: evtchn_bind_interdomain() — connects a new local port to `remotePort` of
    /// `remote`, which must be unbound and offered to `local`. The local port is left
    /// pending: notifications sent while it was unbound were dropped.
    static func bindInterdomain(local: EventEndpoint, remote: EventEndpoint, remotePort: UInt32) throws(XenError) -> UInt32 {
        let localID = local.id
        let (port, notification) = try withBothTables(local, remote) { (l, r) throws(XenError) -> (UInt32, Notification?) in
            let lport = try l.allocatePort()
            let remoteChannel = r.map { $0.isValid(remotePort) ? $0[remotePort] : nil } ?? (l.isValid(remotePort) ? l[remotePort] : nil)
            guard let rchn = remoteChannel, case .unbound(let offeredTo) = rchn.state, offeredTo == localID else {
                throw .EINVAL
            }
            l[lport] = EventChannel(state: .interdomain(remote: remote.id, remotePort: remotePort), notifyVCPU: 0, handler: nil)
            if r != nil {
                r![remotePort].state = .interdomain(remote: localID, remotePort: lport)
            } else {
                l[remotePort].state = .interdomain(remote: localID, remotePort: lport)
            }
            return (lport, local.raiseLocked(lport, in: l))
        }
        notification?.deliver()
        return port
    }

    /// Xen: evtchn_close(). An interdomain port's peer becomes unbound again.
    static func close(_ endpoint: EventEndpoint, port: UInt32, hub: EventChannelHub?) throws(XenError) {
        while true {
            // Read the state first: an interdomain port needs its peer's table locked too.
            let state = try endpoint.withTable { (t) throws(XenError) -> EventChannelState in
                guard t.isValid(port) else { throw .EINVAL }
                return t[port].state
            }
            let outcome: CloseOutcome
            if case .interdomain(let remoteID, _) = state, remoteID != endpoint.id,
               let remote = hub?.endpoint(remoteID) {
                outcome = try withBothTables(endpoint, remote) { (l, r) throws(XenError) -> CloseOutcome in
                    try closeLocked(endpoint, &l, port: port, remoteTable: &r, lockedRemote: remoteID, hub: hub)
                }
            } else {
                outcome = try endpoint.withTable { (t) throws(XenError) -> CloseOutcome in
                    var none: EventChannelTableState? = nil
                    return try closeLocked(endpoint, &t, port: port, remoteTable: &none, lockedRemote: nil, hub: hub)
                }
            }
            if outcome == .closed { return }
        }
    }

    private enum CloseOutcome: Sendable { case closed, retry }

    private static func closeLocked(
        _ endpoint: EventEndpoint, _ t: inout EventChannelTableState, port: UInt32,
        remoteTable r: inout EventChannelTableState?, lockedRemote: DomainID?, hub: EventChannelHub?
    ) throws(XenError) -> CloseOutcome {
        guard t.isValid(port) else { throw .EINVAL }
        switch t[port].state {
        case .free, .reserved:
            throw .EINVAL
        case .unbound, .ipi:
            break
        case .virq(let virq):
            let vcpu = VIRQ.isGlobal(virq) ? 0 : t[port].notifyVCPU
            if t.virqPort(vcpu: vcpu, virq: virq) == port { t.setVIRQPort(vcpu: vcpu, virq: virq, port: 0) }
        case .interdomain(let remoteID, let remotePort):
            if remoteID == endpoint.id {
                if t.isValid(remotePort) { t[remotePort].state = .unbound(remote: endpoint.id) }
            } else if lockedRemote == remoteID {
                if r != nil, r!.isValid(remotePort) { r![remotePort].state = .unbound(remote: endpoint.id) }
            } else if lockedRemote == nil {
                // Bound to a live peer since the state was read: lock that peer and retry.
                // A peer that is gone has closed its side already: nothing to flip.
                if hub?.endpoint(remoteID) != nil { return .retry }
            } else {
                // Closed and re-bound to another domain between the two locks: Xen gives
                // the error of a port seen free.
                throw .EINVAL
            }
        }
        if t[port].state.isUsable { endpoint.clearPendingLocked(port) }
        t[port] = EventChannel()
        return .closed
    }

    /// Xen: evtchn_send(). Interdomain: the peer's port is raised (or its host handler
    /// run); IPI: raised locally; unbound: dropped; anything else: -EINVAL.
    static func send(_ endpoint: EventEndpoint, port: UInt32, hub: EventChannelHub?) throws(XenError) {
        enum Target: Sendable { case none, peer(DomainID, UInt32) }
        let (target, local) = try endpoint.withTable { (t) throws(XenError) -> (Target, Notification?) in
            guard t.isValid(port) else { throw .EINVAL }
            switch t[port].state {
            case .interdomain(let remoteID, let remotePort):
                return (.peer(remoteID, remotePort), nil)
            case .ipi:
                return (.none, endpoint.raiseLocked(port, in: t))
            case .unbound:
                return (.none, nil)
            case .free, .reserved, .virq:
                throw .EINVAL
            }
        }
        local?.deliver()
        guard case .peer(let remoteID, let remotePort) = target else { return }
        let remote = remoteID == endpoint.id ? endpoint : hub?.endpoint(remoteID)
        guard let remote else { return }
        let localID = endpoint.id
        let notification = try remote.withTable { (r) throws(XenError) -> Notification? in
            // The channel may have been closed since the first lock: then nothing is sent.
            guard r.isValid(remotePort), r[remotePort].state == .interdomain(remote: localID, remotePort: port) else { return nil }
            return remote.raiseLocked(remotePort, in: r)
        }
        notification?.deliver()
    }
}
