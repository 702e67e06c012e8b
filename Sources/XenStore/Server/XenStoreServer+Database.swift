import XenABI

/// READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS and SET_PERMS
/// (tools/xenstored/core.c).
extension XenStoreServer {
    mutating func doRead(_ request: Request) throws(XenError) {
        let arg = XenStorePayload.oneArgument(request.message.payload)
        let (_, node) = try existingNode(arg, request, need: .read, allowSpecial: false)
        sendReply(node.value, request)
    }

    mutating func doDirectory(_ request: Request) throws(XenError) {
        let arg = XenStorePayload.oneArgument(request.message.payload)
        let (_, node) = try existingNode(arg, request, need: .read, allowSpecial: false)
        sendReply(node.childrenBytes, request)
    }

    /// `path\0offset\0` → `generation\0` + the children from byte `offset` of the list that fit
    /// in one payload; a final empty string marks the end of the list.
    mutating func doDirectoryPart(_ request: Request) throws(XenError) {
        let payload = request.message.payload
        guard XenStorePayload.nulCount(payload) == 2 else { throw .EINVAL }
        let strings = XenStorePayload.strings(payload)
        let (_, node) = try existingNode(strings[0], request, need: .read, allowSpecial: false)
        let offset = Int(XenStorePayload.atou(strings[1]))
        let generationBytes = Array(String(node.generation).utf8) + [0]
        let children = node.childrenBytes
        guard offset < children.count else {
            sendReply(generationBytes + [0], request)
            return
        }
        let maxLength = XenStoreLimits.payloadMax - generationBytes.count - 1
        var length = 0
        while true {
            let start = offset + length
            let nameLength = (children[start...].firstIndex(of: 0) ?? children.count) - start
            guard length + nameLength < maxLength else { break }
            length += nameLength + 1
            if offset + length >= children.count { break }
        }
        var reply = generationBytes + children[offset..<(offset + length)]
        if offset + length == children.count { reply.append(0) }
        sendReply(reply, request)
    }

    mutating func doGetPermissions(_ request: Request) throws(XenError) {
        let arg = XenStorePayload.oneArgument(request.message.payload)
        let (_, node) = try existingNode(arg, request, need: .read, allowSpecial: true)
        sendReply(XenStorePayload.joined(node.permissions.strings), request)
    }

    /// `path\0perm\0perm\0…`: only the owner (or dom0) may change permissions, and only dom0
    /// may hand a node to another owner.
    mutating func doSetPermissions(_ request: Request) throws(XenError) {
        let payload = request.message.payload
        let count = XenStorePayload.nulCount(payload)
        guard count >= 2 else { throw .EINVAL }
        if request.unprivileged && count - 1 > quotas.permissionsPerNode { throw .ENOSPC }
        let strings = XenStorePayload.strings(payload)
        var entries: [XenStorePermission] = []
        for string in strings[1...] { entries.append(try XenStorePermission.parse(string)) }
        // Xen domain_alloc_permrefs: entries naming no known domain never grant anything.
        for index in entries.indices {
            let raw = entries[index].rawDomain
            if raw > 0xFFFF || domains[UInt16(raw)] == nil { entries[index].ignored = true }
        }
        if entries[0].ignored { throw .ENOENT }
        var (path, node) = try existingNode(strings[0], request, need: [.write, .owner], allowSpecial: true)
        if request.unprivileged && entries[0].rawDomain != node.permissions.ownerRaw { throw .EPERM }
        let old = node.permissions
        node.permissions = XenStorePermissions(entries)
        try writeNode(path, node, request)
        adjustNodeCount(old.ownerRaw, by: -1, request)
        adjustNodeCount(node.permissions.ownerRaw, by: 1, request)
        fireWatches(path, node: node, exact: false, oldPermissions: old, request)
        sendAcknowledgement(request)
    }

    /// `path\0value`: creates missing nodes on the way.
    mutating func doWrite(_ request: Request) throws(XenError) {
        let payload = request.message.payload
        guard let nul = payload.firstIndex(of: 0) else { throw .EINVAL }
        let value = Array(payload[(nul + 1)...])
        let (path, existing) = try lookup(payload[0..<nul], request, need: .write, allowSpecial: false)
        let written: XenStoreNode
        if var node = existing {
            node.value = value
            try writeNode(path, node, request)
            written = node
        } else {
            written = try createNode(path, value: value, request)
        }
        fireWatches(path, node: written, exact: false, oldPermissions: nil, request)
        sendAcknowledgement(request)
    }

    mutating func doMkdir(_ request: Request) throws(XenError) {
        let arg = XenStorePayload.oneArgument(request.message.payload)
        let (path, existing) = try lookup(arg, request, need: .write, allowSpecial: false)
        if existing == nil {
            let created = try createNode(path, value: [], request)
            fireWatches(path, node: created, exact: false, oldPermissions: nil, request)
        }
        sendAcknowledgement(request)
    }

