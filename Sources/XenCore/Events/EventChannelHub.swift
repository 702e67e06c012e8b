import Synchronization
import XenABI

/// Kite's registry of event-channel endpoints: every running guest domain plus Kite itself
/// as the control domain (`host`, domain 0), whose ports the backends own. Interdomain
/// channels are found through it by domain id. Kite's top level owns one hub; domains refer
/// to it weakly.
public final class EventChannelHub: Sendable {
    private let domains = Mutex<[UInt16: WeakDomain]>([:])
    private let hostStorage = Mutex<HostEventChannels?>(nil)

    private struct WeakDomain: Sendable {
        weak var domain: Domain?
    }

    public init() {}

    /// Kite's own ports (the control domain, dom0): what backends bind and notify.
    public var host: HostEventChannels {
        hostStorage.withLock { storage in
            if let h = storage { return h }
            let h = HostEventChannels(hub: self)
            storage = h
            return h
        }
    }

    /// Makes `domain` reachable by id for interdomain channels.
    public func register(_ domain: Domain) throws(EventChannelHubError) {
        guard domain.id != .controlDomain, domain.id < DomainID.firstReserved else {
            throw .reservedID(domain.id)
        }
        try domains.withLock { (map) throws(EventChannelHubError) in
            if let existing = map[domain.id.rawValue]?.domain, existing !== domain {
                throw .duplicateID(domain.id)
            }
            map[domain.id.rawValue] = WeakDomain(domain: domain)
        }
        domain.events.hubReference.withLock { $0.hub = self }
    }

    /// Xen: evtchn_destroy() — closes every port of the domain (remote ends become
    /// unbound) and forgets it.
    public func unregister(_ domain: Domain) {
        domain.closeAllEventChannels()
        domains.withLock { map in
            if map[domain.id.rawValue]?.domain === domain { map[domain.id.rawValue] = nil }
        }
        domain.events.hubReference.withLock { $0.hub = nil }
    }

    /// Xen: rcu_lock_domain_by_id() for event channels.
    func endpoint(_ id: DomainID) -> EventEndpoint? {
        if id == .controlDomain { return .host(host) }
        return domains.withLock { $0[id.rawValue]?.domain }.map { .guest($0) }
    }
}

/// Host-side failures of the hub.
public enum EventChannelHubError: Error, Equatable, CustomStringConvertible {
    case reservedID(DomainID)
    case duplicateID(DomainID)

    public var description: String {
        switch self {
        case .reservedID(let id):
            "domain id \(id.rawValue) is reserved (0 is Kite itself, 0x7FF0 and above are special); give the domain another id"
        case .duplicateID(let id):
            "domain id \(id.rawValue) is already registered with the event-channel hub; unregister the old domain first"
        }
    }
}

/// A resolved participant of an event channel: a guest domain or Kite's control domain.
enum EventEndpoint {
    case guest(Domain)
    case host(HostEventChannels)

    var id: DomainID {
        switch self {
        case .guest(let d): d.id
        case .host: .controlDomain
        }
    }

    func sameEndpoint(as other: EventEndpoint) -> Bool { id == other.id }

    func withTable<R: Sendable>(_ body: (inout EventChannelTableState) throws(XenError) -> R) throws(XenError) -> R {
        switch self {
        case .guest(let d): try d.events.table.withLock { (t) throws(XenError) -> R in try body(&t) }
        case .host(let h): try h.table.withLock { (t) throws(XenError) -> R in try body(&t) }
        }
    }

    /// Raises `port` with the table locked. A guest gets the 2-level bits set at once; a
    /// host port's handler is returned, to be run once no lock is held.
    func raiseLocked(_ port: UInt32, in table: EventChannelTableState) -> Notification? {
        let channel = table[port]
        switch self {
        case .guest(let d):
            d.setPending2L(port: port, vcpu: channel.notifyVCPU)
            return nil
        case .host:
            return channel.handler.map { Notification(handler: $0, port: EventChannelPort(port)) }
        }
    }

    /// Xen: evtchn_port_clear_pending() when a port is freed.
    func clearPendingLocked(_ port: UInt32) {
        if case .guest(let d) = self { d.clearPending2L(port: port) }
    }
}

/// A host handler to run after the locks are released.
struct Notification: Sendable {
    let handler: EventChannelHandler
    let port: EventChannelPort
    func deliver() { handler(port) }
}
