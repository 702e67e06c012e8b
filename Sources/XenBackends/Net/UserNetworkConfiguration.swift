/// A host port forwarded into the user-mode network: connections (datagrams) to
/// `hostAddress:hostPort` on the host reach `guestAddress:guestPort` inside. QEMU's
/// `hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22`.
public struct UserNetworkPortForward: Hashable, Sendable, CustomStringConvertible {
    public enum Transport: String, Hashable, Sendable { case tcp, udp }

    public var transport: Transport
    /// Dotted IPv4; "0.0.0.0" listens on every host address.
    public var hostAddress: String
    public var hostPort: UInt16
    public var guestAddress: String
    public var guestPort: UInt16

    public init(_ transport: Transport = .tcp, hostAddress: String = "127.0.0.1", hostPort: UInt16,
                guestAddress: String = UserNetworkConfiguration.defaultGuestAddress, guestPort: UInt16) {
        self.transport = transport
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.guestAddress = guestAddress
        self.guestPort = guestPort
    }

    /// Parses QEMU's spelling: "tcp:[hostaddr]:hostport-[guestaddr]:guestport" (the
    /// transport defaults to tcp; empty addresses are 127.0.0.1 and 10.0.2.15).
    public init?(_ text: String) {
        var rest = Substring(text)
        var transport = Transport.tcp
        if let colon = rest.firstIndex(of: ":"), let t = Transport(rawValue: String(rest[..<colon])) {
            transport = t
            rest = rest[rest.index(after: colon)...]
        }
        let sides = rest.split(separator: "-", omittingEmptySubsequences: false)
        guard sides.count == 2 else { return nil }
        func endpoint(_ s: Substring, defaultAddress: String) -> (String, UInt16)? {
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            switch parts.count {
            case 1: return UInt16(parts[0]).map { (defaultAddress, $0) }
            case 2: return UInt16(parts[1]).map { (parts[0].isEmpty ? defaultAddress : String(parts[0]), $0) }
            default: return nil
            }
        }
        guard let host = endpoint(sides[0], defaultAddress: "127.0.0.1"),
              let guest = endpoint(sides[1], defaultAddress: UserNetworkConfiguration.defaultGuestAddress) else { return nil }
        self.init(transport, hostAddress: host.0, hostPort: host.1, guestAddress: guest.0, guestPort: guest.1)
    }

    public var description: String {
        "\(transport.rawValue):\(hostAddress):\(hostPort)-\(guestAddress):\(guestPort)"
    }
}

/// How the user-mode network is set up. The defaults are slirp's (and QEMU's): the
/// network 10.0.2.0/24, the host (gateway) 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15.
public struct UserNetworkConfiguration: Hashable, Sendable {
    public static let defaultGuestAddress = "10.0.2.15"

    public var network = "10.0.2.0"
    public var netmask = "255.255.255.0"
    /// The guest's view of the host: connections to it reach the host's loopback.
    public var host = "10.0.2.2"
    public var dhcpStart = defaultGuestAddress
    public var nameserver = "10.0.2.3"
    /// Sent to DHCP clients (slirp's vhostname).
    public var hostname: String? = nil
    /// Isolate the guests from the outside (slirp's `restricted`): only port forwards and
    /// the host's services remain.
    public var restricted = false
    /// Refuse connections to the host's 127.0.0.1 through 10.0.2.2.
    public var disableHostLoopback = false
    /// Slirp's interface MTU and MRU (slirp's defaults are 1500).
    public var mtu = 1500
    public var portForwards: [UserNetworkPortForward] = []
    /// Bounds of the frames waiting for slirp's thread.
    public var inboundQueueFrames = 1024
    public var inboundQueueBytes = 1 << 20

    public init(portForwards: [UserNetworkPortForward] = []) {
        self.portForwards = portForwards
    }
}

/// Why the user-mode network could not start or change; the message says what to do.
public enum UserNetworkError: Error, Hashable, Sendable, CustomStringConvertible {
    case badAddress(String)
    case creationFailed
    case portForward(UserNetworkPortForward)
    case wakeup(Int32)
    case closed

    public var description: String {
        switch self {
        case .badAddress(let a): "\"\(a)\" is not a dotted IPv4 address"
        case .creationFailed: "libslirp refused the configuration (slirp_new returned NULL): check the addresses"
        case .portForward(let f): "cannot forward \(f): the host port is probably in use"
        case .wakeup(let e): "cannot create the user-mode network's wake-up eventfd (errno \(e))"
        case .closed: "the user-mode network is closed"
        }
    }
}
