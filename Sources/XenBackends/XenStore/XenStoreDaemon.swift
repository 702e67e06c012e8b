import Dispatch
import Synchronization
import XenABI
import XenControl
import XenStore

/// Why a guest could not be attached to the store; the message says what went wrong.
public enum XenStoreDaemonError: Error, Equatable, CustomStringConvertible {
    /// INTRODUCE refused (the errno xenstored would answer).
    case introduce(DomainID, XenError)
    case map(DomainID, GrantError)
    case bind(DomainID, EventChannelPort, XenError)

    public var description: String {
        switch self {
        case .introduce(let d, let e): "xenstore refused to introduce \(d): \(e)"
        case .map(let d, let e):
            "cannot map the xenstore page of \(d) (grant 1, GNTTAB_RESERVED_XENSTORE): \(e); the toolstack seeds it before introducing the domain"
        case .bind(let d, let port, let e):
            "cannot bind to the xenstore \(port) of \(d): \(e); it must be unbound for domain 0"
        }
    }
}

/// xenstored's host half: one `XenStoreServer` (the store of this Kite instance) behind a
/// lock, and the rings of the guests introduced to it. On INTRODUCE a guest's store page is
/// mapped through the reserved grant GNTTAB_RESERVED_XENSTORE, its store port bound, and
/// the ring reset (xenstored's `introduce_domain` + `domain_conn_reset`); each notification
/// on that port schedules a pass on the daemon's serial queue that serves the ring and routes
/// what it produced — replies and watch events to the rings (or local clients) they are for,
/// attachments and detachments to the grant and event-channel layers.
/// Xen: tools/xenstored (domain.c, core.c's main loop).
///
/// Local dom0 clients (backends through `XenStoreClient`, host tools through the xenstore
/// socket) open a `XenStoreLocalConnection`: their watch events (and a socket client's
/// replies) go to its mailbox in store order.
///
/// Locking: `state` (the server and every attachment) is taken for store work. Grant maps,
/// binds and unmaps may run under it (they never call back into the daemon except through
/// event handlers, which only schedule); a local connection's mailbox lock is taken under
/// it (order: `state`, then a mailbox). Guest notifications, logs, local deliveries and
/// mailbox wake-ups run after it is released.
public final class XenStoreDaemon: Sendable {
    struct Attachment: Sendable {
        let domain: DomainID
        let connection: XenStoreConnectionID
        var link: XenStoreRingConnection
        let mapping: GrantMapping
        var localPort: EventChannelPort?
        var remotePort: EventChannelPort
        let signal: BackendSignal
        var ring: XenStoreRingInterface { XenStoreRingInterface(mapping.page) }
    }

    struct State: Sendable {
        var server: XenStoreServer
        var attachments: [DomainID: Attachment] = [:]
        var domainOfConnection: [XenStoreConnectionID: DomainID] = [:]
        /// Mailboxes of local connections (in-process clients, socket clients).
        var locals: [XenStoreConnectionID: XenStoreMailbox] = [:]
    }

    /// What to do once the lock is released.
    struct Effects: Sendable {
        var notify: [EventChannelPort] = []
        var disconnect: [(mapping: GrantMapping, port: EventChannelPort?)] = []
        var signals: [BackendSignal] = []
        var logs: [String] = []
        var local: [XenStoreAction] = []
        /// Local connections whose mailbox received something.
        var wakes: [XenStoreMailbox] = []
        var attachFailures: [DomainID: XenStoreDaemonError] = [:]
    }

    let state: Mutex<State>
    let grants: any GrantMapper
    let events: any EventChannelAccess
    let queue: DispatchQueue
    let log: @Sendable (String) -> Void
    let localDelivery: (@Sendable (XenStoreAction) -> Void)?

    /// `localDelivery` receives replies and watch events addressed to local (dom0)
    /// connections other than guests' rings; `log` gets CONTROL `print` text and ring
    /// failures. `queue` must be serial (a new one if nil).
    public init(server: XenStoreServer = XenStoreServer(), grants: any GrantMapper, events: any EventChannelAccess,
                queue: DispatchQueue? = nil, log: @escaping @Sendable (String) -> Void = { _ in },
                localDelivery: (@Sendable (XenStoreAction) -> Void)? = nil) {
        state = Mutex(State(server: server))
        self.grants = grants
        self.events = events
        self.queue = queue ?? DispatchQueue(label: "kite.xenstored")
        self.log = log
        self.localDelivery = localDelivery
    }

