import XenABI
import XenBackends
import XenControl

/// One named channel of a guest: secondary console `number` (≥ 1) with the `name` the guest
/// looks it up by. What the guest writes is kept in `history` (bounded, replayed to whoever
/// attaches); input goes to the ring once the guest's frontend has connected.
public final class PVChannel: Sendable {
    public let number: Int
    public let name: String
    /// kited's Unix socket for it, if the configuration asked for one.
    public let socketPath: String?
    public let history: ConsoleHistory
    let device: SecondaryConsoleDevice
    let xenbus: XenbusBackend

    init(number: Int, spec: PVChannelSpec, domain: DomainID, grants: any GrantMapper, events: any EventChannelAccess,
         client: XenStoreClient, log: @escaping @Sendable (String) -> Void) {
        let history = ConsoleHistory()
        self.number = number
        self.name = spec.name
        self.socketPath = spec.socketPath
        self.history = history
        device = SecondaryConsoleDevice(domain: domain, grants: grants, events: events, sink: { history.append($0) })
        xenbus = XenbusBackend.secondaryConsole(
            UInt32(number), of: domain, name: spec.name, device: device, client: client, log: log)
    }

    /// Queues bytes for the guest; 0 while its frontend is not connected or has no room.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Int { device.sendInput(bytes) }

    /// Whether the guest's frontend has connected its ring.
    public var isConnected: Bool { device.console != nil }

    /// The xenbus state the backend last wrote.
    public var state: XenbusState { xenbus.backendState }

    func stop() {
        device.flush()
        xenbus.teardown()
        device.disconnect()
    }
}

extension PVDomainServices {
    /// One secondary console per channel, numbered from 1 in order: each publishes
    /// `device/console/<n>` and waits in InitWait for the guest's hvc_xen frontend.
    static func attachChannels(
        _ specs: [PVChannelSpec], domain: DomainID, client: XenStoreClient?, grants: any GrantMapper,
        events: any EventChannelAccess, log: @escaping @Sendable (DomainID?, PVHostLogLevel, String) -> Void
    ) throws(LaunchError) -> [PVChannel] {
        guard let client, !specs.isEmpty else { return [] }
        var channels: [PVChannel] = []
        for (index, spec) in specs.enumerated() {
            let channel = PVChannel(
                number: index + 1, spec: spec, domain: domain, grants: grants, events: events, client: client,
                log: { log(domain, .warning, "channel \(spec.name): \($0)") })
            do { try channel.xenbus.start() } catch {
                for c in channels { c.stop() }
                throw .hypervisor("channel \(spec.name): cannot publish console \(index + 1): \(error)")
            }
            channels.append(channel)
        }
        return channels
    }
}
