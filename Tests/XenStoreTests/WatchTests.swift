import Testing
import XenABI
@testable import XenStore

@Suite struct WatchTests {
    @Test func watchRepliesOKThenFiresOnce() {
        var h = StoreHarness()
        let actions = h.send(h.dom0, .watch, ["/w", "tok"])
        #expect(actions.count == 2)
        #expect(StoreHarness.reply(actions, to: h.dom0)?.payload == Array("OK\0".utf8))
        if case .watchEvent(let c, let path, let token)? = actions.last {
            #expect(c == h.dom0 && path == "/w" && token == Array("tok".utf8))
        } else {
            Issue.record("expected the initial event last: \(actions)")
        }
        #expect(actions.last?.message?.requestID == 0)
        #expect(actions.last?.message?.transactionID == 0)
    }

    @Test func changesBelowTheWatchFireWithTheChangedPath() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.send(local, .watch, ["/w", "t"])
        #expect(StoreHarness.events(h.write(h.dom0, "/w/a/b", "1"), for: local) == ["/w/a/b"])
        #expect(StoreHarness.events(h.write(h.dom0, "/w", "x"), for: local) == ["/w"])
        #expect(StoreHarness.events(h.write(h.dom0, "/wx", "x"), for: local).isEmpty)
        #expect(StoreHarness.events(h.write(h.dom0, "/other", "x"), for: local).isEmpty)
        #expect(StoreHarness.events(h.send(h.dom0, .mkdir, ["/w/a/b"]), for: local).isEmpty)  // existed
        #expect(StoreHarness.events(h.send(h.dom0, .mkdir, ["/w/m"]), for: local) == ["/w/m"])
        #expect(StoreHarness.events(h.send(h.dom0, .setPermissions, ["/w/m", "r0"]), for: local) == ["/w/m"])
    }

    @Test func eventsPrecedeTheReplyOfTheRequestCausingThem() {
        var h = StoreHarness()
        h.send(h.dom0, .watch, ["/e", "t"])
        let actions = h.write(h.dom0, "/e", "1")
        #expect(actions.count == 2)
        if case .watchEvent? = actions.first {} else { Issue.record("event should come first") }
        if case .reply? = actions.last {} else { Issue.record("reply should come last") }
    }

    @Test func watchOnRootSeesEverythingButSpecialEventsOnlyExactly() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.send(local, .watch, ["/", "all"])
        #expect(StoreHarness.events(h.write(h.dom0, "/deep/er", "1"), for: local) == ["/deep/er"])
        let introduce = h.send(h.dom0, .introduce, ["4", "0", "9"])
        #expect(StoreHarness.events(introduce, for: local).isEmpty)
    }

    @Test func removalFiresForTheNodeItsAncestorsWatchersAndEachDescendant() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.write(h.dom0, "/r/a/b/c", "1")
        h.write(h.dom0, "/r/a/d", "2")
        h.send(local, .watch, ["/r", "parent"])
        h.send(local, .watch, ["/r/a/b/c", "leaf"])
        h.send(local, .watch, ["/r/a/b/zzz", "absent"])
        let events = StoreHarness.events(h.send(h.dom0, .remove, ["/r/a"]))
        let mine = events.filter { $0.0 == local }.map { "\($0.2):\($0.1)" }
        // Post-order: descendants exactly (only the leaf watch matches), then /r/a for /r's watch.
        #expect(mine == ["leaf:/r/a/b/c", "parent:/r/a"])
    }

    @Test func removingAMissingNodeFiresNothing() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.write(h.dom0, "/q", "")
        h.send(local, .watch, ["/q", "t"])
        #expect(StoreHarness.events(h.send(h.dom0, .remove, ["/q/none"]), for: local).isEmpty)
    }

    @Test func relativeWatchesGetRelativePaths() {
        var h = StoreHarness()
        let guest = h.introduce(3)
        h.write(h.dom0, "/local/domain/3/device", "")
        _ = h.setPerms(h.dom0, "/local/domain/3/device", ["n3"])
        let setup = h.send(guest, .watch, ["device", "dev"])
        #expect(StoreHarness.events(setup, for: guest) == ["device"])
        let events = StoreHarness.events(h.write(h.dom0, "/local/domain/3/device/vif/0", "x"), for: guest)
        #expect(events == ["device/vif/0"])
        #expect(h.error(guest, .unwatch, ["device", "dev"]) == nil)
        #expect(StoreHarness.events(h.write(h.dom0, "/local/domain/3/device/vif/1", "x"), for: guest).isEmpty)
    }

    @Test func guestsOnlySeeEventsForNodesTheyCanRead() {
        var h = StoreHarness()
        let guest = h.introduce(3)
        h.send(guest, .watch, ["/", "all"])
        #expect(StoreHarness.events(h.write(h.dom0, "/secret/x", "1"), for: guest).isEmpty)
        h.write(h.dom0, "/pub", "")
        _ = h.setPerms(h.dom0, "/pub", ["r0"])
        // The node is unreadable but its parent is readable: the event is sent.
        h.write(h.dom0, "/pub/hidden", "")
        _ = h.setPerms(h.dom0, "/pub/hidden", ["n0"])
        #expect(StoreHarness.events(h.write(h.dom0, "/pub/hidden", "2"), for: guest) == ["/pub/hidden"])
        #expect(StoreHarness.events(h.write(h.dom0, "/pub/hidden/deeper", "2"), for: guest).isEmpty)
    }

    @Test func losingReadAccessStillDeliversThePermissionChange() {
        var h = StoreHarness()
        let guest = h.introduce(3)
        h.write(h.dom0, "/x/y", "")
        _ = h.setPerms(h.dom0, "/x/y", ["r0"])
        h.send(guest, .watch, ["/x/y", "t"])
        let events = StoreHarness.events(h.send(h.dom0, .setPermissions, ["/x/y", "n0"]), for: guest)
        #expect(events == ["/x/y"])
        #expect(StoreHarness.events(h.write(h.dom0, "/x/y", "z"), for: guest).isEmpty)
    }

    @Test func duplicateWatchesAndUnwatchErrors() {
        var h = StoreHarness()
        #expect(h.error(h.dom0, .watch, ["/a", "t"]) == nil)
        #expect(h.error(h.dom0, .watch, ["/a", "t"]) == "EEXIST")
        #expect(h.error(h.dom0, .watch, ["/a", "u"]) == nil)
        #expect(h.error(h.dom0, .unwatch, ["/a", "x"]) == "ENOENT")
        #expect(h.error(h.dom0, .unwatch, ["/a", "t"]) == nil)
        #expect(h.error(h.dom0, .unwatch, ["/a", "t"]) == "ENOENT")
        #expect(h.error(h.dom0, .watch, ["/a"]) == "EINVAL")
        #expect(h.error(h.dom0, .watch, ["/a", "t", "extra"]) == "EINVAL")
        #expect(h.error(h.dom0, .watch, ["/a/", "t"]) == "EINVAL")
        #expect(h.error(h.dom0, .watch, ["@anything", "t"]) == nil)
    }

    @Test func tokensMayHoldAnyBytesButNUL() {
        var h = StoreHarness()
        let token: [UInt8] = [0xFF, 0x01, 0x20, 0x7F]
        let actions = h.sendRaw(h.dom0, .watch, Array("/t".utf8) + [0] + token + [0])
        #expect(actions.contains(.watchEvent(h.dom0, path: "/t", token: token)))
    }

    @Test func oversizedEventsAreDropped() {
        var h = StoreHarness()
        let token = String(repeating: "t", count: 4089)
        let actions = h.send(h.dom0, .watch, ["/abcd", token])       // a 4096-byte request
        #expect(StoreHarness.reply(actions, to: h.dom0)?.type == .watch)
        #expect(StoreHarness.events(actions).count == 1)             // 5 + 1 + 4089 + 1 = 4096
        let longer = h.write(h.dom0, "/abcd/efgh", "")
        #expect(StoreHarness.events(longer).isEmpty)                 // 10 + 1 + 4089 + 1 > 4096
        #expect(h.error(h.dom0, .watch, ["/abcd", token + "t"]) == "E2BIG")  // over-long request
    }

    @Test func resetWatchesDropsWatchesAndTransactions() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.send(local, .watch, ["/a", "t"])
        let tx = h.startTransaction(local)
        #expect(h.ok(local, .resetWatches, [""]) == ["OK"])
        #expect(StoreHarness.events(h.write(h.dom0, "/a", "1"), for: local).isEmpty)
        #expect(h.error(local, .read, ["/a"], tx: tx) == "ENOENT")
    }

    @Test func specialWatchesFireOnIntroduceAndRelease() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.send(local, .watch, ["@introduceDomain", "in"])
        h.send(local, .watch, ["@releaseDomain", "out"])
        let intro = h.send(h.dom0, .introduce, ["4", "0", "9"])
        #expect(StoreHarness.events(intro).map { "\($0.2):\($0.1)" } == ["in:@introduceDomain"])
        let release = h.send(h.dom0, .release, ["4"])
        #expect(StoreHarness.events(release).map { "\($0.2):\($0.1)" } == ["out:@releaseDomain"])
    }

    @Test func guestsNeedPermissionForSpecialWatches() {
        var h = StoreHarness()
        let guest = h.introduce(3)
        h.send(guest, .watch, ["@introduceDomain", "in"])
        #expect(StoreHarness.events(h.send(h.dom0, .introduce, ["4", "0", "9"]), for: guest).isEmpty)
        _ = h.setPerms(h.dom0, "@introduceDomain", ["n0", "r3"])
        #expect(StoreHarness.events(h.send(h.dom0, .introduce, ["5", "0", "9"]), for: guest) == ["@introduceDomain"])
    }

    @Test func watchQuotaIsE2BIGAndSparesOthers() {
        var quotas = XenStoreQuotas()
        quotas.watchesPerDomain = 3
        var h = StoreHarness(quotas: quotas)
        let guest = h.introduce(3)
        // xenstored allows quota + 1 watches (it tests `count > quota` before adding).
        for index in 0...3 { #expect(h.error(guest, .watch, ["/w\(index)", "t"]) == nil) }
        #expect(h.error(guest, .watch, ["/w9", "t"]) == "E2BIG")
        for index in 0..<10 { #expect(h.error(h.dom0, .watch, ["/w\(index)", "t"]) == nil) }
        let other = h.introduce(4)
        #expect(h.error(other, .watch, ["/w0", "t"]) == nil)
    }
}
