import Dispatch
import Synchronization
import XenABI
import XenControl
import XenStore

/// A guest's vif as the host plugs it in: the xenbus device half (`XenbusBackendDevice`,
/// driven by `XenbusBackend` with netback's policy) that creates a `NetBackend` each time
/// the frontend connects, and the vif's fixed place on the network — it is the
/// `NetFrameSink` a switch port delivers to, and its guest's packets go to `uplink`.
///
/// Lifetime: create it, attach it to a network (`VirtualSwitch.attach(vif)` or
/// `NetworkHub.plug`), set the port as uplink, start the `XenbusBackend` made by
/// `makeXenbusBackend`. Teardown: the xenbus backend's `teardown` (which disconnects),
/// then detach the port.
public final class NetVif: XenbusBackendDevice, NetFrameSink, Sendable {
    public typealias Log = @Sendable (String) -> Void

    public let domain: DomainID
    public let configuration: NetDeviceConfiguration
    private let grants: any GrantMapper
    private let events: any EventChannelAccess
    private let log: Log
    private let state = Mutex<(backend: NetBackend?, uplink: (any NetFrameSink)?, failures: [NetDeviceError])>(
        (nil, nil, []))

    public init(domain: DomainID, configuration: NetDeviceConfiguration, grants: any GrantMapper,
                events: any EventChannelAccess, uplink: (any NetFrameSink)? = nil, log: @escaping Log = { _ in }) {
        self.domain = domain
        self.configuration = configuration
        self.grants = grants
        self.events = events
        self.log = log
        state.withLock { $0.uplink = uplink }
    }

    /// The xenbus address of this vif (backend in domain 0).
    public var address: XenbusDeviceAddress {
        XenbusDeviceAddress(frontend: domain, type: "vif", devid: configuration.handle)
    }

    /// The keys libxl writes for a vif, with the features Kite's backend announces.
    public var xenbusKeys: XenbusDeviceKeys {
        XenbusDeviceKeys(backend: configuration.backendKeys.map { XenbusKey($0.key, $0.value) },
                         frontend: configuration.frontendKeys.map { XenbusKey($0.key, $0.value) })
    }

    /// The xenbus backend that drives this vif (netback's state policy).
    public func makeXenbusBackend(client: XenStoreClient, queue: DispatchQueue? = nil,
                                  onStateChange: XenbusBackend.StateObserver? = nil) -> XenbusBackend {
        XenbusBackend(address: address, keys: xenbusKeys, device: self, client: client, policy: .netback, queue: queue,
                      log: log, onStateChange: onStateChange)
    }

    /// The connected backend (nil before the frontend connects and after it leaves).
    public var backend: NetBackend? { state.withLock { $0.backend } }
    /// Protocol violations that disconnected a frontend, oldest first (at most 16 kept).
    public var failures: [NetDeviceError] { state.withLock { $0.failures } }

    /// Where the guest's packets go (the switch port), now and after reconnections.
    public func setUplink(_ sink: (any NetFrameSink)?) {
        let backend = state.withLock { s -> NetBackend? in
            s.uplink = sink
            return s.backend
        }
        backend?.setUplink(sink)
    }

    /// A frame for the guest: queued on the connected backend, dropped while unconnected.
    @discardableResult
    public func deliver(_ frame: NetFrame) -> Bool {
        state.withLock { $0.backend }?.deliver(frame) ?? false
    }

    // MARK: XenbusBackendDevice

    /// netback's connect: reads the frontend's keys (connect_data_rings,
    /// read_xenbus_vif_flags), maps both rings and binds the port(s). Publishes nothing.
    public func connect(_ frontend: XenbusFrontend) throws(XenbusError) -> [XenbusKey] {
        var values: [String: String] = [:]
        for key in NetFrontendConnection.keys {
            if let value = try frontend.stringIfPresent(key, maximumLength: 32) { values[key] = value }
        }
        let connection: NetFrontendConnection
        do { connection = try NetFrontendConnection.read { values[$0] } } catch {
            let errno: XenError = switch error {
            case .missingKey: .ENOENT
            case .badValue: .ERANGE
            case .receiveCopyRequired: .EOPNOTSUPP
            case .tooManyQueues: .EINVAL
            }
            throw XenbusError(errno, "\(frontend.path): \(error)")
        }
        let uplink = state.withLock { $0.uplink }
        let backend: NetBackend
        do {
            backend = try NetBackend(domain: domain, configuration: configuration, connection: connection, grants: grants,
                                     events: events, uplink: uplink, onFailure: { [weak self] error in self?.failed(error) })
        } catch {
            let errno: XenError = switch error {
            case .map: .ENOMEM
            case .bind(_, _, let e): e
            }
            throw XenbusError(errno, "mapping shared-frames \(connection.transmitRing.rawValue)/\(connection.receiveRing.rawValue) port tx \(connection.transmitPort.rawValue) rx \(connection.receivePort.rawValue): \(error)")
        }
        let previous = state.withLock { s -> NetBackend? in
            defer { s.backend = backend }
            return s.backend
        }
        previous?.close()
        return []
    }

    public func disconnect() {
        let backend = state.withLock { s -> NetBackend? in
            defer { s.backend = nil }
            return s.backend
        }
        backend?.close()
    }

    /// netback's xenvif_fatal_tx_err: the vif is disabled; the xenbus state is left alone.
    private func failed(_ error: NetDeviceError) {
        state.withLock { s in
            s.failures.append(error)
            if s.failures.count > 16 { s.failures.removeFirst() }
        }
        log("vif \(configuration.handle) of \(domain): fatal error, disabling device: \(error)")
    }
}
