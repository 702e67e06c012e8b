import Dispatch
import Synchronization
import XenABI
import XenControl

/// Why a block backend could not connect to its frontend; the message says what happened.
public enum BlockBackendError: Error, Equatable, CustomStringConvertible {
    case transport(BlockTransportError)
    case map(DomainID, GrantReference, GrantError)
    case bind(DomainID, EventChannelPort, XenError)
    /// close() was called.
    case closed

    public var description: String {
        switch self {
        case .transport(let e): e.description
        case .map(let d, let ref, let e): "mapping ring page \(ref) of \(d): \(e)"
        case .bind(let d, let port, let e): "binding to \(port) of \(d): \(e)"
        case .closed: "the block backend is closed"
        }
    }

    /// The errno for xenbus_dev_fatal.
    public var errno: XenError {
        switch self {
        case .transport(let e): e.errno
        case .map: .EFAULT
        case .bind(_, _, let e): e
        case .closed: .ENODEV
        }
    }
}

/// One virtual disk of a guest, served the way Linux's blkback serves it: the image is
/// opened at construction; `connect` maps the frontend's ring pages and binds its event
/// channel; every notification schedules a pass on the backend's serial queue that
/// answers requests (`BlockDevice`); `disconnect` releases ring and port (the frontend may
/// connect again, as after GRUB hands the disk to Linux); `close` also flushes and closes
/// the image.
///
/// A frontend that breaks its ring (req_prod more than a ring ahead) is disconnected and
/// `onFailure` is told (the xenbus side switches to Closing); nothing else is affected.
///
/// Locking: `state` is held for a pass (device work on the image and the guest's pages)
/// and released before the guest is notified or `onFailure` runs.
public final class BlockBackend: Sendable {
    public typealias FailureHandler = @Sendable (BlockRingError) -> Void

    private struct Connection {
        var back: BlockBackRing
        var ringMappings: [GrantMapping]
        var localPort: EventChannelPort
        var signal: BackendSignal
    }

    private struct State: @unchecked Sendable {
        var device: BlockDevice
        var connection: Connection?
        var closed = false
        var onFailure: FailureHandler?
        var lastFailure: BlockRingError?
    }

    public let domain: DomainID
    public let configuration: BlockDeviceConfiguration
    /// The disk's size in 512-byte sectors. Xen: the `sectors` key.
    public let sectors: UInt64
    public let features: BlockFeatures
    private let grants: any GrantMapper
    private let events: any EventChannelAccess
    private let queue: DispatchQueue
    private let budget: Int
    private let state: Mutex<State>

    /// Opens the image `configuration` describes. `queue` is where passes run (a new
    /// serial queue if nil; it must be serial). `requestsPerPass` bounds one service call;
    /// a turn on the queue makes at most 256 of them before yielding to other work.
    public init(domain: DomainID, configuration: BlockDeviceConfiguration, grants: any GrantMapper,
                events: any EventChannelAccess, queue: DispatchQueue? = nil,
                requestsPerPass: Int = 64) throws(BlockConfigurationError) {
        let image = try configuration.openImage()
        self.domain = domain
        self.configuration = configuration
        self.grants = grants
        self.events = events
        self.queue = queue ?? DispatchQueue(label: "kite.block.d\(domain.rawValue).\(configuration.virtualDevice.number)")
        budget = max(requestsPerPass, 1)
        sectors = image.sectorCount
        features = BlockFeatures(flush: !image.isReadOnly, discard: configuration.discardEnabled && image.supportsDiscard,
                                 maxIndirectSegments: configuration.maxIndirectSegments)
        let device = BlockDevice(domain: domain, image: image, grants: grants, features: features)
        state = Mutex(State(device: device))
    }

    deinit {
        // No pass can be running: passes hold the backend strongly.
        state.withLock { s in
            if let c = s.connection { release(c) }
            s.connection = nil
            if !s.closed { s.device.image.close() }
        }
    }

    /// The keys blkback publishes for this disk (see `BlockXenStoreKeys.backendFeatures`).
    public var backendKeys: [(String, String)] {
        BlockXenStoreKeys.backendFeatures(sectors: sectors, info: configuration.info, features: features,
                                          maxRingPageOrder: configuration.maxRingPageOrder)
    }

    public var isConnected: Bool { state.withLock { $0.connection != nil } }
    public var statistics: BlockStatistics { state.withLock { $0.device.statistics } }
    /// Why the ring was last disconnected by the backend, if it was.
    public var lastFailure: BlockRingError? { state.withLock { $0.lastFailure } }
    /// Kite's end of the event channel while connected.
    public var localPort: EventChannelPort? { state.withLock { $0.connection?.localPort } }

