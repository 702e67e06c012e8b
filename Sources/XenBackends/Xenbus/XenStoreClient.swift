import Dispatch
import Synchronization
import XenABI
import XenStore

/// An in-process dom0 client of the daemon's store, for backends: what libxenstore (or
/// Linux's xenbus_xs.c) is to a backend in dom0. Every call is a real request on the
/// client's own privileged connection, so transactions and watches behave exactly as for
/// any xenstore client.
///
/// Requests are synchronous and may be made from any thread, including the client's queue
/// and watch handlers, but never from inside `XenStoreDaemon.update`/`inspect` (the
/// daemon's lock is not re-entrant). Watch handlers run on `queue`, in the order the store
/// fired them, never under the daemon's lock; an event for a path and token still waiting
/// to be handled is not queued twice (handlers read current values, as xenbus drivers do).
///
/// Errors are the XS_ERROR names mapped to `XenError` (ENOENT, EACCES, EAGAIN…).
public final class XenStoreClient: Sendable {
    /// A transaction of this client. Xen: xs_transaction_t.
    public struct Transaction: Hashable, Sendable {
        public let id: UInt32
    }

    /// A registered watch; pass it to `unwatch`.
    public struct Watch: Hashable, Sendable {
        public let path: String
        public let token: String
    }

    public typealias WatchHandler = @Sendable (_ path: String) -> Void

    private struct Handlers {
        var byToken: [String: WatchHandler] = [:]
        var nextToken: UInt64 = 1
    }

    /// Where watch handlers run (serial).
    public let queue: DispatchQueue
    private let connection: XenStoreLocalConnection
    private let handlers = Mutex(Handlers())
    private let draining = Atomic<Bool>(false)

    /// Opens a dom0 connection to `daemon`'s store. `queue` must be serial (a new one if nil).
    public init(daemon: XenStoreDaemon, queue: DispatchQueue? = nil) {
        let queue = queue ?? DispatchQueue(label: "kite.xenstore-client")
        self.queue = queue
        let box = WeakClient()
        connection = daemon.openLocalConnection(options: .init(coalesceWatchEvents: true)) {
            box.client?.scheduleDrain()
        }
        box.client = self
    }

    deinit { connection.close() }

    /// Closes the connection: every watch and open transaction of this client ends.
    public func close() {
        connection.close()
        handlers.withLock { $0.byToken = [:] }
    }

    // MARK: - Requests

    /// XS_READ.
    public func readBytes(_ path: String, in transaction: Transaction? = nil) throws(XenError) -> [UInt8] {
        try call(.read, [path], transaction).payload
    }

    /// XS_READ decoded as UTF-8 (invalid bytes replaced).
    public func read(_ path: String, in transaction: Transaction? = nil) throws(XenError) -> String {
        String(decoding: try readBytes(path, in: transaction), as: UTF8.self)
    }

    /// XS_READ, nil when the node does not exist.
    public func readIfPresent(_ path: String, in transaction: Transaction? = nil) throws(XenError) -> String? {
        do { return try read(path, in: transaction) } catch {
            if error == .ENOENT { return nil }
            throw error
        }
    }

    /// XS_WRITE (missing parents are created with their parent's permissions).
    public func write(_ path: String, _ value: String, in transaction: Transaction? = nil) throws(XenError) {
        try write(path, bytes: Array(value.utf8), in: transaction)
    }

    /// XS_WRITE with a binary value.
    public func write(_ path: String, bytes: [UInt8], in transaction: Transaction? = nil) throws(XenError) {
        _ = try call(.write, payload: Array(path.utf8) + [0] + bytes, transaction)
    }

    /// XS_MKDIR (no error when it exists).
    public func mkdir(_ path: String, in transaction: Transaction? = nil) throws(XenError) {
        _ = try call(.mkdir, [path], transaction)
    }

    /// XS_RM: the node and its subtree. A missing node whose parent exists is no error.
    public func remove(_ path: String, in transaction: Transaction? = nil) throws(XenError) {
        _ = try call(.remove, [path], transaction)
    }

    /// XS_DIRECTORY: the children's names.
    public func directory(_ path: String, in transaction: Transaction? = nil) throws(XenError) -> [String] {
        try call(.directory, [path], transaction).strings
    }

    /// XS_GET_PERMS, as the wire strings ("n0", "r1").
    public func permissions(_ path: String, in transaction: Transaction? = nil) throws(XenError) -> [String] {
        try call(.getPermissions, [path], transaction).strings
    }

