/// One entry of xl.cfg's `vif = [ ... ]` (xl-network-configuration(5)): comma-separated
/// `key=value` pairs, all optional ('' is a NIC with every default).
///
/// Kite has no host bridges. `bridge=NAME` names a virtual switch inside kited that connects
/// every vif given the same name; `bridge=slirp`, and a vif without `bridge=`, is user-mode
/// networking: NAT to the host's network through libslirp, no root needed. Kite adds one
/// key to xl's: `forward=HOSTPORT:GUESTPORT ...` (space-separated TCP port forwards from
/// the host into a user-mode vif).
public struct XLVifSpec: Equatable, Sendable {
    /// The switch name that means user-mode networking (libslirp NAT); also the default.
    public static let userModeBridge = "slirp"

    public var mac: MACAddress?
    public var bridge: String?
    public var model: String?
    /// Addresses from `ip=` (space-separated in xl).
    public var ip: [String]
    /// `vif` or `ioemu` (HVM only in xl).
    public var type: String?
    public var vifname: String?
    public var script: String?
    public var backend: String?
    public var gatewaydev: String?
    public var rate: Rate?
    public var mtu: Int?
    public var devid: Int?
    /// Kite: TCP forwards from host ports into the guest (user-mode networking only).
    public var forwards: [PortForward]

    public init(
        mac: MACAddress? = nil, bridge: String? = nil, model: String? = nil, ip: [String] = [],
        type: String? = nil, vifname: String? = nil, script: String? = nil, backend: String? = nil,
        gatewaydev: String? = nil, rate: Rate? = nil, mtu: Int? = nil, devid: Int? = nil,
        forwards: [PortForward] = []
    ) {
        self.mac = mac
        self.bridge = bridge
        self.model = model
        self.ip = ip
        self.type = type
        self.vifname = vifname
        self.script = script
        self.backend = backend
        self.gatewaydev = gatewaydev
        self.rate = rate
        self.mtu = mtu
        self.devid = devid
        self.forwards = forwards
    }

    /// The switch this vif plugs into.
    public var switchName: String { bridge ?? Self.userModeBridge }
    /// Whether it is the user-mode (slirp) uplink.
    public var isUserMode: Bool { switchName == Self.userModeBridge }

    /// The spec in xl's syntax, which parses back to this value (the control API carries
    /// vifs in it). Values with commas cannot be written in xl's vif syntax and are refused
    /// by the parser, so none appear here.
    public var canonical: String {
        var parts: [String] = []
        if let mac { parts.append("mac=\(mac)") }
        if let bridge { parts.append("bridge=\(bridge)") }
        if let model { parts.append("model=\(model)") }
        if !ip.isEmpty { parts.append("ip=\(ip.joined(separator: " "))") }
        if let type { parts.append("type=\(type)") }
        if let vifname { parts.append("vifname=\(vifname)") }
        if let script { parts.append("script=\(script)") }
        if let backend { parts.append("backend=\(backend)") }
        if let gatewaydev { parts.append("gatewaydev=\(gatewaydev)") }
        if let rate { parts.append("rate=\(rate.xlSyntax)") }
        if let mtu { parts.append("mtu=\(mtu)") }
        if let devid { parts.append("devid=\(devid)") }
        if !forwards.isEmpty { parts.append("forward=" + forwards.map(\.description).joined(separator: " ")) }
        return parts.joined(separator: ",")
    }

    /// `rate=RATE/s[@INTERVAL]`: a credit of bytesPerSecond × interval replenished every
    /// interval (default 50 ms).
    public struct Rate: Equatable, Sendable, CustomStringConvertible {
        public var bytesPerSecond: UInt64
        public var intervalMicroseconds: UInt64

        public init(bytesPerSecond: UInt64, intervalMicroseconds: UInt64 = 50_000) {
            self.bytesPerSecond = bytesPerSecond
            self.intervalMicroseconds = intervalMicroseconds
        }

        public var description: String { "\(bytesPerSecond)B/s@\(intervalMicroseconds)us" }
    }
}

extension XLVifSpec {
    /// `HOSTPORT:GUESTPORT`: TCP connections to the host's port reach the guest's.
    public struct PortForward: Equatable, Sendable, CustomStringConvertible {
        public var hostPort: UInt16
        public var guestPort: UInt16
        public init(hostPort: UInt16, guestPort: UInt16) {
            self.hostPort = hostPort
            self.guestPort = guestPort
        }
        public var description: String { "\(hostPort):\(guestPort)" }
    }

    /// A 48-bit Ethernet address, written as six colon-separated hex pairs.
    public struct MACAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
        public var bytes: [UInt8]

        /// Parses `00:16:3e:74:3d:76` (or with dashes); nil if it is not six hex pairs.
        public init?(_ text: String) {
            let separator: Character = text.contains("-") ? "-" : ":"
            let parts = text.split(separator: separator, omittingEmptySubsequences: false)
            guard parts.count == 6 else { return nil }
            var bytes: [UInt8] = []
            for p in parts {
                guard p.count == 2, let b = UInt8(p, radix: 16) else { return nil }
                bytes.append(b)
            }
            self.bytes = bytes
        }

        public init?(bytes: [UInt8]) {
            guard bytes.count == 6 else { return nil }
            self.bytes = bytes
        }

        /// Bit 0 of the first byte: a group address, which no NIC may own.
        public var isMulticast: Bool { (bytes.first ?? 0) & 1 != 0 }

        public var description: String {
            bytes.map { b in
                let h = String(b, radix: 16)
                return h.count < 2 ? "0" + h : h
            }.joined(separator: ":")
        }
    }
}
