import XenABI
import XenStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a host tool's xenstore request ran into.
public enum XenStoreToolError: Error, Equatable, CustomStringConvertible {
    /// The socket (nobody serving, connection lost).
    case socket(XenStoreSocketError)
    /// The store refused the request with an XS_ERROR reply.
    case refused(operation: String, path: String, XenError)

    public var description: String {
        switch self {
        case .socket(let error): error.description
        case .refused(let operation, let path, let error): "cannot \(operation) \(path): \(error)"
        }
    }
}

/// A blocking client of the xenstore socket for host tools (`kite xenstore`): one request
/// at a time, replies matched by req_id, watch events kept until `nextEvent` asks for them.
/// Not thread-safe: one thread uses it.
public final class XenStoreSocketClient {
    public let path: String
    private let fd: Int32
    private var assembler = XenStoreMessageAssembler()
    private var events: [(path: String, token: String)] = []
    private var nextRequest: UInt32 = 1
    private var isClosed = false

    /// Connects to the socket at `path` (`.notServing` when nobody listens there).
    public init(path: String) throws(XenStoreSocketError) {
        self.path = path
        fd = try UnixSocket.connectTo(path)
    }

    deinit { close() }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        UnixSocket.closeDescriptor(fd)
    }

    /// Sends a request and waits for its reply (watch events arriving meanwhile are kept).
    public func request(_ type: XenStoreMessageType, payload: [UInt8], transaction: UInt32 = 0) throws(XenStoreSocketError) -> XenStoreMessage {
        let id = nextRequest
        nextRequest &+= 1
        let message = XenStoreMessage(type: type, requestID: id, transactionID: transaction, payload: payload)
        guard !isClosed, UnixSocket.writeAll(fd, message.encoded) else { throw .connectionLost(path) }
        while true {
            let received = try receive()
            if received.type == .watchEvent {
                keep(received)
            } else if received.requestID == id {
                return received
            }
        }
    }

    /// The next watch event, waiting for one if none is kept.
    public func nextEvent() throws(XenStoreSocketError) -> (path: String, token: String) {
        while events.isEmpty {
            let received = try receive()
            if received.type == .watchEvent { keep(received) }
        }
        return events.removeFirst()
    }

    // MARK: - Operations (xenstore-read, -write, -rm, -ls, -watch)

    public func read(_ node: String) throws(XenStoreToolError) -> [UInt8] {
        try call(.read, "read", node, [node]).payload
    }

    public func write(_ node: String, _ value: [UInt8]) throws(XenStoreToolError) {
        _ = try call(.write, "write", node, payload: Array(node.utf8) + [0] + value)
    }

    public func remove(_ node: String) throws(XenStoreToolError) {
        _ = try call(.remove, "remove", node, [node])
    }

    public func directory(_ node: String) throws(XenStoreToolError) -> [String] {
        try call(.directory, "list", node, [node]).strings
    }

    public func permissions(_ node: String) throws(XenStoreToolError) -> [String] {
        try call(.getPermissions, "read the permissions of", node, [node]).strings
    }

    public func watch(_ node: String, token: String) throws(XenStoreToolError) {
        _ = try call(.watch, "watch", node, [node, token])
    }

    private func call(_ type: XenStoreMessageType, _ operation: String, _ node: String,
                      _ strings: [String]) throws(XenStoreToolError) -> XenStoreMessage {
        try call(type, operation, node, payload: XenStoreMessage(type: type, strings: strings).payload)
    }

    private func call(_ type: XenStoreMessageType, _ operation: String, _ node: String,
                      payload: [UInt8]) throws(XenStoreToolError) -> XenStoreMessage {
        let reply: XenStoreMessage
        do { reply = try request(type, payload: payload) } catch { throw .socket(error) }
        if reply.type == .error { throw .refused(operation: operation, path: node, reply.error ?? .EINVAL) }
        return reply
    }

    private func keep(_ event: XenStoreMessage) {
        let strings = event.strings
        if strings.count >= 2 { events.append((strings[0], strings[1])) }
    }

    private func receive() throws(XenStoreSocketError) -> XenStoreMessage {
        var buffer = [UInt8](repeating: 0, count: XenStoreHeader.size + XenStoreLimits.payloadMax)
        while true {
            let wanted = assembler.bytesWanted
            guard wanted > 0, !isClosed else { throw .connectionLost(path) }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, wanted, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .connectionLost(path) }
            do {
                if let message = try assembler.append(buffer[0..<count]) { return message }
            } catch {
                throw .connectionLost(path)
            }
        }
    }
}