    /// XS_SET_PERMS.
    public func setPermissions(_ path: String, _ permissions: XenStorePermissions,
                               in transaction: Transaction? = nil) throws(XenError) {
        _ = try call(.setPermissions, [path] + permissions.strings, transaction)
    }

    /// XS_TRANSACTION_START.
    public func startTransaction() throws(XenError) -> Transaction {
        let reply = try call(.transactionStart, [""], nil)
        guard let text = reply.strings.first, let id = UInt32(text), id != 0 else { throw .EIO }
        return Transaction(id: id)
    }

    /// XS_TRANSACTION_END. Committing throws EAGAIN when a node the transaction read
    /// changed meanwhile; the transaction is over either way.
    public func endTransaction(_ transaction: Transaction, commit: Bool) throws(XenError) {
        _ = try call(.transactionEnd, [commit ? "T" : "F"], transaction)
    }

    /// Runs `body` in a transaction and commits it, starting over on EAGAIN (at most
    /// `attempts` times); an error thrown by `body` aborts the transaction.
    public func transaction<R>(attempts: Int = 16, _ body: (Transaction) throws(XenError) -> R) throws(XenError) -> R {
        var remaining = max(attempts, 1)
        while true {
            let transaction = try startTransaction()
            let result: R
            do { result = try body(transaction) } catch {
                try? endTransaction(transaction, commit: false)
                throw error
            }
            do {
                try endTransaction(transaction, commit: true)
                return result
            } catch {
                remaining -= 1
                if error != .EAGAIN || remaining == 0 { throw error }
            }
        }
    }

    // MARK: - Watches

    /// XS_WATCH: `handler` runs on `queue` with the changed path for every change at or
    /// below `path`, and once right after registration (xenstored fires a new watch at
    /// once).
    @discardableResult
    public func watch(_ path: String, _ handler: @escaping WatchHandler) throws(XenError) -> Watch {
        let token = handlers.withLock { h -> String in
            defer { h.nextToken &+= 1 }
            let token = "kite-\(h.nextToken)"
            h.byToken[token] = handler
            return token
        }
        do {
            _ = try call(.watch, [path, token], nil)
        } catch {
            handlers.withLock { _ = $0.byToken.removeValue(forKey: token) }
            throw error
        }
        return Watch(path: path, token: token)
    }

    /// XS_UNWATCH; events still queued for the watch are dropped.
    public func unwatch(_ watch: Watch) {
        let known = handlers.withLock { $0.byToken.removeValue(forKey: watch.token) != nil }
        guard known else { return }
        _ = try? call(.unwatch, [watch.path, watch.token], nil)
    }

    /// Runs on `queue` after everything queued there so far, including watch handlers
    /// already scheduled. Not from `queue` itself.
    public func waitUntilIdle() {
        queue.sync {}
    }

    // MARK: - Internals

    private func call(_ type: XenStoreMessageType, _ strings: [String], _ transaction: Transaction?) throws(XenError) -> XenStoreMessage {
        try call(type, payload: XenStoreMessage(type: type, strings: strings).payload, transaction)
    }

    private func call(_ type: XenStoreMessageType, payload: [UInt8], _ transaction: Transaction?) throws(XenError) -> XenStoreMessage {
        let message = XenStoreMessage(type: type, transactionID: transaction?.id ?? 0, payload: payload)
        guard let reply = connection.request(message) else { throw .EIO }
        if reply.type == .error { throw reply.error ?? .EINVAL }
        return reply
    }

    fileprivate func scheduleDrain() {
        guard !draining.exchange(true, ordering: .acquiringAndReleasing) else { return }
        queue.async { [self] in
            draining.store(false, ordering: .sequentiallyConsistent)
            for message in connection.takeMessages() where message.type == .watchEvent {
                let strings = message.strings
                guard strings.count >= 2 else { continue }
                let handler = handlers.withLock { $0.byToken[strings[1]] }
                handler?(strings[0])
            }
        }
    }
}

/// Breaks the cycle daemon → mailbox → wake closure → client.
private final class WeakClient: Sendable {
    private struct Reference { weak var client: XenStoreClient? }
    private let reference = Mutex(Reference())
    var client: XenStoreClient? {
        get { reference.withLock { $0.client } }
        set { reference.withLock { $0.client = newValue } }
    }
}
