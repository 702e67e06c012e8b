import XenABI

/// The xenstored logic, independent of any transport: the tree, permissions, quotas,
/// transactions, watches and domain bookkeeping. Requests go in as messages, effects come out
/// as `XenStoreAction`s for the owner to perform (replies and events to route, rings to
/// attach or detach). A value type: the owner keeps it behind one lock (or an actor), and a
/// copy is a snapshot.
///
/// Behaviour follows C xenstored (tools/xenstored in xen-project/xen): a request is processed
/// completely before the next; events caused by a request precede its reply (except the
/// immediate event of WATCH, which follows the OK); a request's errors are XS_ERROR replies,
/// never a broken connection.
public struct XenStoreServer: Sendable {
    /// Per-connection state. Xen: `struct connection`.
    struct Connection: Sendable {
        let domain: DomainID
        /// A guest's ring connection (created by INTRODUCE) rather than a local client.
        let isDomainRing: Bool
        /// Stopped after a protocol error; requests are dropped. Xen: conn->is_ignored.
        var ignored = false
        var watches: [XenStoreWatch] = []
        /// Open transactions in creation order.
        var transactionIDs: [UInt32] = []
        /// Xen: conn->next_transaction_id (0 is never handed out).
        var nextTransactionID: UInt32 = 0
        /// Set by SET_TARGET: the domain this one may act for.
        var target: DomainID?
    }

    /// What the store knows about a domain. Xen: `struct domain`.
    struct Domain: Sendable {
        /// Global generation when the store learnt of the domain: permission entries written
        /// before it are ignored for this domain. Xen: domain->generation.
        var generation: UInt64
        var introduced = false
        var connection: XenStoreConnectionID?
        var port: EventChannelPort?
        /// @releaseDomain already fired for a shutdown. Xen: domain->shutdown.
        var shutdown = false
    }

    struct TransactionKey: Hashable, Sendable {
        var connection: XenStoreConnectionID
        var id: UInt32
    }

    /// One request in progress. Xen: the (conn, conn->transaction, conn->in) triple.
    struct Request {
        var connection: XenStoreConnectionID?
        var caller: XenStoreCaller
        var implicitDomain: UInt32
        var transaction: TransactionKey?
        var message: XenStoreMessage

        var unprivileged: Bool { !caller.privileged }
    }

    public internal(set) var quotas: XenStoreQuotas
    var nodes: [String: XenStoreNode] = [:]
    /// Xen: the global `generation` counter; incremented before every copy to a node or a
    /// transaction.
    var generation: UInt64 = 0
    var connections: [XenStoreConnectionID: Connection] = [:]
    var nextConnection: UInt32 = 1
    var domains: [UInt16: Domain] = [:]
    /// Nodes owned per domain id (owner = first permission entry). Xen: ACC_NODES.
    var nodeCounts: [UInt32: Int] = [:]
    var transactions: [TransactionKey: XenStoreTransaction] = [:]
    /// Effects collected while a request runs.
    var actions: [XenStoreAction] = []

    /// A local dom0 connection the convenience API (`read`, `write`, the domain layout) uses.
    public let controlConnection: XenStoreConnectionID

    /// The special watch paths. Xen: "@introduceDomain", "@releaseDomain".
    public static let introduceDomainPath = "@introduceDomain"
    public static let releaseDomainPath = "@releaseDomain"

    /// A store holding xenstored's initial nodes (`/`, `/tool`, `/tool/xenstored` and the two
    /// special nodes, all `n0`), domain 0 introduced, and the control connection open.
    public init(quotas: XenStoreQuotas = XenStoreQuotas()) {
        self.quotas = quotas
        domains[0] = Domain(generation: 0, introduced: true)
        let none = XenStorePermissions(owner: .controlDomain)
        for (path, children) in [("/", ["tool"]), ("/tool", ["xenstored"]), ("/tool/xenstored", []),
                                 (Self.releaseDomainPath, []), (Self.introduceDomainPath, [])] {
            generation += 1
            nodes[path] = XenStoreNode(children: children, permissions: none, generation: generation)
        }
        nodeCounts[0] = 5
        controlConnection = XenStoreConnectionID(nextConnection)
        nextConnection += 1
        connections[controlConnection] = Connection(domain: .controlDomain, isDomainRing: false)
    }

