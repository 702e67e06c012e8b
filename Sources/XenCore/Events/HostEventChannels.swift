import Synchronization
import XenABI

/// Kite's own event-channel ports, as the control domain (domain 0). Backends (console,
/// xenstore, block, net) bind to ports a guest offered to domain 0 and are notified through
/// a handler instead of an upcall; they notify the guest with `notify`. This is the
/// hypervisor half of what XenControl's evtchn interface will expose.
///
/// Handlers run on the sending vCPU's thread with no lock held: they must be quick and
/// must not block (hand the work to the backend's own queue).
public final class HostEventChannels: Sendable {
    /// Xen: max_evtchns() of the 2-level ABI — Kite's side is not limited further.
    let table = Mutex(EventChannelTableState(maxPort: EventChannel2L.maxPorts - 1))
    /// The hub owns this object; the link back is weak so neither keeps the other alive.
    private let hubReference: Mutex<DomainEvents.HubReference>

    init(hub: EventChannelHub) {
        hubReference = Mutex(DomainEvents.HubReference(hub: hub))
    }

    private var hub: EventChannelHub? { hubReference.withLock { $0.hub } }

    private var endpoint: EventEndpoint { .host(self) }

    /// Xen: EVTCHNOP_bind_interdomain from domain 0 — connects to `remotePort` of
    /// `remoteDomain`, which the guest (or the toolstack for it) left unbound for domain 0.
    public func bindInterdomain(
        remoteDomain: DomainID, remotePort: EventChannelPort, handler: @escaping EventChannelHandler
    ) throws(XenError) -> EventChannelPort {
        guard let remote = hub?.endpoint(remoteDomain) else { throw .ESRCH }
        // Install the handler with the port so no notification can slip between the two.
        let port = try EventChannelOperations.bindInterdomain(local: endpoint, remote: remote, remotePort: remotePort.rawValue)
        table.withLock { $0[port].handler = handler }
        // bind_interdomain leaves the new local port pending: deliver that notification.
        handler(EventChannelPort(port))
        return EventChannelPort(port)
    }

    /// Xen: EVTCHNOP_alloc_unbound in domain 0 — a port `remoteDomain` may bind to.
    public func allocateUnbound(remoteDomain: DomainID, handler: @escaping EventChannelHandler) throws(XenError) -> EventChannelPort {
        let port = try table.withLock { (t) throws(XenError) -> UInt32 in
            let p = try t.allocatePort()
            t[p] = EventChannel(state: .unbound(remote: remoteDomain), notifyVCPU: 0, handler: handler)
            return p
        }
        return EventChannelPort(port)
    }

    /// Xen: EVTCHNOP_send from domain 0 — notifies the guest end of the channel.
    public func notify(_ port: EventChannelPort) throws(XenError) {
        try EventChannelOperations.send(endpoint, port: port.rawValue, hub: hub)
    }

    /// Xen: EVTCHNOP_close from domain 0 — the guest's end becomes unbound again.
    public func close(_ port: EventChannelPort) throws(XenError) {
        try EventChannelOperations.close(endpoint, port: port.rawValue, hub: hub)
    }

    /// Xen: EVTCHNOP_status for one of Kite's ports.
    public func status(_ port: EventChannelPort) throws(XenError) -> EventChannelPortStatus {
        try table.withLock { (t) throws(XenError) -> EventChannelPortStatus in
            guard t.isValid(port.rawValue) else { throw .EINVAL }
            return EventChannelPortStatus(t[port.rawValue])
        }
    }
}

/// What EVTCHNOP_status reports about a port. Xen: struct evtchn_status (OUT fields).
public struct EventChannelPortStatus: Equatable, Sendable {
    public var status: EventChannelStatus
    public var vcpu: UInt32
    /// unbound: the domain allowed to bind; interdomain: the peer.
    public var remoteDomain: DomainID?
    /// interdomain: the peer's port.
    public var remotePort: EventChannelPort?
    /// virq: the VIRQ number.
    public var virq: UInt32?

    init(_ channel: EventChannel) {
        vcpu = channel.notifyVCPU
        switch channel.state {
        case .free, .reserved:
            status = .closed
        case .unbound(let remote):
            status = .unbound
            remoteDomain = remote
        case .interdomain(let remote, let port):
            status = .interdomain
            remoteDomain = remote
            remotePort = EventChannelPort(port)
        case .virq(let v):
            status = .virq
            virq = v
        case .ipi:
            status = .ipi
        }
    }
}
