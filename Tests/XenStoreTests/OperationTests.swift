import Testing
import XenABI
@testable import XenStore

@Suite struct OperationTests {
    @Test func initialTreeMatchesXenstored() {
        var h = StoreHarness()
        #expect(h.ok(h.dom0, .directory, ["/"]) == ["tool"])
        #expect(h.ok(h.dom0, .directory, ["/tool"]) == ["xenstored"])
        #expect(h.ok(h.dom0, .getPermissions, ["/"]) == ["n0"])
        #expect(h.ok(h.dom0, .getPermissions, ["@releaseDomain"]) == ["n0"])
        #expect(h.read(h.dom0, "/tool") == "")
    }

    @Test func writeCreatesParentsAndReadReturnsRawValue() {
        var h = StoreHarness()
        let actions = h.sendRaw(h.dom0, .write, Array("/a/b/c\0hello\0world".utf8))
        let reply = StoreHarness.reply(actions, to: h.dom0)
        #expect(reply?.type == .write)
        #expect(reply?.payload == Array("OK\0".utf8))
        #expect(h.read(h.dom0, "/a/b/c") == "hello\0world")
        #expect(h.read(h.dom0, "/a/b") == "")
        #expect(h.ok(h.dom0, .directory, ["/a"]) == ["b"])
        h.write(h.dom0, "/a/b/c", "")
        #expect(h.read(h.dom0, "/a/b/c") == "")
    }

    @Test func repliesEchoRequestAndTransactionIDs() {
        var h = StoreHarness()
        let tx = h.startTransaction(h.dom0)
        let actions = h.server.handle(XenStoreMessage(type: .read, requestID: 77, transactionID: tx,
                                                      strings: ["/nope"]), from: h.dom0)
        let reply = StoreHarness.reply(actions, to: h.dom0)
        #expect(reply?.type == .error)
        #expect(reply?.requestID == 77)
        #expect(reply?.transactionID == tx)
        #expect(reply?.payload == Array("ENOENT\0".utf8))
    }

    @Test func readErrors() {
        var h = StoreHarness()
        #expect(h.read(h.dom0, "/missing") == "ERR:ENOENT")
        #expect(h.read(h.dom0, "@releaseDomain") == "ERR:EINVAL")
        #expect(h.read(h.dom0, "/bad/") == "ERR:EINVAL")
        #expect(h.errorRaw(h.dom0, .read, Array("/tool".utf8)) == "EINVAL")          // no NUL
        #expect(h.errorRaw(h.dom0, .read, Array("/tool\0/x\0".utf8)) == "EINVAL")    // two args
        #expect(h.errorRaw(h.dom0, .read, []) == "EINVAL")
    }

    @Test func writeNeedsAPathTerminator() {
        var h = StoreHarness()
        #expect(h.errorRaw(h.dom0, .write, Array("/a".utf8)) == "EINVAL")
        #expect(h.errorRaw(h.dom0, .write, Array("/a\0".utf8)) == nil)
        #expect(h.errorRaw(h.dom0, .write, Array("@x\0v".utf8)) == "EINVAL")
    }

    @Test func mkdirCreatesAndKeepsExistingValues() {
        var h = StoreHarness()
        #expect(h.ok(h.dom0, .mkdir, ["/m/n"]) == ["OK"])
        #expect(h.ok(h.dom0, .directory, ["/m"]) == ["n"])
        h.write(h.dom0, "/m/n", "v")
        #expect(h.ok(h.dom0, .mkdir, ["/m/n"]) == ["OK"])
        #expect(h.read(h.dom0, "/m/n") == "v")
        #expect(h.error(h.dom0, .mkdir, ["/m/"]) == "EINVAL")
    }

    @Test func removeDeletesSubtreesAndToleratesMissingLeaves() {
        var h = StoreHarness()
        h.write(h.dom0, "/r/a/b", "1")
        h.write(h.dom0, "/r/c", "2")
        #expect(h.ok(h.dom0, .remove, ["/r/a"]) == ["OK"])
        #expect(h.read(h.dom0, "/r/a/b") == "ERR:ENOENT")
        #expect(h.ok(h.dom0, .directory, ["/r"]) == ["c"])
        #expect(h.ok(h.dom0, .remove, ["/r/a"]) == ["OK"])            // parent exists
        #expect(h.error(h.dom0, .remove, ["/r/x/y"]) == "ENOENT")     // parent missing
        #expect(h.error(h.dom0, .remove, ["/"]) == "EINVAL")
        #expect(h.error(h.dom0, .remove, ["@releaseDomain"]) == "EINVAL")
    }

