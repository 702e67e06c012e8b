import XenABI

/// A transaction's private view of the store, following xenstored's design
/// (tools/xenstored/transaction.c): the first time a transaction touches a node it records
/// the node's global generation (or its absence) and takes a private copy; later reads and
/// writes inside the transaction use the copy. On commit every node first accessed by a read
/// must still have the recorded generation globally, otherwise the commit fails with EAGAIN.
/// Then the modified copies replace (or delete) the global nodes in first-access order and
/// the watch events queued during the transaction fire.
struct XenStoreTransaction: Sendable {
    /// What the transaction knows about one node.
    struct Access: Sendable {
        /// Global generation at first access; nil when the node did not exist.
        /// Xen: accessed_node.generation (NO_GENERATION for "absent").
        var generation: UInt64?
        /// The first access was a read, so the generation must still match at commit.
        var checkGeneration: Bool
        /// Written or deleted inside the transaction.
        var modified = false
        /// The transaction's copy; nil when absent or deleted in the transaction.
        var node: XenStoreNode?
        /// Permissions at first access, so a watcher that loses read access still gets the
        /// event. Xen: accessed_node.perms.
        var originalPermissions: XenStorePermissions?
        /// A watch event is due for this path at commit; `exact` as in fire_watches.
        var fireWatch = false
        var watchExact = false
    }

    /// Connection-local id (never 0). Xen: transaction.id.
    let id: UInt32
    /// Global generation when the transaction started. Xen: transaction.generation.
    let startGeneration: UInt64
    /// Paths in first-access order (commit and watch order follow it).
    var order: [String] = []
    var accessed: [String: Access] = [:]
    /// Change of each domain's node count made inside the transaction.
    /// Xen: transaction.changed_domains.
    var nodeDeltas: [UInt32: Int] = [:]
    /// Set by errors that leave the private view half-updated; commit then answers ENOMEM
    /// as xenstored does. Xen: transaction.fail.
    var failed = false
    /// A node was created inside the transaction, so commit re-checks the node quota.
    var nodeCreated = false

    init(id: UInt32, startGeneration: UInt64) {
        self.id = id
        self.startGeneration = startGeneration
    }

    mutating func record(_ path: String, _ access: Access) {
        if accessed[path] == nil { order.append(path) }
        accessed[path] = access
    }

    /// Xen `queue_watches`: a non-exact event replaces an exact one, never the reverse.
    /// Returns false when the path was never accessed (the transaction is then failed).
    mutating func queueWatch(_ path: String, exact: Bool) -> Bool {
        guard var access = accessed[path] else {
            failed = true
            return false
        }
        if !access.fireWatch {
            access.fireWatch = true
            access.watchExact = exact
        } else if !exact {
            access.watchExact = false
        }
        accessed[path] = access
        return true
    }
}

/// A registered watch. Xen: `struct watch`.
struct XenStoreWatch: Hashable, Sendable {
    /// Canonical (absolute or special) path watched.
    var path: String
    var token: [UInt8]
    /// Bytes stripped from event paths: a watch set with a relative path gets relative
    /// event paths. Xen: watch.prefix_len.
    var prefixLength: Int

    /// The path reported in an event for `changed`.
    func eventPath(for changed: String) -> String {
        String(decoding: changed.utf8.dropFirst(prefixLength), as: UTF8.self)
    }
}
