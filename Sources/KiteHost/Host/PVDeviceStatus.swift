import XenABI

/// Where one split device lives in xenstore and what its two ends say there. Xen: the
/// common part of libxl_diskinfo and libxl_nicinfo.
public struct PVXenbusStatus: Sendable, Equatable {
    /// The device number: a vbd's (xvda = 51712) or a vif's index; the last part of its paths.
    public var devid: UInt32
    public var backendDomain: DomainID
    public var backendPath: String
    public var frontendPath: String
    /// The backend's `state` (a XenbusState number); nil when the node is missing.
    public var state: UInt32?
    /// The frontend's `state`.
    public var frontendState: UInt32?
    /// The frontend's `event-channel` (a vif with split channels: `event-channel-tx`);
    /// nil until the guest wrote it.
    public var eventChannel: UInt32?
}

/// One disk of a domain as block-list shows it. Xen: libxl_diskinfo.
public struct PVDiskStatus: Sendable, Equatable {
    public var spec: PVDiskSpec
    public var xenbus: PVXenbusStatus
    /// The frontend's `ring-ref` (a single-page ring); nil until the guest wrote it.
    public var ringRef: UInt32?
}

/// One vif of a domain as network-list shows it. Xen: libxl_nicinfo.
public struct PVVifStatus: Sendable, Equatable {
    public var spec: PVNetworkSpec
    /// "00:16:3e:…": the MAC it got (the spec's, or a random one).
    public var mac: String
    public var xenbus: PVXenbusStatus
    public var txRingRef: UInt32?
    public var rxRingRef: UInt32?
}

/// How a block-detach or network-detach went.
public struct PVDetachOutcome: Sendable, Equatable {
    /// The guest was asked to let go (the device was connected and `force` not given).
    public var askedGuest: Bool
    /// It did not close within the timeout: the device was removed anyway, as libxl does.
    public var timedOut: Bool
}