    // MARK: - Connections

    /// Opens a local connection for `domain` (dom0 clients: backends, the CLI). Guests'
    /// ring connections are created by INTRODUCE instead.
    public mutating func openConnection(domain: DomainID = .controlDomain) -> XenStoreConnectionID {
        let id = allocateConnectionID()
        connections[id] = Connection(domain: domain, isDomainRing: false)
        if domains[domain.rawValue] == nil { domains[domain.rawValue] = Domain(generation: generation) }
        return id
    }

    /// Closes a local connection: its watches and transactions vanish. A guest's ring
    /// connection is closed by RELEASE or `domainDestroyed` instead.
    public mutating func closeConnection(_ id: XenStoreConnectionID) {
        guard let connection = connections[id], !connection.isDomainRing, id != controlConnection else { return }
        dropWatchesAndTransactions(of: id)
        connections[id] = nil
    }

    /// Stops serving a connection whose byte stream is broken (oversized message, bad ring
    /// index): its watches and transactions are dropped and later requests ignored, but a
    /// guest stays introduced so @releaseDomain still fires. Xen: ignore_connection.
    public mutating func ignoreConnection(_ id: XenStoreConnectionID) {
        guard connections[id] != nil else { return }
        dropWatchesAndTransactions(of: id)
        connections[id]?.ignored = true
    }

    /// The domain a connection speaks for.
    public func domain(of id: XenStoreConnectionID) -> DomainID? { connections[id]?.domain }

    /// The ring connection of an introduced domain.
    public func connection(of domain: DomainID) -> XenStoreConnectionID? {
        domains[domain.rawValue]?.connection
    }

    /// True while the connection exists and is served.
    public func isServing(_ id: XenStoreConnectionID) -> Bool {
        connections[id].map { !$0.ignored } ?? false
    }

    mutating func allocateConnectionID() -> XenStoreConnectionID {
        while connections[XenStoreConnectionID(nextConnection)] != nil || nextConnection == 0 {
            nextConnection &+= 1
        }
        let id = XenStoreConnectionID(nextConnection)
        nextConnection &+= 1
        return id
    }

    mutating func dropWatchesAndTransactions(of id: XenStoreConnectionID) {
        guard let connection = connections[id] else { return }
        for txid in connection.transactionIDs {
            transactions[TransactionKey(connection: id, id: txid)] = nil
        }
        connections[id]?.transactionIDs = []
        connections[id]?.watches = []
    }

    /// Whether xenstored treats the domain as privileged (dom0 only here).
    /// Xen: domid_is_unprivileged.
    static func isPrivileged(_ domain: DomainID) -> Bool { domain == .controlDomain }

    func caller(for connection: Connection) -> XenStoreCaller {
        XenStoreCaller(domainRaw: UInt32(connection.domain.rawValue),
                       privileged: Self.isPrivileged(connection.domain),
                       targetRaw: connection.target.map { UInt32($0.rawValue) })
    }

    // MARK: - Requests

    /// Processes one request from `connection` and returns its effects. Requests from
    /// unknown or ignored connections are dropped (no reply), as xenstored does.
    public mutating func handle(_ message: XenStoreMessage, from id: XenStoreConnectionID) -> [XenStoreAction] {
        guard let connection = connections[id], !connection.ignored else { return [] }
        actions = []
        var request = Request(connection: id, caller: caller(for: connection),
                              implicitDomain: UInt32(connection.domain.rawValue), transaction: nil,
                              message: message)
        do throws(XenError) {
            // Rings and sockets never deliver these (the assembler refuses them); only
            // in-process callers can, and they get an error instead of a dropped connection.
            guard message.payload.count <= XenStoreLimits.payloadMax else { throw .E2BIG }
            guard let operation = Operation(message.type) else { throw .ENOSYS }
            if operation.isPrivileged && request.unprivileged { throw .EACCES }
            if !operation.ignoresTransaction && message.transactionID != 0 {
                let key = TransactionKey(connection: id, id: message.transactionID)
                guard transactions[key] != nil else { throw .ENOENT }
                request.transaction = key
            }
            try perform(operation, &request)
        } catch {
            sendError(error, request)
        }
        let result = actions
        actions = []
        return result
    }