    /// Removing a missing node is fine while its parent exists.
    mutating func doRemove(_ request: Request) throws(XenError) {
        let arg = XenStorePayload.oneArgument(request.message.payload)
        let (path, existing) = try lookup(arg, request, need: .write, allowSpecial: false)
        guard existing != nil else {
            let parent: XenStoreNode?
            do {
                parent = try readNode(XenStorePath.parent(of: path), request)
            } catch {
                throw error == .ENOSPC || error == .ENOMEM ? error : .ENOENT
            }
            guard parent != nil else { throw .ENOENT }
            sendAcknowledgement(request)
            return
        }
        if path == "/" { throw .EINVAL }
        try removeNode(path, request)
        sendAcknowledgement(request)
    }

    // MARK: - Creation and removal

    /// Xen `create_node`: creates `path` and any missing ancestors with the permissions of the
    /// closest existing ancestor (an unprivileged creator becomes the owner), enforcing the
    /// node-count and node-size quotas. Nothing changes when a quota is hit.
    mutating func createNode(_ path: String, value: [UInt8], _ request: Request) throws(XenError) -> XenStoreNode {
        if let key = request.transaction { transactions[key]?.nodeCreated = true }
        var missing = [path]
        var parentPath = XenStorePath.parent(of: path)
        var parent = try readNode(parentPath, request)
        while parent == nil {
            if parentPath == "/" { throw .ENOENT }
            missing.append(parentPath)
            parentPath = XenStorePath.parent(of: parentPath)
            parent = try readNode(parentPath, request)
        }
        guard var existing = parent else { throw .ENOENT }
        var permissions = existing.permissions
        if request.unprivileged, !permissions.entries.isEmpty {
            permissions.entries[0].rawDomain = request.caller.domainRaw
        }
        // Bottom-up, as xenstored writes them: new nodes leaf first, then the existing parent.
        var chain: [(path: String, node: XenStoreNode)] = []
        for (index, name) in missing.enumerated() {
            let children = index == 0 ? [] : [XenStorePath.baseName(of: missing[index - 1])]
            chain.append((name, XenStoreNode(value: index == 0 ? value : [], children: children,
                                             permissions: permissions)))
        }
        existing.children.append(XenStorePath.baseName(of: missing[missing.count - 1]))
        let failTransaction = { (server: inout XenStoreServer) in
            if let key = request.transaction { server.transactions[key]?.failed = true }
        }
        if request.unprivileged {
            let owned = nodeCount(request.caller.domainRaw, request)
            for (index, entry) in chain.enumerated() {
                if owned + index >= quotas.nodesPerDomain {
                    if index > 0 { failTransaction(&self) }
                    throw .ENOSPC
                }
                if entry.node.accountedSize > quotas.nodeSize {
                    failTransaction(&self)
                    throw .ENOSPC
                }
            }
            if existing.accountedSize > quotas.nodeSize {
                failTransaction(&self)
                throw .ENOSPC
            }
        }
        for entry in chain {
            try writeNode(entry.path, entry.node, request)
            adjustNodeCount(entry.node.permissions.ownerRaw, by: 1, request)
        }
        try writeNode(parentPath, existing, request)
        return adjusted(chain[0].node)
    }

    /// Xen `rm_node`: deletes `path` and its subtree children first, firing a watch event for
    /// each node (non-exact for `path` itself, exact for its descendants), then unlinks it
    /// from its parent. Permissions are checked on `path` only, by the caller.
    mutating func removeNode(_ path: String, _ request: Request) throws(XenError) {
        let parentPath = XenStorePath.parent(of: path)
        let parentNode: XenStoreNode?
        do {
            parentNode = try readNode(parentPath, request)
        } catch {
            throw error == .ENOSPC || error == .ENOMEM ? error : .EINVAL
        }
        guard var parent = parentNode else { throw .EINVAL }
        guard let root = try readNode(path, request) else { throw .ENOENT }
        // Iterative post-order walk: a privileged caller can build trees ~2000 levels deep.
        var stack: [(path: String, node: XenStoreNode, next: Int)] = [(path, root, 0)]
        while let top = stack.last {
            if top.next < top.node.children.count {
                stack[stack.count - 1].next += 1
                let childPath = XenStorePath.child(top.node.children[top.next], of: top.path)
                let child: XenStoreNode?
                do {
                    child = try readNode(childPath, request)
                } catch {
                    throw .EIO
                }
                if let child { stack.append((childPath, child, 0)) }
                continue
            }
            stack.removeLast()
            deleteNode(top.path, request)
            adjustNodeCount(top.node.permissions.ownerRaw, by: -1, request)
            fireWatches(top.path, node: top.node, exact: top.path != path, oldPermissions: nil, request)
        }
        let name = XenStorePath.baseName(of: path)
        guard let index = parent.children.firstIndex(of: name) else { throw .EIO }
        parent.children.remove(at: index)
        try writeNode(parentPath, parent, request, checkSize: false)
    }
}
