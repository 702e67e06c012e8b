import Synchronization

/// The host's networks: named virtual switches, made on first use, and the user-mode
/// network (slirp), started on first use behind a switch of its own so that every vif on
/// `.user` shares it. One per host; `close` stops slirp and forgets the switches.
public final class NetworkHub: Sendable {
    private struct State: Sendable {
        var switches: [String: VirtualSwitch] = [:]
        var userSwitch: VirtualSwitch?
        var userNetwork: UserNetwork?
        var userPort: VirtualSwitchPort?
        var closed = false
    }

    public let userConfiguration: UserNetworkConfiguration
    private let state = Mutex(State())

    public init(userNetwork configuration: UserNetworkConfiguration = UserNetworkConfiguration()) {
        userConfiguration = configuration
    }

    deinit { close() }

    /// The switch called `name`, created if new.
    public func virtualSwitch(named name: String) -> VirtualSwitch {
        state.withLock { s in
            if let existing = s.switches[name] { return existing }
            let made = VirtualSwitch(name: name)
            s.switches[name] = made
            return made
        }
    }

    /// The user-mode network, if it was started.
    public var userNetwork: UserNetwork? { state.withLock { $0.userNetwork } }
    /// The switch in front of the user-mode network, if it was started.
    public var userSwitch: VirtualSwitch? { state.withLock { $0.userSwitch } }

    /// Plugs `sink` into `network` and returns its port: frames for the sink arrive by its
    /// `deliver`; the sink sends into the network through the port's `deliver` (make the
    /// port its uplink). Starting the user-mode network can fail (a port forward in use).
    public func plug(_ sink: any NetFrameSink, into network: NetNetwork, label: String = "")
        throws(UserNetworkError) -> VirtualSwitchPort
    {
        switch network {
        case .virtualSwitch(let name):
            return virtualSwitch(named: name).attach(sink, label: label)
        case .user:
            return try userSwitchStarted().attach(sink, label: label)
        }
    }

    /// Plugs a vif into the network its configuration names and makes the port its uplink.
    @discardableResult
    public func plug(_ vif: NetVif) throws(UserNetworkError) -> VirtualSwitchPort {
        let port = try plug(vif, into: vif.configuration.network,
                            label: "vif\(vif.domain.rawValue).\(vif.configuration.handle)")
        vif.setUplink(port)
        return port
    }

    /// Adds a host port forward to the user-mode network, starting it if needed (xl's
    /// per-vif forwards all land in the one shared slirp).
    public func addPortForward(_ forward: UserNetworkPortForward) throws(UserNetworkError) {
        _ = try userSwitchStarted()
        guard let network = userNetwork else { throw .closed }
        try network.addPortForward(forward)
    }

    private func userSwitchStarted() throws(UserNetworkError) -> VirtualSwitch {
        let (existing, wasClosed) = state.withLock { ($0.userSwitch, $0.closed) }
        if let existing { return existing }
        guard !wasClosed else { throw .closed }
        // Started outside the lock (it spawns a thread); a racing second start is closed.
        let network = try UserNetwork(configuration: userConfiguration)
        let fabric = VirtualSwitch(name: "user")
        let port = fabric.attach(network, label: "slirp")
        network.setUplink(port)
        let (winner, closed) = state.withLock { s -> (VirtualSwitch, Bool) in
            if let existing = s.userSwitch { return (existing, false) }
            if s.closed { return (fabric, true) }
            s.userSwitch = fabric
            s.userNetwork = network
            s.userPort = port
            return (fabric, false)
        }
        if closed {
            network.close()
            throw .closed
        }
        if winner !== fabric { network.close() }
        return winner
    }

    /// Stops the user-mode network and forgets every switch. Idempotent.
    public func close() {
        let (network, port) = state.withLock { s -> (UserNetwork?, VirtualSwitchPort?) in
            s.closed = true
            defer {
                s.userNetwork = nil
                s.userPort = nil
                s.userSwitch = nil
                s.switches.removeAll()
            }
            return (s.userNetwork, s.userPort)
        }
        port?.detach()
        network?.close()
    }
}
