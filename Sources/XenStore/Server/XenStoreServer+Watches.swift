import XenABI

/// WATCH, UNWATCH, RESET_WATCHES and event generation (tools/xenstored/watch.c).
///
/// A watch on `p` fires for every change of `p` or a node below it (creation, value or
/// permission change, removal); a removal fires exact events for each removed descendant and
/// a non-exact one for the removed node. Changes inside a transaction fire at commit.
/// A connection only sees events for nodes it can read, or whose parent it can read, or
/// that it could read before a permission change.
extension XenStoreServer {
    /// `path\0token\0`: registers the watch, replies OK, then fires it once at once.
    mutating func doWatch(_ request: Request) throws(XenError) {
        let payload = request.message.payload
        guard XenStorePayload.nulCount(payload) == 2, let connectionID = request.connection else { throw .EINVAL }
        let strings = XenStorePayload.strings(payload)
        let (path, relative) = try canonicalize(strings[0], request, allowSpecial: true)
        let token = Array(strings[1])
        guard let connection = connections[connectionID] else { throw .EINVAL }
        if connection.watches.contains(where: { $0.path == path && $0.token == token }) { throw .EEXIST }
        // xenstored compares the current count with `>`, so one watch more than the quota fits.
        if request.unprivileged && connection.watches.count > quotas.watchesPerDomain { throw .E2BIG }
        let prefix = relative ? XenStorePath.domainPath(request.implicitDomain).utf8.count + 1 : 0
        let watch = XenStoreWatch(path: path, token: token, prefixLength: prefix)
        connections[connectionID]?.watches.append(watch)
        sendAcknowledgement(request)
        emitEvent(to: connectionID, path: watch.eventPath(for: path), token: token)
    }

    mutating func doUnwatch(_ request: Request) throws(XenError) {
        let payload = request.message.payload
        guard XenStorePayload.nulCount(payload) == 2, let connectionID = request.connection else { throw .EINVAL }
        let strings = XenStorePayload.strings(payload)
        let (path, _) = try canonicalize(strings[0], request, allowSpecial: true)
        let token = Array(strings[1])
        guard let index = connections[connectionID]?.watches.firstIndex(where: { $0.path == path && $0.token == token })
        else { throw .ENOENT }
        connections[connectionID]?.watches.remove(at: index)
        sendAcknowledgement(request)
    }

    /// Drops every watch and transaction of the caller (Linux sends it at boot when the
    /// toolstack advertises control/platform-feature-xs_reset_watches).
    mutating func doResetWatches(_ request: Request) {
        if let connection = request.connection { dropWatchesAndTransactions(of: connection) }
        sendAcknowledgement(request)
    }

    /// Xen `send_event`: events longer than XENSTORE_PAYLOAD_MAX are silently dropped.
    mutating func emitEvent(to connection: XenStoreConnectionID, path: String, token: [UInt8]) {
        guard path.utf8.count + 1 + token.count + 1 <= XenStoreLimits.payloadMax else { return }
        actions.append(.watchEvent(connection, path: path, token: token))
    }

    /// Xen `fire_watches`: inside a transaction the event is queued on the accessed node;
    /// otherwise every connection's matching watches fire, in connection order.
    mutating func fireWatches(_ path: String, node: XenStoreNode?, exact: Bool,
                              oldPermissions: XenStorePermissions?, _ request: Request) {
        if let key = request.transaction {
            _ = transactions[key]?.queueWatch(path, exact: exact)
            return
        }
        for id in connections.keys.sorted() {
            guard let connection = connections[id], !connection.watches.isEmpty else { continue }
            guard watchPermitted(connection, path: path, node: node, oldPermissions: oldPermissions) else { continue }
            for watch in connection.watches {
                let matches = exact ? path == watch.path : XenStorePath.isChild(path, of: watch.path)
                if matches { emitEvent(to: id, path: watch.eventPath(for: path), token: watch.token) }
            }
        }
    }

    /// Xen `watch_permitted`: readable before a permission change, readable now, or the
    /// parent readable.
    func watchPermitted(_ connection: Connection, path: String, node: XenStoreNode?,
                        oldPermissions: XenStorePermissions?) -> Bool {
        let caller = caller(for: connection)
        if let oldPermissions, oldPermissions.access(for: caller).contains(.read) { return true }
        guard let node = node.map(adjusted) ?? globalNode(path) else { return false }
        if node.permissions.access(for: caller).contains(.read) { return true }
        guard let parent = globalNode(XenStorePath.parent(of: path)) else { return false }
        return parent.permissions.access(for: caller).contains(.read)
    }

    /// Xen `fire_special_watches`: @introduceDomain / @releaseDomain events, exact matches
    /// only, subject to the special node's permissions like any node.
    mutating func fireSpecialWatches(_ path: String) {
        guard let node = globalNode(path) else { return }
        let request = Request(connection: nil, caller: .internalCaller, implicitDomain: 0, transaction: nil,
                              message: XenStoreMessage(type: .invalid))
        fireWatches(path, node: node, exact: true, oldPermissions: nil, request)
    }
}
