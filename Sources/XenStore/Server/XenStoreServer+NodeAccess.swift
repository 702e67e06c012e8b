import XenABI

/// Reading and writing nodes as a request sees them: through its transaction's private view
/// when it has one, else the global store. Mirrors xenstored's read_node / write_node /
/// access_node / db_delete and the permission lookups get_node and errno_from_parents.
extension XenStoreServer {
    /// Xen `domain_adjust_node_perms`: entries after the first are ignored when they name a
    /// domain the store does not know, or one that appeared after the node was written.
    func adjusted(_ node: XenStoreNode) -> XenStoreNode {
        var node = node
        for index in node.permissions.entries.indices.dropFirst() where !node.permissions.entries[index].ignored {
            let raw = node.permissions.entries[index].rawDomain
            let known = raw <= 0xFFFF ? domains[UInt16(raw)] : nil
            if let known, known.generation <= node.generation { continue }
            node.permissions.entries[index].ignored = true
        }
        return node
    }

    /// A node from the global store, for watch checks and internal walks.
    func globalNode(_ path: String) -> XenStoreNode? {
        nodes[path].map(adjusted)
    }

    /// Xen `read_node`: nil when absent. Inside a transaction the first access records the
    /// node's generation and copies it; ENOSPC when that exceeds the transaction-nodes quota.
    mutating func readNode(_ path: String, _ request: Request) throws(XenError) -> XenStoreNode? {
        guard let key = request.transaction else { return globalNode(path) }
        if let access = transactions[key]?.accessed[path] { return access.node.map(adjusted) }
        try checkTransactionNodeQuota(key, request)
        let global = nodes[path]
        transactions[key]?.record(path, XenStoreTransaction.Access(
            generation: global?.generation, checkGeneration: true, node: global,
            originalPermissions: global?.permissions))
        return global.map(adjusted)
    }

    private mutating func checkTransactionNodeQuota(_ key: TransactionKey, _ request: Request) throws(XenError) {
        guard request.unprivileged, let count = transactions[key]?.order.count,
              count + 1 > quotas.nodesPerTransaction else { return }
        transactions[key]?.failed = true
        throw .ENOSPC
    }

    /// Xen `write_node`: stamps a new generation, drops stale permission entries, enforces the
    /// node-size quota for unprivileged writers, and stores globally or in the transaction.
    mutating func writeNode(_ path: String, _ node: XenStoreNode, _ request: Request,
                            checkSize: Bool = true) throws(XenError) {
        var node = node
        generation &+= 1
        node.generation = generation
        if let key = request.transaction {
            if transactions[key]?.accessed[path] == nil {
                try checkTransactionNodeQuota(key, request)
                transactions[key]?.record(path, XenStoreTransaction.Access(generation: 0, checkGeneration: false))
            }
            transactions[key]?.accessed[path]?.modified = true
        }
        node = adjusted(node)
        if checkSize && request.unprivileged && node.accountedSize > quotas.nodeSize {
            if let key = request.transaction { transactions[key]?.failed = true }
            throw .ENOSPC
        }
        if let key = request.transaction {
            transactions[key]?.accessed[path]?.node = node
        } else {
            nodes[path] = node
        }
    }

    /// Xen `db_delete` through `access_node(NODE_ACCESS_DELETE)`.
    mutating func deleteNode(_ path: String, _ request: Request) {
        generation &+= 1
        if let key = request.transaction {
            if transactions[key]?.accessed[path] == nil {
                transactions[key]?.record(path, XenStoreTransaction.Access(generation: 0, checkGeneration: false))
            }
            transactions[key]?.accessed[path]?.modified = true
            transactions[key]?.accessed[path]?.node = nil
        } else {
            nodes[path] = nil
        }
    }

    // MARK: - Node accounting

    /// Nodes `owner` owns as the request sees it (transaction deltas included).
    func nodeCount(_ owner: UInt32, _ request: Request) -> Int {
        let base = nodeCounts[owner] ?? 0
        guard let key = request.transaction else { return base }
        return base + (transactions[key]?.nodeDeltas[owner] ?? 0)
    }

    /// Xen `domain_nbentry_inc/dec`: global counts never go below zero.
    mutating func adjustNodeCount(_ owner: UInt32, by delta: Int, _ request: Request) {
        if let key = request.transaction {
            transactions[key]?.nodeDeltas[owner, default: 0] += delta
        } else {
            nodeCounts[owner] = max(0, (nodeCounts[owner] ?? 0) + delta)
        }
    }

    // MARK: - Permission lookups

    /// Xen `canonicalize` for the request's caller.
    func canonicalize(_ raw: ArraySlice<UInt8>?, _ request: Request,
                      allowSpecial: Bool) throws(XenError) -> (path: String, relative: Bool) {
        try XenStorePath.canonicalize(raw, implicitDomain: request.implicitDomain, allowSpecial: allowSpecial,
                                      pathLimit: request.unprivileged ? quotas.pathLength : nil)
    }

    /// Xen `get_node`: canonicalizes `raw` and reads the node, requiring `need`. A missing
    /// node comes back as nil only when the nearest existing ancestor grants `need`
    /// (otherwise EACCES, so nothing leaks about the tree); a present node without `need`
    /// is EACCES.
    mutating func lookup(_ raw: ArraySlice<UInt8>?, _ request: Request, need: XenStoreAccess,
                         allowSpecial: Bool) throws(XenError) -> (path: String, node: XenStoreNode?) {
        let (path, _) = try canonicalize(raw, request, allowSpecial: allowSpecial)
        let node = try readNode(path, request)
        if let node {
            if node.permissions.access(for: request.caller).isSuperset(of: need) { return (path, node) }
            throw errorFromParents(path, .EACCES, need: need, request)
        }
        let error = errorFromParents(path, .ENOENT, need: need, request)
        if error == .ENOENT { return (path, nil) }
        throw error
    }

    /// `lookup` for operations that need the node to exist.
    mutating func existingNode(_ raw: ArraySlice<UInt8>?, _ request: Request, need: XenStoreAccess,
                               allowSpecial: Bool) throws(XenError) -> (path: String, node: XenStoreNode) {
        let (path, node) = try lookup(raw, request, need: need, allowSpecial: allowSpecial)
        guard let node else { throw .ENOENT }
        return (path, node)
    }

    /// Xen `errno_from_parents` / `ask_parents`: keep `error` only if the closest existing
    /// ancestor grants some of `need`, else EACCES. Reading ancestors inside a transaction
    /// records them like any read.
    mutating func errorFromParents(_ path: String, _ error: XenError, need: XenStoreAccess,
                                   _ request: Request) -> XenError {
        var name = path
        var ancestor: XenStoreNode?
        repeat {
            name = XenStorePath.parent(of: name)
            do {
                ancestor = try readNode(name, request)
            } catch let failure {
                return failure
            }
        } while ancestor == nil && name != "/"
        guard let ancestor else { return .EACCES }
        return ancestor.permissions.access(for: request.caller).isDisjoint(with: need) ? .EACCES : error
    }
}
