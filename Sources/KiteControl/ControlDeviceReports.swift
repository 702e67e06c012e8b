import XenABI

/// One disk of a domain (`block-list`, `block-attach`): what its spec asked for and what
/// xenstore says of its two ends. Xen: libxl_diskinfo.
public struct BlockDeviceInfo: Codable, Sendable, Equatable {
    /// The guest (xl block-list prints it as `handle`).
    public var domain: DomainID
    /// The guest's name for it ("xvdb").
    public var vdev: String
    /// The vbd's device number (xvdb = 51728): the last part of its xenstore paths.
    public var devid: UInt32
    public var backendDomain: DomainID
    /// The backend's XenbusState (2 InitWait, 4 Connected, 5 Closing, 6 Closed); nil: no node.
    public var state: UInt32?
    public var frontendState: UInt32?
    /// The frontend's `event-channel`; nil until the guest connected.
    public var eventChannel: UInt32?
    /// The frontend's `ring-ref`; nil until the guest connected (or with a multi-page ring).
    public var ringRef: UInt32?
    public var backendPath: String
    public var frontendPath: String
    /// The image file on kited's host.
    public var target: String
    public var readOnly: Bool
    /// "disk" or "cdrom".
    public var deviceType: String

    public init(
        domain: DomainID, vdev: String, devid: UInt32, backendDomain: DomainID, state: UInt32?, frontendState: UInt32?,
        eventChannel: UInt32?, ringRef: UInt32?, backendPath: String, frontendPath: String, target: String,
        readOnly: Bool, deviceType: String
    ) {
        self.domain = domain
        self.vdev = vdev
        self.devid = devid
        self.backendDomain = backendDomain
        self.state = state
        self.frontendState = frontendState
        self.eventChannel = eventChannel
        self.ringRef = ringRef
        self.backendPath = backendPath
        self.frontendPath = frontendPath
        self.target = target
        self.readOnly = readOnly
        self.deviceType = deviceType
    }

    enum CodingKeys: String, CodingKey {
        case vdev, devid, state, target
        case domain = "domid"
        case backendDomain = "backend_id"
        case frontendState = "frontend_state"
        case eventChannel = "evtch"
        case ringRef = "ring_ref"
        case backendPath = "backend"
        case frontendPath = "frontend"
        case readOnly = "read_only"
        case deviceType = "devtype"
    }
}

/// One vif of a domain (`network-list`, `network-attach`). Xen: libxl_nicinfo.
public struct NetworkDeviceInfo: Codable, Sendable, Equatable {
    public var domain: DomainID
    /// The vif's index (device/vif/<devid>): xl's Idx and handle.
    public var devid: UInt32
    public var mac: String
    /// The virtual switch it is on, or "slirp" for the user-mode network.
    public var bridge: String
    public var backendDomain: DomainID
    public var state: UInt32?
    public var frontendState: UInt32?
    /// The frontend's `event-channel` (`event-channel-tx` with split channels).
    public var eventChannel: UInt32?
    public var txRingRef: UInt32?
    public var rxRingRef: UInt32?
    public var backendPath: String
    public var frontendPath: String

    public init(
        domain: DomainID, devid: UInt32, mac: String, bridge: String, backendDomain: DomainID, state: UInt32?,
        frontendState: UInt32?, eventChannel: UInt32?, txRingRef: UInt32?, rxRingRef: UInt32?, backendPath: String,
        frontendPath: String
    ) {
        self.domain = domain
        self.devid = devid
        self.mac = mac
        self.bridge = bridge
        self.backendDomain = backendDomain
        self.state = state
        self.frontendState = frontendState
        self.eventChannel = eventChannel
        self.txRingRef = txRingRef
        self.rxRingRef = rxRingRef
        self.backendPath = backendPath
        self.frontendPath = frontendPath
    }

    enum CodingKeys: String, CodingKey {
        case devid, mac, bridge, state
        case domain = "domid"
        case backendDomain = "backend_id"
        case frontendState = "frontend_state"
        case eventChannel = "evtch"
        case txRingRef = "tx_ring_ref"
        case rxRingRef = "rx_ring_ref"
        case backendPath = "backend"
        case frontendPath = "frontend"
    }
}

/// `block-detach`, `network-detach`: which device went and how.
public struct DeviceDetachReport: Codable, Sendable, Equatable {
    public var domain: DomainID
    /// "vbd" or "vif".
    public var type: String
    public var devid: UInt32
    /// The guest was asked to let go (its device was connected and `force` not given).
    public var askedGuest: Bool
    /// It did not let go within 10 s: kited removed the device anyway, as libxl does.
    public var timedOut: Bool

    public init(domain: DomainID, type: String, devid: UInt32, askedGuest: Bool, timedOut: Bool) {
        self.domain = domain
        self.type = type
        self.devid = devid
        self.askedGuest = askedGuest
        self.timedOut = timedOut
    }

    enum CodingKeys: String, CodingKey {
        case type, devid
        case domain = "domid"
        case askedGuest = "asked_guest"
        case timedOut = "timed_out"
    }
}
