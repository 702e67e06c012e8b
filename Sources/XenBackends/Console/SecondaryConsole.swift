import Dispatch
import Synchronization
import XenABI
import XenControl

/// The backend device of a secondary PV console, `device/console/<n>` with n ≥ 1: what
/// QEMU's xen-console does for consoles libxl adds beyond the first. Unlike the primary
/// console (grant 0 and start_info's port, no xenbus), the frontend — Linux's hvc_xen
/// `xencons_connect_backend` — allocates a page, grants it, allocates a port and publishes
/// `ring-ref` (a grant reference) and `port`, then goes Initialised; on connect this device
/// starts a `ConsoleBackend` on that grant and port, so the ring is served exactly like the
/// primary console's. Output goes to the sink, which survives reconnections.
///
/// Xenbus keys (libxl__device_console_add for a console without build state): backend
/// `protocol` = vt100 (+ `name`); frontend `protocol` = vt100 (guest-writable); read-only
/// for the guest `limit`, `type`, `output`, `tty` (+ `name`).
public final class SecondaryConsoleDevice: XenbusBackendDevice {
    /// Xen: LIBXL_XENCONSOLE_PROTOCOL.
    public static let protocolName = "vt100"
    /// Xen: LIBXL_XENCONSOLE_LIMIT.
    public static let limit = 1_048_576

    private struct State: Sendable {
        var console: ConsoleBackend?
        var sink: ConsoleBackend.Sink?
    }

    public let domain: DomainID
    private let grants: any GrantMapper
    private let events: any EventChannelAccess
    private let configuration: ConsoleBackend.Configuration
    private let state: Mutex<State>

    /// `configuration.grantReference` is ignored: the frontend names the grant.
    public init(domain: DomainID, grants: any GrantMapper, events: any EventChannelAccess,
                configuration: ConsoleBackend.Configuration = .init(), sink: ConsoleBackend.Sink? = nil) {
        self.domain = domain
        self.grants = grants
        self.events = events
        self.configuration = configuration
        state = Mutex(State(sink: sink))
    }

    /// The keys libxl writes for a secondary console named `name`.
    public static func keys(name: String? = nil) -> XenbusDeviceKeys {
        var backend: [XenbusKey] = [XenbusKey("protocol", protocolName)]
        var readOnly: [XenbusKey] = [XenbusKey("limit", String(limit)), XenbusKey("type", "xenconsoled"),
                                     XenbusKey("output", "pty"), XenbusKey("tty", "")]
        if let name {
            backend.append(XenbusKey("name", name))
            readOnly.append(XenbusKey("name", name))
        }
        return XenbusDeviceKeys(backend: backend, frontend: [XenbusKey("protocol", protocolName)],
                                readOnlyFrontend: readOnly)
    }

    // MARK: - XenbusBackendDevice

    public func connect(_ frontend: XenbusFrontend) throws(XenbusError) -> [XenbusKey] {
        let ring = try frontend.grantReference("ring-ref")
        let port = try frontend.eventChannel("port")
        var settings = configuration
        settings.grantReference = ring
        let sink = state.withLock { $0.sink }
        let console: ConsoleBackend
        do {
            console = try ConsoleBackend(domain: domain, port: port, grants: grants, events: events,
                                         configuration: settings, sink: sink)
        } catch {
            switch error {
            case .map(_, _, let failure):
                throw XenbusError(.ENOENT, "mapping in shared page \(ring.rawValue) from domain \(domain.rawValue): \(failure)")
            case .bind(_, _, let failure):
                throw XenbusError(failure, "binding event channel \(port.rawValue) of domain \(domain.rawValue)")
            }
        }
        state.withLock { $0.console = console }
        return []
    }

    public func disconnect() {
        let console = state.withLock { s -> ConsoleBackend? in
            defer { s.console = nil }
            return s.console
        }
        console?.close()
    }

    // MARK: - Host side

    /// Attaches (or with nil detaches) the consumer of the console's output.
    public func setSink(_ sink: ConsoleBackend.Sink?) {
        let console = state.withLock { s -> ConsoleBackend? in
            s.sink = sink
            return s.console
        }
        console?.setSink(sink)
    }

    /// Queues keyboard input; 0 while nothing is connected or the guest has no room.
    @discardableResult
    public func sendInput(_ bytes: some Collection<UInt8>) -> Int {
        state.withLock { $0.console }?.sendInput(bytes) ?? 0
    }

    /// The ring backend while connected.
    public var console: ConsoleBackend? { state.withLock { $0.console } }

    /// Everything the guest wrote so far reaches the sink.
    public func flush() {
        state.withLock { $0.console }?.flush()
    }
}

extension XenbusBackend {
    /// A secondary console `devid` (≥ 1) of `domain`, not started yet: call `start()`, and
    /// `teardown()` before the domain is destroyed.
    public static func secondaryConsole(
        _ devid: UInt32, of domain: DomainID, name: String? = nil, device: SecondaryConsoleDevice,
        client: XenStoreClient, log: @escaping @Sendable (String) -> Void = { _ in }
    ) -> XenbusBackend {
        XenbusBackend(address: XenbusDeviceAddress(frontend: domain, type: "console", devid: devid),
                      keys: SecondaryConsoleDevice.keys(name: name), device: device, client: client,
                      policy: .console, log: log)
    }
}
