import XenABI
import XenControl

/// What the frontend said it can do (its xenstore keys, read at connect). Kite's backend
/// only ever copies (request-rx-copy) and produces no GSO, so these are the features that
/// change what it does.
public struct NetFrontendFeatures: Hashable, Sendable {
    /// feature-rx-notify: the frontend notifies after posting receive buffers. Without it
    /// the backend polls while frames wait for buffers.
    public var receiveNotify: Bool
    /// feature-sg: frames larger than a page may be spread over several receive slots.
    public var scatterGather: Bool
    /// Not feature-no-csum-offload: IPv4 frames may arrive with a blank TCP/UDP checksum.
    public var checksumOffload: Bool
    /// feature-ipv6-csum-offload: the same for IPv6.
    public var ipv6ChecksumOffload: Bool
    /// request-multicast-control: multicast frames pass only if registered.
    public var multicastControl: Bool

    public init(receiveNotify: Bool = true, scatterGather: Bool = true, checksumOffload: Bool = true,
                ipv6ChecksumOffload: Bool = false, multicastControl: Bool = false) {
        self.receiveNotify = receiveNotify
        self.scatterGather = scatterGather
        self.checksumOffload = checksumOffload
        self.ipv6ChecksumOffload = ipv6ChecksumOffload
        self.multicastControl = multicastControl
    }
}

/// Counters of one vif, from the backend's point of view ("transmit" is what the guest sent).
public struct NetStatistics: Hashable, Sendable {
    public var transmitPackets: UInt64 = 0
    public var transmitBytes: UInt64 = 0
    /// Transmit requests answered with an error (e.g. unnegotiated GSO).
    public var transmitErrors: UInt64 = 0
    /// Multicast filter changes (MCAST_ADD/DEL extras).
    public var multicastRequests: UInt64 = 0
    public var receivePackets: UInt64 = 0
    public var receiveBytes: UInt64 = 0
    /// Frames refused because the receive queue was full (the guest posts no buffers).
    public var receiveDroppedQueueFull: UInt64 = 0
    /// Frames that cannot fit the frontend's buffers (larger than a page without
    /// feature-sg).
    public var receiveDroppedTooLarge: UInt64 = 0
    /// Multicast frames the frontend's filter did not ask for.
    public var receiveDroppedFiltered: UInt64 = 0
    /// Receive slots whose grant copy failed (the guest sees the GNTST code as status).
    public var receiveCopyErrors: UInt64 = 0
    /// Partial checksums completed before delivery.
    public var checksumsCompleted: UInt64 = 0
    public var transmitPasses: UInt64 = 0
    public var receivePasses: UInt64 = 0

    public init() {}
}

/// What a transmit pass produced and what the owner must do now.
public struct NetTransmitResult: Sendable {
    /// The packets the guest sent, in order, to be handed to the network.
    public var frames: [NetFrame] = []
    /// Responses were published and the frontend asked to be told.
    public var notify = false
    /// The budget ran out with requests left: schedule another pass.
    public var moreWork = false
    /// The frontend broke the protocol: disconnect (netback's fatal path).
    public var failure: NetDeviceError?
}

/// What a receive pass did and what the owner must do now.
public struct NetReceiveResult: Sendable {
    public var notify = false
    public var moreWork = false
    /// Frames wait and the ring lacks buffers (req_event is armed; a frontend without
    /// feature-rx-notify must be polled).
    public var waitingForBuffers = false
    public var failure: NetDeviceError?
}

/// A vif's device logic — what Linux's xen-netback does per queue — independent of threads,
/// xenstore and the hypervisor: `transmit` moves the guest's packets out of the transmit
/// ring (gathered with grant copy), `queue` + `receive` move frames into buffers the guest
/// posted on the receive ring. A value type: the owner serialises passes.
///
/// States: connected → failed (a `NetDeviceError`: nothing is touched any more) ;
/// any → closed.
public struct NetDevice: Sendable {
    public enum State: Hashable, Sendable {
        case connected
        case failed(NetDeviceError)
        case closed
    }

    /// Packets per transmit pass and frames per receive pass before the owner lets other
    /// work run (netback's NAPI weight and RX_BATCH_SIZE are both 64).
    public static let passBudget = 64
    /// Receive queue bounds (netback: XENVIF_RX_QUEUE_BYTES, half the ring's pages).
    public static let defaultReceiveQueueBytes = 128 * NetInterface.pageSize
    public static let defaultReceiveQueueFrames = 1024

    /// The frontend's domain: every grant the rings name is one of its references.
    public let domain: DomainID
    public let features: NetFrontendFeatures
    public internal(set) var state: State = .connected
    public internal(set) var statistics = NetStatistics()
    /// Registered multicast addresses (XEN_NETIF_EXTRA_TYPE_MCAST_ADD).
    public internal(set) var multicastFilter: Set<MACAddress> = []

    /// Xen: tx.req_cons (rsp_prod_pvt always equals it between packets).
    public internal(set) var transmitConsumer: UInt32
    /// Xen: rx.req_cons (and rx.rsp_prod_pvt).
    public internal(set) var receiveConsumer: UInt32
    var receiveQueue: NetFrameQueue

    /// `transmitStart`/`receiveStart`: the rings' req_cons when the backend attaches — 0
    /// for fresh rings (the frontend runs SHARED_RING_INIT before connecting).
    public init(domain: DomainID, features: NetFrontendFeatures, transmitStart: UInt32 = 0, receiveStart: UInt32 = 0,
                receiveQueueFrames: Int = defaultReceiveQueueFrames, receiveQueueBytes: Int = defaultReceiveQueueBytes) {
        self.domain = domain
        self.features = features
        transmitConsumer = transmitStart
        receiveConsumer = receiveStart
        receiveQueue = NetFrameQueue(maximumFrames: receiveQueueFrames, maximumBytes: receiveQueueBytes)
    }

    public var isConnected: Bool { state == .connected }
    /// Frames waiting for receive buffers.
    public var queuedFrames: Int { receiveQueue.count }
    public var queuedBytes: Int { receiveQueue.byteCount }

    /// Queues a frame for the guest; false (and counted) when the queue is full or the
    /// device no longer runs.
    public mutating func queue(_ frame: NetFrame) -> Bool {
        guard state == .connected else { return false }
        guard receiveQueue.append(frame) else {
            statistics.receiveDroppedQueueFull &+= 1
            return false
        }
        return true
    }

    /// Stops for good; queued frames are dropped.
    public mutating func close() {
        state = .closed
        receiveQueue.removeAll()
    }

    mutating func fail(_ error: NetDeviceError) {
        if state == .connected { state = .failed(error) }
        receiveQueue.removeAll()
    }

    mutating func updateMulticast(_ extra: NetExtraInfo) -> NetResponseStatus {
        statistics.multicastRequests &+= 1
        guard let address = MACAddress(bytes: extra.multicastAddress) else { return .error }
        if extra.type == NetExtraInfoType.multicastDelete.rawValue {
            multicastFilter.remove(address)
            return .okay
        }
        // Xen: xenvif_mcast_add refuses past XEN_NETBK_MCAST_MAX (and non-multicast ones
        // are harmless: they never match a multicast destination).
        if multicastFilter.contains(address) { return .okay }
        guard multicastFilter.count < NetInterface.maximumMulticastAddresses else { return .error }
        multicastFilter.insert(address)
        return .okay
    }

    mutating func count(_ body: (inout NetStatistics) -> Void) { body(&statistics) }
}
