import XenABI

/// TRANSACTION_START and TRANSACTION_END (tools/xenstored/transaction.c).
///
/// Transaction states: open (after START; requests carrying its id use its private view) →
/// ended by END "F" (discarded), END "T" (committed, or EAGAIN on a conflict, ENOMEM when it
/// had been marked failed, ENOSPC over the node quota), RESET_WATCHES, or the connection
/// going away. Every END removes the transaction, whatever the answer.
extension XenStoreServer {
    mutating func doTransactionStart(_ request: Request) throws(XenError) {
        guard let connectionID = request.connection, let connection = connections[connectionID] else {
            throw .EINVAL
        }
        // No nesting: START inside a transaction is refused.
        if request.transaction != nil { throw .EBUSY }
        // xenstored compares the current count with `>`, so one more than the quota fits.
        if request.unprivileged && connection.transactionIDs.count > quotas.transactionsPerDomain { throw .ENOSPC }
        generation &+= 1
        var next = connection.nextTransactionID
        var id: UInt32
        repeat {
            id = next
            next &+= 1
        } while id == 0 || transactions[TransactionKey(connection: connectionID, id: id)] != nil
        connections[connectionID]?.nextTransactionID = next
        connections[connectionID]?.transactionIDs.append(id)
        transactions[TransactionKey(connection: connectionID, id: id)] =
            XenStoreTransaction(id: id, startGeneration: generation)
        sendReply(Array(String(id).utf8) + [0], request)
    }

    mutating func doTransactionEnd(_ request: inout Request) throws(XenError) {
        let arg = XenStorePayload.oneArgument(request.message.payload)
        let commit: Bool
        switch arg.map(Array.init) {
        case [UInt8(ascii: "T")]?: commit = true
        case [UInt8(ascii: "F")]?: commit = false
        default: throw .EINVAL
        }
        guard let key = request.transaction, let transaction = transactions[key] else { throw .ENOENT }
        // The transaction ends here whatever happens next.
        transactions[key] = nil
        connections[key.connection]?.transactionIDs.removeAll { $0 == key.id }
        request.transaction = nil
        if commit { try commitTransaction(transaction, request) }
        sendAcknowledgement(request)
    }

    /// Xen `finalize_transaction` with the quota re-check of `acc_fix_domains`.
    private mutating func commitTransaction(_ transaction: XenStoreTransaction, _ request: Request) throws(XenError) {
        if transaction.failed { throw .ENOMEM }
        if transaction.nodeCreated && request.unprivileged {
            for (owner, delta) in transaction.nodeDeltas where !Self.isPrivilegedRaw(owner) {
                // Unlike a plain write, a commit may not bring a domain to the quota itself.
                if (nodeCounts[owner] ?? 0) + delta >= quotas.nodesPerDomain { throw .ENOSPC }
            }
        }
        for path in transaction.order {
            guard let access = transaction.accessed[path], access.checkGeneration else { continue }
            if nodes[path]?.generation != access.generation { throw .EAGAIN }
        }
        for path in transaction.order {
            guard let access = transaction.accessed[path], access.modified else { continue }
            if var node = access.node {
                generation &+= 1
                node.generation = generation
                nodes[path] = node
            } else {
                nodes[path] = nil
            }
            if access.fireWatch {
                fireWatches(path, node: nil, exact: access.watchExact,
                            oldPermissions: access.originalPermissions, request)
            }
        }
        for (owner, delta) in transaction.nodeDeltas {
            nodeCounts[owner] = max(0, (nodeCounts[owner] ?? 0) + delta)
        }
    }

    static func isPrivilegedRaw(_ domain: UInt32) -> Bool { domain == 0 }
}
