import XenABI

/// Which network a vif is plugged into.
public enum NetNetwork: Hashable, Sendable, CustomStringConvertible {
    /// A named virtual switch of the host (`VirtualSwitch`): the vifs of every domain that
    /// names it share one Ethernet segment. xl.cfg: `bridge=<name>`.
    case virtualSwitch(String)
    /// The host's user-mode network (libslirp: NAT to the outside, DHCP, DNS), shared by
    /// every vif that names it. xl.cfg: Kite's `type=user` (no bridge).
    case user

    public var description: String {
        switch self {
        case .virtualSwitch(let name): "switch \(name)"
        case .user: "user-mode network"
        }
    }
}

/// How one vif is set up: what the toolstack knows before the guest connects.
public struct NetDeviceConfiguration: Hashable, Sendable {
    /// The vif's index in the domain (device/vif/<handle>). xl.cfg: position in `vif=[...]`.
    public var handle: UInt32
    /// The guest's MAC. xl.cfg: `mac=`; libxl picks 00:16:3e:xx:xx:xx when absent.
    public var mac: MACAddress
    public var network: NetNetwork
    /// Written to the `mtu` key for the frontend; Kite does not enforce it (frames up to
    /// 64 KiB pass with feature-sg).
    public var mtu: Int
    /// Bounds of the frames waiting for the guest's receive buffers.
    public var receiveQueueFrames: Int
    public var receiveQueueBytes: Int

    public init(handle: UInt32 = 0, mac: MACAddress = .randomXen(), network: NetNetwork = .user, mtu: Int = NetFrame.standardMTU,
                receiveQueueFrames: Int = NetDevice.defaultReceiveQueueFrames,
                receiveQueueBytes: Int = NetDevice.defaultReceiveQueueBytes) {
        self.handle = handle
        self.mac = mac
        self.network = network
        self.mtu = mtu
        self.receiveQueueFrames = receiveQueueFrames
        self.receiveQueueBytes = receiveQueueBytes
    }

    /// The features the backend publishes in its directory before InitWait, exactly the
    /// ones Kite implements (netback_probe writes more: GSO, ctrl ring, XDP headroom,
    /// multi-queue, dynamic multicast control — Kite advertises none of them, so frontends do not use them).
    public static let advertisedFeatures: [(key: String, value: String)] = [
        (NetInterfaceKeys.featureSG, "1"),
        (NetInterfaceKeys.featureRxCopy, "1"),
        (NetInterfaceKeys.featureRxFlip, "0"),
        (NetInterfaceKeys.featureMulticastControl, "1"),
        (NetInterfaceKeys.featureSplitEventChannels, "1"),
        (NetInterfaceKeys.featureIPv6ChecksumOffload, "1"),
    ]

    /// The toolstack's keys in the backend directory (libxl's vif device), the features
    /// after them. `hotplug-status` is what Xen's vif-bridge script writes once the vif is
    /// on its bridge: Kite's vif is on its network from the start.
    public var backendKeys: [(key: String, value: String)] {
        var keys: [(key: String, value: String)] = [
            (NetInterfaceKeys.handle, String(handle)),
            (NetInterfaceKeys.mac, mac.description),
            (NetInterfaceKeys.mtu, String(mtu)),
            (NetInterfaceKeys.type, "vif"),
            (NetInterfaceKeys.hotplugStatus, "connected"),
        ]
        if case .virtualSwitch(let name) = network { keys.append((NetInterfaceKeys.bridge, name)) }
        return keys + Self.advertisedFeatures
    }

    /// The toolstack's keys in the frontend directory (besides backend, backend-id, state).
    public var frontendKeys: [(key: String, value: String)] {
        [(NetInterfaceKeys.handle, String(handle)), (NetInterfaceKeys.mac, mac.description),
         (NetInterfaceKeys.mtu, String(mtu))]
    }
}
