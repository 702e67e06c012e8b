import Synchronization
import XenABI
import XenControl

/// One virtual network interface of a domain, complete: the vif (`NetVif`: ring engine
/// per connection and its place on the network), its port on the network it names, and
/// its xenstore handshake (`XenbusBackend` with netback's policy). What a host builds per
/// vif of a domain, like `BlockXenbusDevice` per disk:
///
/// ```swift
/// let vif = try NetXenbusDevice(domain: d, configuration: c, grants: g, events: e, client: store,
///                               networks: hub)
/// try vif.start()        // xenstore directories written, backend in InitWait
/// …
/// vif.stop()             // directories removed, rings released, port unplugged
/// ```
///
/// A frontend that breaks its rings is disabled (netback's fatal path: its xenbus state is
/// left alone, the failure is logged and kept in `failures`); other vifs are not affected.
public final class NetXenbusDevice: Sendable {
    public let vif: NetVif
    public let xenbus: XenbusBackend
    private let port: Mutex<VirtualSwitchPort?>

    /// Plugs the vif into `networks` (starting the user-mode network if it names it);
    /// nothing is written to xenstore until `start`.
    public init(domain: DomainID, configuration: NetDeviceConfiguration, grants: any GrantMapper,
                events: any EventChannelAccess, client: XenStoreClient, networks: NetworkHub,
                log: @escaping @Sendable (String) -> Void = { _ in },
                onStateChange: XenbusBackend.StateObserver? = nil) throws(UserNetworkError) {
        let vif = NetVif(domain: domain, configuration: configuration, grants: grants, events: events, log: log)
        port = Mutex(try networks.plug(vif))
        self.vif = vif
        xenbus = vif.makeXenbusBackend(client: client, onStateChange: onStateChange)
    }

    /// Writes the vif's directories and waits for the frontend (InitWait).
    public func start() throws(XenError) {
        try xenbus.start()
    }

    /// Asks the guest to let go of the vif (libxl's graceful remove): online = 0, Closing.
    public func requestRemoval() {
        xenbus.requestRemoval()
    }

    /// Tears everything down: directories removed, rings released, port unplugged.
    /// Idempotent; not from the xenbus queue.
    public func stop() {
        xenbus.teardown()
        vif.disconnect()
        let port = self.port.withLock { p -> VirtualSwitchPort? in
            defer { p = nil }
            return p
        }
        vif.setUplink(nil)
        port?.detach()
    }

    public var statistics: NetStatistics? { vif.backend?.statistics }
    public var state: XenbusState { xenbus.backendState }
    public var isConnected: Bool { vif.backend != nil }
    public var failures: [NetDeviceError] { vif.failures }
}
