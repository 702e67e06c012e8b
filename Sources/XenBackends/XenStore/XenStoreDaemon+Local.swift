import XenABI
import XenStore

/// Local (dom0, in-process) connections: what a Unix-socket connection is to C xenstored.
extension XenStoreDaemon {
    /// Opens a privileged dom0 connection. `wake` is called (after the daemon's lock is
    /// released, on the thread that caused it) whenever the connection's mailbox received
    /// something; it should schedule `takeMessages` on the owner's queue and return.
    public func openLocalConnection(options: XenStoreLocalConnection.Options = .init(),
                                    wake: @escaping @Sendable () -> Void) -> XenStoreLocalConnection {
        let mailbox = XenStoreMailbox(options: options, wake: wake)
        let id = state.withLock { s -> XenStoreConnectionID in
            let id = s.server.openConnection(domain: .controlDomain)
            s.locals[id] = mailbox
            return id
        }
        return XenStoreLocalConnection(id: id, daemon: self, mailbox: mailbox)
    }

    /// Local connections open now (socket clients and in-process clients).
    public var localConnectionCount: Int { state.withLock { $0.locals.count } }

    /// Handles one request of a local connection and routes its effects. With
    /// `returningReply` the reply addressed to the connection is returned instead of being
    /// queued in its mailbox.
    func handleLocal(_ message: XenStoreMessage, from id: XenStoreConnectionID,
                     returningReply: Bool) -> XenStoreMessage? {
        var effects = Effects()
        let reply = state.withLock { s -> XenStoreMessage? in
            guard s.locals[id] != nil else { return nil }
            var actions = s.server.handle(message, from: id)
            var reply: XenStoreMessage?
            if returningReply, let index = actions.firstIndex(where: { Self.isReply($0, to: id) }) {
                reply = actions.remove(at: index).message
            }
            route(actions, in: &s, &effects)
            return reply
        }
        perform(effects)
        return reply
    }

    func closeLocalConnection(_ id: XenStoreConnectionID) {
        state.withLock { s in
            guard s.locals.removeValue(forKey: id) != nil else { return }
            s.server.closeConnection(id)
        }
    }

    private static func isReply(_ action: XenStoreAction, to id: XenStoreConnectionID) -> Bool {
        if case .reply(let connection, _) = action { return connection == id }
        return false
    }
}