    /// The operations xenstored implements (`wire_funcs[]`); every other type is ENOSYS.
    enum Operation {
        case control, directory, read, getPermissions, watch, unwatch, transactionStart
        case transactionEnd, introduce, release, getDomainPath, write, mkdir, remove
        case setPermissions, isDomainIntroduced, resume, setTarget, resetWatches, directoryPart

        init?(_ type: XenStoreMessageType) {
            switch type {
            case .control: self = .control
            case .directory: self = .directory
            case .read: self = .read
            case .getPermissions: self = .getPermissions
            case .watch: self = .watch
            case .unwatch: self = .unwatch
            case .transactionStart: self = .transactionStart
            case .transactionEnd: self = .transactionEnd
            case .introduce: self = .introduce
            case .release: self = .release
            case .getDomainPath: self = .getDomainPath
            case .write: self = .write
            case .mkdir: self = .mkdir
            case .remove: self = .remove
            case .setPermissions: self = .setPermissions
            case .isDomainIntroduced: self = .isDomainIntroduced
            case .resume: self = .resume
            case .setTarget: self = .setTarget
            case .resetWatches: self = .resetWatches
            case .directoryPart: self = .directoryPart
            default: return nil
            }
        }

        /// Xen: XS_FLAG_PRIV — refused with EACCES for unprivileged callers.
        var isPrivileged: Bool {
            switch self {
            case .control, .introduce, .release, .isDomainIntroduced, .resume, .setTarget: return true
            default: return false
            }
        }

        /// Xen: XS_FLAG_NOTID — the header's tx_id is not looked up.
        var ignoresTransaction: Bool { self == .watch || self == .unwatch }
    }

    mutating func perform(_ operation: Operation, _ request: inout Request) throws(XenError) {
        switch operation {
        case .control: try doControl(request)
        case .directory: try doDirectory(request)
        case .directoryPart: try doDirectoryPart(request)
        case .read: try doRead(request)
        case .getPermissions: try doGetPermissions(request)
        case .setPermissions: try doSetPermissions(request)
        case .write: try doWrite(request)
        case .mkdir: try doMkdir(request)
        case .remove: try doRemove(request)
        case .watch: try doWatch(request)
        case .unwatch: try doUnwatch(request)
        case .resetWatches: doResetWatches(request)
        case .transactionStart: try doTransactionStart(request)
        case .transactionEnd: try doTransactionEnd(&request)
        case .introduce: try doIntroduce(request)
        case .release: try doRelease(request)
        case .resume: try doResume(request)
        case .setTarget: try doSetTarget(request)
        case .getDomainPath: try doGetDomainPath(request)
        case .isDomainIntroduced: try doIsDomainIntroduced(request)
        }
    }

    // MARK: - Replies

    /// Xen `send_reply`: a payload over XENSTORE_PAYLOAD_MAX becomes an E2BIG error.
    mutating func sendReply(_ payload: [UInt8], _ request: Request) {
        guard payload.count <= XenStoreLimits.payloadMax else {
            sendError(.E2BIG, request)
            return
        }
        guard let connection = request.connection else { return }
        let message = request.message
        actions.append(.reply(connection, XenStoreMessage(type: message.type, requestID: message.requestID,
                                                          transactionID: message.transactionID, payload: payload)))
    }

    /// Xen `send_ack`: "OK\0".
    mutating func sendAcknowledgement(_ request: Request) {
        sendReply(Array("OK".utf8) + [0], request)
    }

    /// Xen `send_error`: the errno's name, or "EINVAL" for names outside `xsd_errors`.
    mutating func sendError(_ error: XenError, _ request: Request) {
        guard let connection = request.connection else { return }
        let message = request.message
        let payload = Array(XenStoreErrorNames.name(for: error).utf8) + [0]
        actions.append(.reply(connection, XenStoreMessage(type: .error, requestID: message.requestID,
                                                          transactionID: message.transactionID, payload: payload)))
    }

    /// `path\0token\0`, the payload of XS_WATCH_EVENT.
    static func eventPayload(path: String, token: [UInt8]) -> [UInt8] {
        Array(path.utf8) + [0] + token + [0]
    }
}
