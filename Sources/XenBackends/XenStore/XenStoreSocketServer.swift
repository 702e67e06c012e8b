import Dispatch
import Synchronization
import XenABI
import XenStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The xenstore socket for host tools: the xenstored wire protocol (`xsd_sockmsg` headers,
/// XENSTORE_PAYLOAD_MAX payloads) on a Unix stream socket, what C xenstored offers at
/// /var/run/xenstored/socket. Every connection is a privileged dom0 client of the daemon's
/// store (the socket is mode 0600, in a 0700 directory, so only Kite's user reaches it).
/// `kite xenstore` talks to it.
///
/// Start it with `XenStoreSocketServer.start(daemon:path:)` once the daemon exists and stop
/// it before Kite exits; `stop` closes every client and removes the socket file (only if it
/// is still the one this server created). A client that breaks the protocol, or stops
/// reading, is disconnected alone.
public final class XenStoreSocketServer: Sendable {
    /// What one server lets its clients hold.
    public struct Limits: Sendable {
        /// Clients served at once; more are accepted and closed at once.
        public var connections: Int
        /// Replies and events one client may leave unread before it is disconnected.
        public var pendingOutputBytes: Int

        public init(connections: Int = 64, pendingOutputBytes: Int = 4 << 20) {
            self.connections = max(connections, 1)
            self.pendingOutputBytes = max(pendingOutputBytes, 2 * (XenStoreHeader.size + XenStoreLimits.payloadMax))
        }
    }

    private struct State {
        var listener: SendableSource<any DispatchSourceRead>?
        var connections: [UInt64: XenStoreSocketConnection] = [:]
        var nextSerial: UInt64 = 1
        var stopped = false
    }

    public let path: String
    private let daemon: XenStoreDaemon
    private let queue: DispatchQueue
    private let log: @Sendable (String) -> Void
    private let identity: (UInt64, UInt64)?
    private let limits: Limits
    private let state = Mutex(State())

    private init(path: String, daemon: XenStoreDaemon, queue: DispatchQueue, limits: Limits,
                 log: @escaping @Sendable (String) -> Void, identity: (UInt64, UInt64)?) {
        self.path = path
        self.limits = limits
        self.daemon = daemon
        self.queue = queue
        self.log = log
        self.identity = identity
    }

    /// Listens at `path` and serves `daemon`'s store there. A socket file left by a dead
    /// Kite is replaced; a live server or a non-socket file at `path` is an error.
    public static func start(daemon: XenStoreDaemon, path: String, limits: Limits = Limits(),
                             log: @escaping @Sendable (String) -> Void = { _ in }) throws(XenStoreSocketError) -> XenStoreSocketServer {
        let fd = try UnixSocket.listenAt(path)
        let queue = DispatchQueue(label: "kite.xenstore-socket")
        let server = XenStoreSocketServer(path: path, daemon: daemon, queue: queue, limits: limits, log: log,
                                          identity: UnixSocket.identity(path))
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [weak server] in server?.acceptAll(fd) }
        source.setCancelHandler { UnixSocket.closeDescriptor(fd) }
        let box = SendableSource<any DispatchSourceRead>(source)
        server.state.withLock { $0.listener = box }
        source.resume()
        return server
    }

    deinit {
        // Dropped without `stop`: a dispatch source left running would keep firing.
        stopListening()
        for connection in takeConnections() { connection.close() }
    }

    /// Clients connected now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Stops accepting, disconnects every client and removes the socket file. Idempotent;
    /// not from the server's own queue.
    public func stop() {
        stopListening()
        queue.sync {
            for connection in takeConnections() { connection.close() }
        }
    }

    private func takeConnections() -> [XenStoreSocketConnection] {
        state.withLock { s -> [XenStoreSocketConnection] in
            defer { s.connections = [:] }
            return Array(s.connections.values)
        }
    }

    private func stopListening() {
        let listener = state.withLock { s -> SendableSource<any DispatchSourceRead>? in
            guard !s.stopped else { return nil }
            s.stopped = true
            defer { s.listener = nil }
            return s.listener
        }
        guard let listener else { return }
        listener.source.cancel()
        if let identity, let now = UnixSocket.identity(path), now == identity { unlink(path) }
    }

    private func acceptAll(_ listenFD: Int32) {
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            UnixSocket.setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let admitted = state.withLock { s -> XenStoreSocketConnection? in
                guard !s.stopped, s.connections.count < limits.connections else { return nil }
                let serial = s.nextSerial
                s.nextSerial += 1
                let connection = XenStoreSocketConnection(
                    fd: fd, serial: serial, queue: queue, outputLimit: limits.pendingOutputBytes, log: log,
                    onClose: { [weak self] serial in self?.forget(serial) })
                s.connections[serial] = connection
                return connection
            }
            guard let admitted else {
                log("xenstore socket: refusing a client beyond \(limits.connections) connections")
                UnixSocket.closeDescriptor(fd)
                continue
            }
            admitted.start(daemon: daemon)
        }
    }

    private func forget(_ serial: UInt64) {
        state.withLock { _ = $0.connections.removeValue(forKey: serial) }
    }
}
