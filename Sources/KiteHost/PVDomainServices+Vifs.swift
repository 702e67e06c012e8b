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
    ) throws(LaunchError) -> [AttachedVif] {
        guard let client, !specs.isEmpty else { return [] }
        var vifs: [AttachedVif] = []
        for (index, spec) in specs.enumerated() {
            do {
                let vif = try startVif(
                    spec, handle: UInt32(index), domain: domain, client: client, grants: grants, events: events,
                    networks: networks, log: log)
                vifs.append(AttachedVif(spec: spec, device: vif))
            } catch {
                for vif in vifs { vif.device.stop() }
                throw error
            }
        }
        return vifs
    }

    /// Plugs one vif into its network and starts its netback (directories written, InitWait).
    static func startVif(
        _ spec: PVNetworkSpec, handle: UInt32, domain: DomainID, client: XenStoreClient, grants: any GrantMapper,
        events: any EventChannelAccess, networks: NetworkHub, log: @escaping @Sendable (DomainID?, PVHostLogLevel, String) -> Void
    ) throws(LaunchError) -> NetXenbusDevice {
        do {
            var mac = MACAddress.randomXen()
            if let text = spec.mac {
                guard let parsed = MACAddress(text) else { throw LaunchError.configuration("vif \(handle): bad mac \(text)") }
                mac = parsed
            }
            let network: NetNetwork = spec.network == PVNetworkSpec.userMode ? .user : .virtualSwitch(spec.network)
            let configuration = NetDeviceConfiguration(handle: handle, mac: mac, network: network)
            for forward in spec.hostForwards {
                try networks.addPortForward(UserNetworkPortForward(.tcp, hostAddress: "127.0.0.1", hostPort: forward.hostPort,
                                                                   guestPort: forward.guestPort))
            }
            let vif = try NetXenbusDevice(
                domain: domain, configuration: configuration, grants: grants, events: events, client: client,
                networks: networks, log: { log(domain, .warning, "vif \(handle): \($0)") },
                onStateChange: { state in
                    // An event, not a problem: shown by kited's log and `kite run --verbose`.
                    if state == .connected { log(domain, .info, "vif \(handle): connected") }
                })
            do { try vif.start() } catch {
                vif.stop()
                throw error
            }
            return vif
        } catch {
            throw .configuration("vif \(handle) (\(spec.network)): \(error)")
        }
    }
}
