import Testing
import XenABI
@testable import XenStore

/// Random request sequences checked against a plain dictionary model of the tree, and the
/// store's internal invariants checked after every step.
@Suite struct ModelTests {
    /// The reference: path → value, plus ordered children.
    struct Model {
        var values: [String: String] = ["/": "", "/tool": "", "/tool/xenstored": ""]
        var children: [String: [String]] = ["/": ["tool"], "/tool": ["xenstored"], "/tool/xenstored": []]

        mutating func create(_ path: String) {
            guard values[path] == nil else { return }
            let parent = XenStorePath.parent(of: path)
            create(parent)
            values[path] = ""
            children[path] = []
            children[parent, default: []].append(XenStorePath.baseName(of: path))
        }

        mutating func write(_ path: String, _ value: String) {
            create(path)
            values[path] = value
        }

        /// nil = success, else the error name.
        mutating func remove(_ path: String) -> String? {
            if path == "/" { return "EINVAL" }
            guard values[path] != nil else {
                return values[XenStorePath.parent(of: path)] == nil ? "ENOENT" : nil
            }
            var stack = [path]
            while let current = stack.popLast() {
                stack += (children[current] ?? []).map { XenStorePath.child($0, of: current) }
                values[current] = nil
                children[current] = nil
            }
            let parent = XenStorePath.parent(of: path)
            children[parent]?.removeAll { $0 == XenStorePath.baseName(of: path) }
            return nil
        }
    }

    static let names = ["a", "b", "c"]

    static func randomPath(_ generator: inout SplitMix64) -> String {
        let depth = Int(generator.next() % 3) + 1
        return "/" + (0..<depth).map { _ in names[Int(generator.next() % 3)] }.joined(separator: "/")
    }

    /// Tree invariants: parents list their children and vice versa; node counts match owners.
    static func checkInvariants(_ server: XenStoreServer) {
        var owners: [UInt32: Int] = [:]
        for (path, node) in server.nodes {
            owners[node.permissions.ownerRaw, default: 0] += 1
            if path.hasPrefix("@") || path == "/" { continue }
            let parent = XenStorePath.parent(of: path)
            #expect(server.nodes[parent]?.children.contains(XenStorePath.baseName(of: path)) == true, "\(path)")
            for child in node.children {
                #expect(server.nodes[XenStorePath.child(child, of: path)] != nil, "\(path)/\(child)")
            }
            #expect(Set(node.children).count == node.children.count, "duplicate children in \(path)")
        }
        for (owner, count) in owners { #expect(server.nodeCounts[owner] ?? 0 == count, "owner \(owner)") }
        for (owner, count) in server.nodeCounts where count > 0 { #expect(owners[owner] == count, "owner \(owner)") }
    }

    @Test(arguments: [1, 2, 3, 4])
    func randomSequencesMatchTheModel(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var h = StoreHarness()
        var model = Model()
        var committed = model
        var transaction: UInt32 = 0
        for _ in 0..<400 {
            let path = Self.randomPath(&generator)
            switch generator.next() % 8 {
            case 0, 1:
                let value = "v\(generator.next() % 100)"
                #expect(h.writeError(h.dom0, path, value, tx: transaction) == nil)
                model.write(path, value)
            case 2:
                #expect(h.error(h.dom0, .mkdir, [path], tx: transaction) == nil)
                model.create(path)
            case 3:
                #expect(h.error(h.dom0, .remove, [path], tx: transaction) == model.remove(path))
            case 4:
                let expected = model.values[path].map { $0 } ?? "ERR:ENOENT"
                #expect(h.read(h.dom0, path, tx: transaction) == expected)
            case 5:
                if let children = model.children[path] {
                    #expect(h.ok(h.dom0, .directory, [path], tx: transaction) == children)
                } else {
                    #expect(h.error(h.dom0, .directory, [path], tx: transaction) == "ENOENT")
                }
            case 6:
                if transaction == 0 {
                    transaction = h.startTransaction(h.dom0)
                    committed = model
                }
            default:
                if transaction != 0 {
                    let commit = generator.next() % 3 != 0
                    #expect(h.error(h.dom0, .transactionEnd, [commit ? "T" : "F"], tx: transaction) == nil)
                    if !commit { model = committed }
                    transaction = 0
                }
            }
            Self.checkInvariants(h.server)
        }
        if transaction != 0 { _ = h.error(h.dom0, .transactionEnd, ["T"], tx: transaction) }
        for (path, value) in model.values { #expect(h.read(h.dom0, path) == value) }
        #expect(h.server.dump().count == model.values.count)
    }

    @Test func guestAndDom0InterleavedKeepInvariants() {
        var generator = SplitMix64(seed: 99)
        var h = StoreHarness()
        let guest = h.introduce(3)
        h.write(h.dom0, "/local/domain/3", "")
        _ = h.setPerms(h.dom0, "/local/domain/3", ["n3"])
        let watcher = h.server.openConnection()
        h.send(watcher, .watch, ["/", "all"])
        for _ in 0..<400 {
            let relative = (0..<Int(generator.next() % 3 + 1)).map { _ in Self.names[Int(generator.next() % 3)] }
                .joined(separator: "/")
            let connection = generator.next() % 2 == 0 ? guest : h.dom0
            let path = connection == guest ? relative : "/local/domain/3/" + relative
            let actions: [XenStoreAction]
            switch generator.next() % 4 {
            case 0: actions = h.write(connection, path, "x")
            case 1: actions = h.send(connection, .remove, [path])
            case 2: actions = h.send(connection, .setPermissions, [path, generator.next() % 2 == 0 ? "n3" : "n0"])
            default: actions = h.send(connection, .mkdir, [path])
            }
            // Every request gets exactly one reply.
            #expect(actions.filter { if case .reply = $0 { return true } else { return false } }.count == 1)
            Self.checkInvariants(h.server)
        }
    }
}