    /// Called (on a global queue) after the frontend broke its ring and was disconnected.
    public func setFailureHandler(_ handler: FailureHandler?) {
        state.withLock { $0.onFailure = handler }
    }

    /// Maps the ring and binds the event channel the frontend published; any previous
    /// connection is released first. Reads the frontend's keys with `read` (relative to
    /// its directory). Call from outside the queue.
    public func connect(readingFrontend read: (String) -> String?) throws(BlockBackendError) {
        switch BlockFrontendTransport.read(maxRingPageOrder: configuration.maxRingPageOrder, read) {
        case .failure(let e): throw .transport(e)
        case .success(let transport): try connect(transport)
        }
    }

    public func connect(_ transport: BlockFrontendTransport) throws(BlockBackendError) {
        disconnect()
        guard transport.protocolABI == BlockInterface.protocolX86_64 else {
            throw .transport(.unsupportedProtocol(transport.protocolABI))
        }
        guard !state.withLock({ $0.closed }) else { throw .closed }
        var mappings: [GrantMapping] = []
        for ref in transport.ringReferences {
            do { mappings.append(try grants.map(domain: domain, ref: ref, readOnly: false)) } catch {
                for m in mappings { try? grants.unmap(m) }
                throw .map(domain, ref, error)
            }
        }
        guard let ring = BlockRing(pages: mappings.map(\.page)) else {
            for m in mappings { try? grants.unmap(m) }
            throw .transport(.ringTooLarge(order: UInt32(transport.ringReferences.count), maximum: configuration.maxRingPageOrder))
        }
        let signal = BackendSignal(queue: queue) { [weak self] in self?.run() }
        let local: EventChannelPort
        do {
            local = try events.bindInterdomain(remoteDomain: domain, remotePort: transport.eventChannel) { _ in signal.signal() }
        } catch {
            for m in mappings { try? grants.unmap(m) }
            throw .bind(domain, transport.eventChannel, error)
        }
        let connection = Connection(back: BlockBackRing(attaching: ring), ringMappings: mappings, localPort: local,
                                    signal: signal)
        state.withLock {
            $0.connection = connection
            $0.lastFailure = nil
        }
        // The bind's first event may have run before the connection existed.
        signal.signal()
    }

    /// Releases ring and port (idempotent); waits for a running pass to end. The image
    /// stays open. Call from outside the queue.
    public func disconnect() {
        queue.sync {
            let connection = state.withLock { s -> Connection? in
                defer { s.connection = nil }
                return s.connection
            }
            if let connection { release(connection) }
        }
    }

    /// Disconnects, then flushes and closes the image. Idempotent; call from outside the queue.
    public func close() {
        disconnect()
        queue.sync {
            state.withLock { s in
                guard !s.closed else { return }
                s.closed = true
                s.device.image.close()
            }
        }
    }

    /// Schedules a pass as a notification from the guest would.
    public func requestPass() {
        state.withLock { $0.connection?.signal }?.signal()
    }

    /// Runs a pass now on the queue and waits for it (what a notification would cause; the
    /// image is not synced: that is the guest's BLKIF_OP_FLUSH_DISKCACHE). Call from
    /// outside the queue.
    public func serviceNow() {
        queue.sync { run() }
    }

    /// One turn on the queue: service calls until the ring is idle, the guest notified
    /// whenever a response asked for it; after `turnsPerPass` calls the queue is yielded
    /// and another turn scheduled.
    private func run() {
        for _ in 0..<Self.turnsPerPass {
            let step = state.withLock { s -> (notify: EventChannelPort?, more: Bool, broken: (Connection, BlockRingError, FailureHandler?)?) in
                guard var connection = s.connection else { return (nil, false, nil) }
                let result = s.device.service(&connection.back, budget: budget)
                if result.notifyGuest || result.requestsHandled > 0 {
                    connection.ringMappings.forEach { $0.noteWrite() }
                }
                if let failure = result.failure {
                    s.connection = nil
                    s.lastFailure = failure
                    return (nil, false, (connection, failure, s.onFailure))
                }
                s.connection = connection
                if result.notifyGuest { s.device.noteNotification() }
                return (result.notifyGuest ? connection.localPort : nil, result.moreWork, nil)
            }
            if let port = step.notify { try? events.notify(port) }
            if let broken = step.broken {
                release(broken.0)
                // Off the queue, so the handler may call back into the backend.
                if let handler = broken.2 {
                    let failure = broken.1
                    DispatchQueue.global().async { handler(failure) }
                }
                return
            }
            guard step.more else { return }
        }
        requestPass()
    }

    /// Service calls per turn before other work on the queue gets a chance.
    private static let turnsPerPass = 256

    private func release(_ connection: Connection) {
        try? events.close(connection.localPort)
        for m in connection.ringMappings { try? grants.unmap(m) }
    }
}