    deinit {
        // Passes hold the daemon strongly, so none is running: release what is attached.
        let attachments = state.withLock { Array($0.attachments.values) }
        for a in attachments {
            if let port = a.localPort { try? events.close(port) }
            try? grants.unmap(a.mapping)
        }
    }

    // MARK: - Toolstack

    /// Runs `body` on the store (as the toolstack, dom0) and routes the actions it returns:
    /// watch events to the rings watching, attachments and detachments.
    public func update(_ body: (inout XenStoreServer) throws(XenError) -> [XenStoreAction]) throws(XenError) {
        var effects = Effects()
        try state.withLock { (s) throws(XenError) in
            let actions = try body(&s.server)
            route(actions, in: &s, &effects)
        }
        perform(effects)
    }

    /// Runs `body` on the store without routing anything (reads, dumps).
    public func inspect<R: Sendable>(_ body: (inout XenStoreServer) throws(XenError) -> R) throws(XenError) -> R {
        try state.withLock { (s) throws(XenError) -> R in try body(&s.server) }
    }

    /// Writes the libxl layout of a new domain (see `XenStoreDomainLayout`).
    public func writeDomainLayout(_ layout: XenStoreDomainLayout) throws(XenError) {
        try update { (server) throws(XenError) in try server.writeDomainLayout(layout) }
    }

    /// Removes the layout (the toolstack's part of destroying a domain).
    public func removeDomainLayout(_ layout: XenStoreDomainLayout) throws(XenError) {
        try update { (server) throws(XenError) in try server.removeDomainLayout(layout) }
    }

    /// INTRODUCE for `domain` with its store port and frame: maps its page, binds the
    /// port, resets the ring and fires @introduceDomain. Introducing again rebinds and
    /// resets (xenstored's domain_conn_reset).
    public func introduceDomain(_ domain: DomainID, port: EventChannelPort, frame: UInt64) throws(XenStoreDaemonError) {
        var effects = Effects()
        let refused = state.withLock { s -> XenError? in
            switch s.server.introduceDomain(domain, port: port, frame: frame) {
            case .failure(let error): return error
            case .success(let (_, actions)):
                route(actions, in: &s, &effects)
                return nil
            }
        }
        perform(effects)
        if let refused { throw .introduce(domain, refused) }
        if let failure = effects.attachFailures[domain] { throw failure }
    }

    /// The domain shut down: @releaseDomain fires once.
    public func domainShutdown(_ domain: DomainID) {
        var effects = Effects()
        state.withLock { s in route(s.server.domainShutdown(domain), in: &s, &effects) }
        perform(effects)
    }

    /// The domain is gone: its connection closes (port closed, page unmapped), the nodes it
    /// owns are removed and @releaseDomain fires.
    public func domainDestroyed(_ domain: DomainID) {
        var effects = Effects()
        state.withLock { s in route(s.server.domainDestroyed(domain), in: &s, &effects) }
        perform(effects)
        // A pass already queued finds nothing: the attachment is gone.
    }

    // MARK: - Observation

    /// Domains whose rings are attached.
    public var attachedDomains: [DomainID] { state.withLock { $0.attachments.keys.sorted() } }

    /// Kite's end of a domain's store channel.
    public func localPort(of domain: DomainID) -> EventChannelPort? {
        state.withLock { $0.attachments[domain]?.localPort }
    }

    /// Whether the ring of `domain` broke (bad index, oversized message).
    public func isBroken(_ domain: DomainID) -> Bool {
        state.withLock { $0.attachments[domain]?.link.isBroken ?? false }
    }

    /// Schedules a pass over `domain`'s ring as a notification would.
    public func requestPass(_ domain: DomainID) {
        state.withLock { $0.attachments[domain]?.signal }?.signal()
    }

    /// Waits until the passes scheduled so far have run. Not from the daemon's queue.
    public func waitUntilIdle() {
        queue.sync {}
    }

    /// Detaches every ring (ports closed, pages unmapped) without telling the store: Kite
    /// is shutting down. Waits for running passes first.
    public func close() {
        queue.sync {}
        var effects = Effects()
        state.withLock { s in
            for domain in s.attachments.keys.sorted() { detach(domain, in: &s, &effects) }
        }
        perform(effects)
    }
}
