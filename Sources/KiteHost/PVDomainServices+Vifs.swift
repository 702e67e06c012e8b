import XenABI
import XenBackends
import XenControl

extension PVDomainServices {
    /// One netback per vif: each is plugged into the network it names (a host switch, or
    /// the user-mode network), publishes its xenbus directories and waits in InitWait for
    /// the guest's netfront. Host forwards go to the shared user-mode network.
    static func attachVifs(
        _ specs: [PVNetworkSpec], domain: DomainID, client: XenStoreClient?, grants: any GrantMapper,
        events: any EventChannelAccess, networks: NetworkHub, log: @escaping @Sendable (DomainID?, PVHostLogLevel, String) -> Void
    ) throws(LaunchError) -> [NetXenbusDevice] {
        guard let client, !specs.isEmpty else { return [] }
        var vifs: [NetXenbusDevice] = []
        for (index, spec) in specs.enumerated() {
            do {
                var mac = MACAddress.randomXen()
                if let text = spec.mac {
                    guard let parsed = MACAddress(text) else { throw LaunchError.configuration("vif \(index): bad mac \(text)") }
                    mac = parsed
                }
                let network: NetNetwork = spec.network == PVNetworkSpec.userMode ? .user : .virtualSwitch(spec.network)
                let configuration = NetDeviceConfiguration(handle: UInt32(index), mac: mac, network: network)
                for forward in spec.hostForwards {
                    try networks.addPortForward(UserNetworkPortForward(.tcp, hostAddress: "127.0.0.1", hostPort: forward.hostPort,
                                                                       guestPort: forward.guestPort))
                }
                let vif = try NetXenbusDevice(
                    domain: domain, configuration: configuration, grants: grants, events: events, client: client,
                    networks: networks, log: { log(domain, .warning, "vif \(index): \($0)") })
                try vif.start()
                vifs.append(vif)
            } catch {
                for vif in vifs { vif.stop() }
                throw .configuration("vif \(index) (\(spec.network)): \(error)")
            }
        }
        return vifs
    }
}
