import Synchronization
import XenABI
import XenControl

/// A mock of dom0's event channels: binding records the handler (and calls it once, as the
/// hypervisor does for a fresh port), `guestSends` plays the guest's EVTCHNOP_send, and
/// the backend's notifications to the guest are counted per guest port.
final class FakeEvents: EventChannelAccess, @unchecked Sendable {
    struct Channel {
        var domain: DomainID
        var remotePort: EventChannelPort
        var handler: @Sendable (EventChannelPort) -> Void
    }
    struct State {
        var channels: [EventChannelPort: Channel] = [:]
        var nextPort: UInt32 = 1
        var notified: [EventChannelPort: Int] = [:]   // by guest (remote) port
        var closed: [EventChannelPort] = []
        var failBinds: XenError?
    }

    let state = Mutex(State())

    func bindInterdomain(
        remoteDomain: DomainID, remotePort: EventChannelPort, handler: @escaping @Sendable (EventChannelPort) -> Void
    ) throws(XenError) -> EventChannelPort {
        let result = state.withLock { s -> Result<EventChannelPort, XenError> in
            if let failure = s.failBinds { return .failure(failure) }
            if s.channels.values.contains(where: { $0.domain == remoteDomain && $0.remotePort == remotePort }) {
                return .failure(.EINVAL)
            }
            let port = EventChannelPort(s.nextPort)
            s.nextPort += 1
            s.channels[port] = Channel(domain: remoteDomain, remotePort: remotePort, handler: handler)
            return .success(port)
        }
        let port = try result.get()
        handler(port)
        return port
    }

    func notify(_ port: EventChannelPort) throws(XenError) {
        let ok = state.withLock { s -> Bool in
            guard let channel = s.channels[port] else { return false }
            s.notified[channel.remotePort, default: 0] += 1
            return true
        }
        guard ok else { throw .EINVAL }
    }

    func close(_ port: EventChannelPort) throws(XenError) {
        let ok = state.withLock { s -> Bool in
            guard s.channels.removeValue(forKey: port) != nil else { return false }
            s.closed.append(port)
            return true
        }
        guard ok else { throw .EINVAL }
    }

    /// The guest sends on its `guestPort` of `domain`: the bound handler runs (false if unbound).
    @discardableResult
    func guestSends(_ domain: DomainID, _ guestPort: EventChannelPort) -> Bool {
        let found = state.withLock { s in
            s.channels.first { $0.value.domain == domain && $0.value.remotePort == guestPort }.map { ($0.key, $0.value.handler) }
        }
        guard let (local, handler) = found else { return false }
        handler(local)
        return true
    }

    func notifications(to guestPort: EventChannelPort) -> Int { state.withLock { $0.notified[guestPort] ?? 0 } }
    func isBound(_ domain: DomainID, _ guestPort: EventChannelPort) -> Bool {
        state.withLock { $0.channels.values.contains { $0.domain == domain && $0.remotePort == guestPort } }
    }
    var boundCount: Int { state.withLock { $0.channels.count } }
}
