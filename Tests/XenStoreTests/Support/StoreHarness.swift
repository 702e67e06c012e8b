import Testing
import XenABI
@testable import XenStore

/// A server plus helpers to send requests and look at what comes back.
struct StoreHarness {
    var server = XenStoreServer()
    var nextRequestID: UInt32 = 1

    init(quotas: XenStoreQuotas = XenStoreQuotas()) {
        server = XenStoreServer(quotas: quotas)
    }

    var dom0: XenStoreConnectionID { server.controlConnection }

    /// A guest connection made the real way (INTRODUCE from dom0).
    mutating func introduce(_ domid: UInt16, port: UInt32 = 1) -> XenStoreConnectionID {
        let actions = send(dom0, .introduce, ["\(domid)", "1234", "\(port)"])
        for case .attachDomain(let attachment) in actions { return attachment.connection }
        Issue.record("INTRODUCE of \(domid) failed: \(actions)")
        return XenStoreConnectionID(0)
    }

    /// Sends a request whose payload is `strings`, each NUL-terminated.
    @discardableResult
    mutating func send(_ connection: XenStoreConnectionID, _ type: XenStoreMessageType, _ strings: [String],
                       tx: UInt32 = 0) -> [XenStoreAction] {
        sendRaw(connection, type, XenStorePayload.joined(strings), tx: tx)
    }

    @discardableResult
    mutating func sendRaw(_ connection: XenStoreConnectionID, _ type: XenStoreMessageType, _ payload: [UInt8],
                          tx: UInt32 = 0) -> [XenStoreAction] {
        let id = nextRequestID
        nextRequestID += 1
        return server.handle(XenStoreMessage(type: type, requestID: id, transactionID: tx, payload: payload),
                             from: connection)
    }

    /// The reply to `connection` among `actions`.
    static func reply(_ actions: [XenStoreAction], to connection: XenStoreConnectionID) -> XenStoreMessage? {
        for case .reply(let target, let message) in actions where target == connection { return message }
        return nil
    }

    /// Watch events in `actions`, as (connection, path, token).
    static func events(_ actions: [XenStoreAction]) -> [(XenStoreConnectionID, String, String)] {
        actions.compactMap {
            if case .watchEvent(let c, let path, let token) = $0 { return (c, path, String(decoding: token, as: UTF8.self)) }
            return nil
        }
    }

    static func events(_ actions: [XenStoreAction], for connection: XenStoreConnectionID) -> [String] {
        events(actions).filter { $0.0 == connection }.map(\.1)
    }

    /// Sends and returns the reply payload strings, recording an issue on an error reply.
    mutating func ok(_ connection: XenStoreConnectionID, _ type: XenStoreMessageType, _ strings: [String],
                     tx: UInt32 = 0, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        let actions = send(connection, type, strings, tx: tx)
        guard let reply = Self.reply(actions, to: connection) else {
            Issue.record("no reply", sourceLocation: sourceLocation)
            return []
        }
        if reply.type == .error {
            Issue.record("\(type) \(strings) failed with \(reply.strings)", sourceLocation: sourceLocation)
        }
        return reply.strings
    }

    /// Sends and returns the error of the reply (nil when it succeeded).
    mutating func error(_ connection: XenStoreConnectionID, _ type: XenStoreMessageType, _ strings: [String],
                        tx: UInt32 = 0) -> String? {
        errorRaw(connection, type, XenStorePayload.joined(strings), tx: tx)
    }

    mutating func errorRaw(_ connection: XenStoreConnectionID, _ type: XenStoreMessageType, _ payload: [UInt8],
                           tx: UInt32 = 0) -> String? {
        let actions = sendRaw(connection, type, payload, tx: tx)
        guard let reply = Self.reply(actions, to: connection) else { return "no reply" }
        return reply.type == .error ? reply.strings.first : nil
    }

    /// WRITE helper: path + value (value not NUL-terminated).
    @discardableResult
    mutating func write(_ connection: XenStoreConnectionID, _ path: String, _ value: String,
                        tx: UInt32 = 0) -> [XenStoreAction] {
        sendRaw(connection, .write, Array(path.utf8) + [0] + Array(value.utf8), tx: tx)
    }

    mutating func writeError(_ connection: XenStoreConnectionID, _ path: String, _ value: String,
                             tx: UInt32 = 0) -> String? {
        errorRaw(connection, .write, Array(path.utf8) + [0] + Array(value.utf8), tx: tx)
    }

    /// READ helper: the value, or "ERR:<name>".
    mutating func read(_ connection: XenStoreConnectionID, _ path: String, tx: UInt32 = 0) -> String {
        let actions = send(connection, .read, [path], tx: tx)
        guard let reply = Self.reply(actions, to: connection) else { return "no reply" }
        if reply.type == .error { return "ERR:" + (reply.strings.first ?? "?") }
        return String(decoding: reply.payload, as: UTF8.self)
    }

    mutating func startTransaction(_ connection: XenStoreConnectionID) -> UInt32 {
        UInt32(ok(connection, .transactionStart, [""]).first ?? "0") ?? 0
    }

    mutating func setPerms(_ connection: XenStoreConnectionID, _ path: String, _ perms: [String]) -> String? {
        error(connection, .setPermissions, [path] + perms)
    }
}
