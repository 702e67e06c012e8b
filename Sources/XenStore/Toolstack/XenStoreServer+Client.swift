import XenABI

/// A typed client API for in-process users (the toolstack, `kite xenstore`, backends): each
/// call is a real request over a connection (the built-in dom0 `controlConnection` unless
/// another is given), so it obeys exactly the rules guests see. The actions returned are the
/// watch events the change caused for other connections; route them like any others.
extension XenStoreServer {
    /// Sends `message` as `connection`; returns its reply and the other effects.
    public mutating func perform(_ message: XenStoreMessage,
                                 as connection: XenStoreConnectionID? = nil) -> (reply: XenStoreMessage?, actions: [XenStoreAction]) {
        let id = connection ?? controlConnection
        var reply: XenStoreMessage?
        var others: [XenStoreAction] = []
        for action in handle(message, from: id) {
            if case .reply(let target, let message) = action, target == id, reply == nil {
                reply = message
            } else {
                others.append(action)
            }
        }
        return (reply, others)
    }

    private mutating func call(_ type: XenStoreMessageType, _ payload: [UInt8], transaction: UInt32,
                               as connection: XenStoreConnectionID?) throws(XenError) -> (XenStoreMessage, [XenStoreAction]) {
        let (reply, others) = perform(XenStoreMessage(type: type, transactionID: transaction, payload: payload), as: connection)
        guard let reply else { throw .EIO }
        if reply.type == .error { throw reply.error ?? .EINVAL }
        return (reply, others)
    }

    /// XS_READ.
    public mutating func read(_ path: String, transaction: UInt32 = 0,
                              as connection: XenStoreConnectionID? = nil) throws(XenError) -> [UInt8] {
        try call(.read, XenStorePayload.joined([path]), transaction: transaction, as: connection).0.payload
    }

    /// XS_READ decoded as UTF-8.
    public mutating func readString(_ path: String, transaction: UInt32 = 0,
                                    as connection: XenStoreConnectionID? = nil) throws(XenError) -> String {
        String(decoding: try read(path, transaction: transaction, as: connection), as: UTF8.self)
    }

    /// XS_WRITE.
    @discardableResult
    public mutating func write(_ path: String, _ value: String, transaction: UInt32 = 0,
                               as connection: XenStoreConnectionID? = nil) throws(XenError) -> [XenStoreAction] {
        try write(path, bytes: Array(value.utf8), transaction: transaction, as: connection)
    }

    /// XS_WRITE with a binary value.
    @discardableResult
    public mutating func write(_ path: String, bytes: [UInt8], transaction: UInt32 = 0,
                               as connection: XenStoreConnectionID? = nil) throws(XenError) -> [XenStoreAction] {
        try call(.write, Array(path.utf8) + [0] + bytes, transaction: transaction, as: connection).1
    }

    /// XS_MKDIR.
    @discardableResult
    public mutating func mkdir(_ path: String, transaction: UInt32 = 0,
                               as connection: XenStoreConnectionID? = nil) throws(XenError) -> [XenStoreAction] {
        try call(.mkdir, XenStorePayload.joined([path]), transaction: transaction, as: connection).1
    }

    /// XS_RM.
    @discardableResult
    public mutating func remove(_ path: String, transaction: UInt32 = 0,
                                as connection: XenStoreConnectionID? = nil) throws(XenError) -> [XenStoreAction] {
        try call(.remove, XenStorePayload.joined([path]), transaction: transaction, as: connection).1
    }

    /// XS_DIRECTORY.
    public mutating func directory(_ path: String, transaction: UInt32 = 0,
                                   as connection: XenStoreConnectionID? = nil) throws(XenError) -> [String] {
        try call(.directory, XenStorePayload.joined([path]), transaction: transaction, as: connection).0.strings
    }

    /// XS_GET_PERMS.
    public mutating func permissions(_ path: String, transaction: UInt32 = 0,
                                     as connection: XenStoreConnectionID? = nil) throws(XenError) -> [String] {
        try call(.getPermissions, XenStorePayload.joined([path]), transaction: transaction, as: connection).0.strings
    }

    /// XS_SET_PERMS.
    @discardableResult
    public mutating func setPermissions(_ path: String, _ permissions: XenStorePermissions, transaction: UInt32 = 0,
                                        as connection: XenStoreConnectionID? = nil) throws(XenError) -> [XenStoreAction] {
        try call(.setPermissions, XenStorePayload.joined([path] + permissions.strings), transaction: transaction,
                 as: connection).1
    }

    /// XS_TRANSACTION_START; returns the transaction id.
    public mutating func startTransaction(as connection: XenStoreConnectionID? = nil) throws(XenError) -> UInt32 {
        let reply = try call(.transactionStart, [0], transaction: 0, as: connection).0
        return XenStorePayload.atou(reply.strings.first.map { Array($0.utf8) } ?? [])
    }

    /// XS_TRANSACTION_END; throws EAGAIN on a conflict.
    @discardableResult
    public mutating func endTransaction(_ transaction: UInt32, commit: Bool,
                                        as connection: XenStoreConnectionID? = nil) throws(XenError) -> [XenStoreAction] {
        try call(.transactionEnd, XenStorePayload.joined([commit ? "T" : "F"]), transaction: transaction,
                 as: connection).1
    }

    /// Every node below (and including) `path` with its value and permissions, in tree order,
    /// read with full rights: what `xenstore-ls -p` shows. For `kite xenstore ls`.
    public func dump(_ path: String = "/") -> [(path: String, value: [UInt8], permissions: XenStorePermissions)] {
        var result: [(path: String, value: [UInt8], permissions: XenStorePermissions)] = []
        var pending = [path]
        while let current = pending.popLast() {
            guard let node = nodes[current] else { continue }
            result.append((current, node.value, node.permissions))
            pending.append(contentsOf: node.children.reversed().map { XenStorePath.child($0, of: current) })
        }
        return result
    }
}
