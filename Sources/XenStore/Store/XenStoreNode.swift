import XenABI

/// One node of the tree: a value (arbitrary bytes, usually ASCII), the names of its children
/// in creation order, its permissions and the generation of its last modification.
/// The store is flat (path → node), like xenstored's database.
public struct XenStoreNode: Hashable, Sendable {
    public var value: [UInt8]
    public var children: [String]
    public var permissions: XenStorePermissions
    /// Global generation count when the node was last written; transactions compare it to
    /// detect conflicts. Xen: node_hdr.generation.
    public var generation: UInt64

    public init(value: [UInt8] = [], children: [String] = [], permissions: XenStorePermissions,
                generation: UInt64 = 0) {
        self.value = value
        self.children = children
        self.permissions = permissions
        self.generation = generation
    }

    /// Bytes of the children list on the wire: each name followed by a NUL.
    var childrenBytes: [UInt8] { XenStorePayload.joined(children) }

    /// Size xenstored accounts for the node-size quota: a 16-byte header, 8 bytes per
    /// permission, the value and the NUL-separated children. Xen: calc_node_acc_size.
    var accountedSize: Int {
        16 + 8 * permissions.entries.count + value.count + children.reduce(0) { $0 + $1.utf8.count + 1 }
    }
}

/// Limits xenstored enforces on unprivileged domains, with its defaults (`hard_quotas[]` in
/// tools/xenstored/domain.c). Privileged callers are exempt from all of them.
public struct XenStoreQuotas: Hashable, Sendable {
    /// Nodes a domain may own. Xen: ACC_NODES, "nodes", 1000. Exceeding it: ENOSPC.
    public var nodesPerDomain = 1000
    /// Watches per connection. Xen: ACC_WATCH, "watches", 128. Exceeding it: E2BIG.
    public var watchesPerDomain = 128
    /// Requests whose replies have not been taken by the guest; the ring is not read further
    /// until it drains. Xen: ACC_OUTST, "outstanding", 20.
    public var outstandingRequests = 20
    /// Concurrent transactions per connection. Xen: ACC_TRANS, "transactions", 10. ENOSPC.
    public var transactionsPerDomain = 10
    /// Nodes one transaction may touch. Xen: ACC_TRANSNODES, "transaction-nodes", 1024. ENOSPC.
    public var nodesPerTransaction = 1024
    /// Entries in one permission list. Xen: ACC_NPERM, "node-permissions", 5. ENOSPC.
    public var permissionsPerNode = 5
    /// Path length after `/local/domain/<n>/`. Xen: ACC_PATHLEN, "path-max", 2048. EINVAL.
    public var pathLength = XenStoreLimits.relativePathMax
    /// Accounted node size (header + permissions + value + children). Xen: ACC_NODESZ,
    /// "node-size", 2048. ENOSPC.
    public var nodeSize = 2048

    public init() {}

    /// The names and values `CONTROL quota` shows and `CONTROL quota set` changes.
    var named: [(String, Int, String)] {
        [("nodes", nodesPerDomain, "Nodes per domain"),
         ("watches", watchesPerDomain, "Watches per domain"),
         ("outstanding", outstandingRequests, "Outstanding requests per domain"),
         ("transactions", transactionsPerDomain, "Active transactions per domain"),
         ("transaction-nodes", nodesPerTransaction, "Max. number of accessed nodes per transaction"),
         ("node-permissions", permissionsPerNode, "Max. number of permissions per node"),
         ("path-max", pathLength, "Max. length of a node path"),
         ("node-size", nodeSize, "Max. size of a node")]
    }

    /// Sets a quota by its xenstored name; false when the name is unknown.
    mutating func set(_ name: String, to value: Int) -> Bool {
        switch name {
        case "nodes": nodesPerDomain = value
        case "watches": watchesPerDomain = value
        case "outstanding": outstandingRequests = value
        case "transactions": transactionsPerDomain = value
        case "transaction-nodes": nodesPerTransaction = value
        case "node-permissions": permissionsPerNode = value
        case "path-max": pathLength = value
        case "node-size": nodeSize = value
        default: return false
        }
        return true
    }
}