    @Test func directoryListsChildrenInCreationOrder() {
        var h = StoreHarness()
        for name in ["z", "a", "m"] { h.write(h.dom0, "/d/\(name)", "") }
        let reply = StoreHarness.reply(h.send(h.dom0, .directory, ["/d"]), to: h.dom0)
        #expect(reply?.payload == Array("z\0a\0m\0".utf8))
        h.write(h.dom0, "/empty", "")
        #expect(StoreHarness.reply(h.send(h.dom0, .directory, ["/empty"]), to: h.dom0)?.payload == [])
        #expect(h.error(h.dom0, .directory, ["/nope"]) == "ENOENT")
    }

    @Test func oversizedRepliesBecomeE2BIG() {
        var h = StoreHarness()
        let name = String(repeating: "n", count: 200)
        for index in 0..<25 { h.write(h.dom0, "/big/\(name)\(index)", "") }
        #expect(h.error(h.dom0, .directory, ["/big"]) == "E2BIG")
    }

    @Test func directoryPartPagesThroughLargeDirectories() {
        var h = StoreHarness()
        let name = String(repeating: "n", count: 200)
        var expected: [String] = []
        for index in 0..<25 {
            h.write(h.dom0, "/big/\(name)\(index)", "")
            expected.append("\(name)\(index)")
        }
        var names: [String] = []
        var offset = 0
        var generation: String?
        while true {
            let reply = StoreHarness.reply(h.send(h.dom0, .directoryPart, ["/big", "\(offset)"]), to: h.dom0)
            guard let reply, reply.type == .directoryPart else { Issue.record("bad reply"); return }
            #expect(reply.payload.count <= 4096)
            var strings = reply.strings
            let gen = strings.removeFirst()
            if let generation { #expect(gen == generation) }
            generation = gen
            if strings.last == "" {
                names += strings.dropLast()
                break
            }
            names += strings
            offset += strings.reduce(0) { $0 + $1.utf8.count + 1 }
        }
        #expect(names == expected)
        // Beyond the end: the generation and an empty string.
        let end = StoreHarness.reply(h.send(h.dom0, .directoryPart, ["/big", "999999"]), to: h.dom0)
        #expect(end?.payload == Array((generation ?? "") .utf8) + [0, 0])
        #expect(h.error(h.dom0, .directoryPart, ["/big"]) == "EINVAL")
        #expect(h.error(h.dom0, .directoryPart, ["/nope", "0"]) == "ENOENT")
    }

    @Test func directoryPartGenerationChangesWithTheDirectory() {
        var h = StoreHarness()
        h.write(h.dom0, "/g/a", "")
        let first = h.ok(h.dom0, .directoryPart, ["/g", "0"])
        #expect(Array(first.dropFirst()) == ["a", ""])
        h.write(h.dom0, "/g/b", "")
        let second = h.ok(h.dom0, .directoryPart, ["/g", "0"])
        #expect(Array(second.dropFirst()) == ["a", "b", ""])
        #expect(first.first != second.first)
    }

    @Test func permissionsRoundTrip() {
        var h = StoreHarness()
        h.server.domainCreated(DomainID(5))
        h.write(h.dom0, "/p", "")
        #expect(h.setPerms(h.dom0, "/p", ["r5", "w7", "b0"]) == nil)
        #expect(h.ok(h.dom0, .getPermissions, ["/p"]) == ["r5", "w7", "b0"])
        #expect(h.setPerms(h.dom0, "/p", ["x5"]) == "EINVAL")
        #expect(h.setPerms(h.dom0, "/p", []) == "EINVAL")
        #expect(h.setPerms(h.dom0, "/nope", ["n0"]) == "ENOENT")
        #expect(h.setPerms(h.dom0, "/p", ["n9"]) == "ENOENT")     // owner is no domain
        #expect(h.setPerms(h.dom0, "@releaseDomain", ["r0"]) == nil)
        #expect(h.error(h.dom0, .getPermissions, ["/nope"]) == "ENOENT")
    }

    @Test func unknownAndReplyOnlyTypesAreENOSYS() {
        var h = StoreHarness()
        for type in [XenStoreMessageType.watchEvent, .error, .restrict, .getFeature, .setQuota, .invalid,
                     XenStoreMessageType(rawValue: 12345)] {
            #expect(h.error(h.dom0, type, ["/"]) == "ENOSYS")
        }
    }

    @Test func privilegedOperationsRefuseGuests() {
        var h = StoreHarness()
        let guest = h.introduce(5)
        for type in [XenStoreMessageType.control, .introduce, .release, .isDomainIntroduced, .resume, .setTarget] {
            #expect(h.error(guest, type, ["1", "2", "3"]) == "EACCES")
        }
        #expect(h.error(guest, .getDomainPath, ["5"]) == nil)
    }

    @Test func unknownTransactionIsENOENT() {
        var h = StoreHarness()
        #expect(h.error(h.dom0, .read, ["/tool"], tx: 42) == "ENOENT")
        // WATCH and UNWATCH ignore the transaction id.
        #expect(h.error(h.dom0, .watch, ["/tool", "t"], tx: 42) == nil)
        #expect(h.error(h.dom0, .unwatch, ["/tool", "t"], tx: 42) == nil)
    }

    @Test func getDomainPathAndIntroducedQueries() {
        var h = StoreHarness()
        #expect(h.ok(h.dom0, .getDomainPath, ["7"]) == ["/local/domain/7"])
        #expect(h.ok(h.dom0, .getDomainPath, ["junk"]) == ["/local/domain/0"])
        #expect(h.error(h.dom0, .getDomainPath, []) == "EINVAL")
        #expect(h.ok(h.dom0, .isDomainIntroduced, ["7"]) == ["F"])
        #expect(h.ok(h.dom0, .isDomainIntroduced, ["0"]) == ["T"])
        #expect(h.ok(h.dom0, .isDomainIntroduced, ["32752"]) == ["T"])   // DOMID_SELF
        _ = h.introduce(7)
        #expect(h.ok(h.dom0, .isDomainIntroduced, ["7"]) == ["T"])
    }

    @Test func controlCommands() {
        var h = StoreHarness()
        #expect(h.ok(h.dom0, .control, ["check"]) == ["OK"])
        let print = h.send(h.dom0, .control, ["print", "hello"])
        #expect(print.contains(.log("control: hello")))
        #expect(h.ok(h.dom0, .control, ["help"]).first?.contains("quota") == true)
        #expect(h.ok(h.dom0, .control, ["quota"]).first?.contains("nodes") == true)
        #expect(h.ok(h.dom0, .control, ["quota", "set", "watches", "3"]) == ["OK"])
        #expect(h.server.quotas.watchesPerDomain == 3)
        #expect(h.error(h.dom0, .control, ["quota", "set", "watches", "0"]) == "EINVAL")
        #expect(h.error(h.dom0, .control, ["quota", "set", "bogus", "3"]) == "EINVAL")
        #expect(h.ok(h.dom0, .control, ["quota", "0"]).first?.contains("Domain 0") == true)
        #expect(h.error(h.dom0, .control, ["quota", "99"]) == "ENOENT")
        #expect(h.error(h.dom0, .control, ["frobnicate"]) == "EINVAL")
        #expect(h.errorRaw(h.dom0, .control, Array("check".utf8)) == "EINVAL")
    }

    @Test func clientAPI() throws {
        var h = StoreHarness()
        try h.server.write("/c/x", "1")
        #expect(try h.server.readString("/c/x") == "1")
        #expect(try h.server.directory("/c") == ["x"])
        #expect(throws: XenError.ENOENT) { try h.server.read("/c/y") }
        try h.server.setPermissions("/c", XenStorePermissions(owner: .controlDomain, others: .read))
        #expect(try h.server.permissions("/c") == ["r0"])
        let tx = try h.server.startTransaction()
        try h.server.write("/c/y", "2", transaction: tx)
        try h.server.endTransaction(tx, commit: true)
        #expect(try h.server.readString("/c/y") == "2")
        try h.server.remove("/c")
        #expect(h.server.dump("/").map(\.path) == ["/", "/tool", "/tool/xenstored"])
    }

    @Test func ignoredAndUnknownConnectionsGetNoReply() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.server.ignoreConnection(local)
        #expect(h.send(local, .read, ["/tool"]).isEmpty)
        #expect(h.send(XenStoreConnectionID(999), .read, ["/tool"]).isEmpty)
        #expect(!h.server.isServing(local))
    }
}
