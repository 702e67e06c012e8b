import Synchronization
import XenABI
import XenStore

/// A dom0 connection to the daemon's store from inside Kite: an in-process client
/// (`XenStoreClient`, used by backends) or a host tool speaking the wire protocol on the
/// xenstore socket (`XenStoreSocketServer`). Like a Unix-socket connection of C xenstored it
/// is privileged (domain 0): no quotas, every node readable.
///
/// Requests run synchronously under the daemon's lock. What the store sends the connection
/// besides the reply `request` returns — watch events, and for `send` the replies as well —
/// is queued in the connection's mailbox in store order (events a request causes precede
/// its reply; WATCH's own first event follows its OK), and `wake` is called once the lock
/// is released so the owner drains the mailbox with `takeMessages` on its own queue.
/// `wake` must not block and must not call the daemon synchronously.
///
/// States: open → closed (`close`, idempotent: the store drops the connection's watches
/// and transactions). A mailbox that overflows its byte limit stops accepting messages and
/// reports `overflowed`; its owner should close the connection (a host tool that stopped
/// reading).
public final class XenStoreLocalConnection: Sendable {
    /// How the mailbox bounds what waits in it.
    public struct Options: Sendable {
        /// A watch event equal (same path and token) to one still waiting is dropped: the
        /// owner reads current values when it handles the event, as xenbus drivers do, so
        /// a guest rewriting a watched node cannot grow the mailbox without bound.
        public var coalesceWatchEvents: Bool
        /// Encoded bytes that may wait; beyond it the mailbox overflows.
        public var byteLimit: Int

        public init(coalesceWatchEvents: Bool = false, byteLimit: Int = 4 << 20) {
            self.coalesceWatchEvents = coalesceWatchEvents
            self.byteLimit = max(byteLimit, XenStoreHeader.size + XenStoreLimits.payloadMax)
        }
    }

    public let id: XenStoreConnectionID
    private let daemon: XenStoreDaemon
    let mailbox: XenStoreMailbox
    private let closed = Atomic<Bool>(false)

    init(id: XenStoreConnectionID, daemon: XenStoreDaemon, mailbox: XenStoreMailbox) {
        self.id = id
        self.daemon = daemon
        self.mailbox = mailbox
    }

    deinit {
        if !closed.load(ordering: .acquiring) { daemon.closeLocalConnection(id) }
    }

    /// Sends a request and returns its reply (XS_ERROR replies included); nil once the
    /// connection is closed. Other effects are routed as for any connection.
    public func request(_ message: XenStoreMessage) -> XenStoreMessage? {
        guard !closed.load(ordering: .acquiring) else { return nil }
        return daemon.handleLocal(message, from: id, returningReply: true)
    }

    /// Sends a request whose reply goes to the mailbox like everything else (a socket
    /// client, which must see replies and events in the store's order).
    public func send(_ message: XenStoreMessage) {
        guard !closed.load(ordering: .acquiring) else { return }
        _ = daemon.handleLocal(message, from: id, returningReply: false)
    }

    /// Removes and returns what waits in the mailbox, oldest first.
    public func takeMessages() -> [XenStoreMessage] { mailbox.take() }

    /// The mailbox refused a message because its byte limit was reached.
    public var overflowed: Bool { mailbox.overflowed }

    public var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Closes the connection: its watches and transactions vanish from the store.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        daemon.closeLocalConnection(id)
        _ = mailbox.take()
    }
}

/// What waits for a local connection. Filled under the daemon's lock (lock order: the
/// daemon's state, then the mailbox), emptied by the connection's owner.
final class XenStoreMailbox: Sendable {
    private struct EventKey: Hashable {
        var payload: [UInt8]
    }

    private struct Contents {
        var messages: [XenStoreMessage] = []
        var bytes = 0
        var waitingEvents: Set<EventKey> = []
        var overflowed = false
    }

    private let contents = Mutex(Contents())
    private let options: XenStoreLocalConnection.Options
    let wake: @Sendable () -> Void

    init(options: XenStoreLocalConnection.Options, wake: @escaping @Sendable () -> Void) {
        self.options = options
        self.wake = wake
    }

    /// Queues a message; false when it was dropped (coalesced or overflow).
    @discardableResult
    func enqueue(_ message: XenStoreMessage) -> Bool {
        contents.withLock { c in
            if c.overflowed { return false }
            let isEvent = message.type == .watchEvent
            if isEvent && options.coalesceWatchEvents {
                guard c.waitingEvents.insert(EventKey(payload: message.payload)).inserted else { return false }
            }
            let size = XenStoreHeader.size + message.payload.count
            guard c.bytes + size <= options.byteLimit else {
                c.overflowed = true
                return false
            }
            c.bytes += size
            c.messages.append(message)
            return true
        }
    }

    func take() -> [XenStoreMessage] {
        contents.withLock { c in
            defer {
                c.messages = []
                c.bytes = 0
                c.waitingEvents = []
            }
            return c.messages
        }
    }

    var overflowed: Bool { contents.withLock { $0.overflowed } }
}
