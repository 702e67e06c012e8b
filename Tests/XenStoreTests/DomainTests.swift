import Testing
import XenABI
@testable import XenStore

@Suite struct DomainTests {
    @Test func introduceAttachesTheRing() {
        var h = StoreHarness()
        let actions = h.send(h.dom0, .introduce, ["5", "123456", "9"])
        #expect(StoreHarness.reply(actions, to: h.dom0)?.payload == Array("OK\0".utf8))
        guard case .attachDomain(let attachment)? = actions.first else {
            Issue.record("expected an attachment first: \(actions)")
            return
        }
        #expect(attachment.domain == DomainID(5))
        #expect(attachment.port == EventChannelPort(9))
        #expect(attachment.frame == 123456)
        #expect(!attachment.isReintroduction)
        #expect(h.server.connection(of: DomainID(5)) == attachment.connection)
        #expect(h.server.domain(of: attachment.connection) == DomainID(5))
    }

    @Test func introduceValidatesArguments() {
        var h = StoreHarness()
        #expect(h.error(h.dom0, .introduce, ["5", "1"]) == "EINVAL")
        #expect(h.error(h.dom0, .introduce, ["5", "1", "0"]) == "EINVAL")      // port 0
        #expect(h.error(h.dom0, .introduce, ["0", "1", "2"]) == "EINVAL")      // dom0 is Kite
        #expect(h.error(h.dom0, .introduce, ["32752", "1", "2"]) == "EINVAL")  // DOMID_SELF
        #expect(h.error(h.dom0, .introduce, ["5", "1", "2", "extra"]) == nil)
    }

    @Test func reintroductionResetsTheConnectionWithoutAnEvent() {
        var h = StoreHarness()
        let watcher = h.server.openConnection()
        h.send(watcher, .watch, ["@introduceDomain", "i"])
        let guest = h.introduce(5)
        h.send(guest, .watch, ["/x", "t"])
        let tx = h.startTransaction(guest)
        let again = h.send(h.dom0, .introduce, ["5", "1", "11"])
        guard case .attachDomain(let attachment)? = again.first else { Issue.record("no attachment"); return }
        #expect(attachment.isReintroduction)
        #expect(attachment.connection == guest)
        #expect(attachment.port == EventChannelPort(11))
        #expect(StoreHarness.events(again, for: watcher).isEmpty)
        #expect(StoreHarness.events(h.write(h.dom0, "/x", "1"), for: guest).isEmpty)
        #expect(h.error(guest, .read, ["/x"], tx: tx) == "ENOENT")
    }

    @Test func releaseClosesTheConnectionAndRemovesOwnedNodes() {
        var h = StoreHarness()
        let watcher = h.server.openConnection()
        let guest = h.introduce(5)
        h.write(h.dom0, "/local/domain/5", "")
        _ = h.setPerms(h.dom0, "/local/domain/5", ["n0", "r5"])
        h.write(h.dom0, "/local/domain/5/device", "")
        _ = h.setPerms(h.dom0, "/local/domain/5/device", ["n5"])
        #expect(h.writeError(guest, "device/vif/0/state", "1") == nil)
        h.send(watcher, .watch, ["/local/domain/5", "dom"])
        h.send(watcher, .watch, ["@releaseDomain", "rel"])
        h.send(guest, .watch, ["/local/domain/5", "own"])
        let actions = h.send(h.dom0, .release, ["5"])
        #expect(actions.contains(.detachDomain(DomainID(5), guest)))
        let events = StoreHarness.events(actions)
        #expect(events.allSatisfy { $0.0 == watcher })
        #expect(events.map(\.2) == ["dom", "rel"])
        #expect(events.first?.1 == "/local/domain/5/device")
        #expect(h.read(h.dom0, "/local/domain/5/device") == "ERR:ENOENT")
        #expect(h.read(h.dom0, "/local/domain/5") == "")           // dom0-owned stays
        #expect(h.send(guest, .read, ["/"]).isEmpty)               // connection gone
        #expect(h.ok(h.dom0, .isDomainIntroduced, ["5"]) == ["F"])
        #expect(h.error(h.dom0, .release, ["5"]) == "ENOENT")
        #expect(h.error(h.dom0, .release, ["0"]) == "EINVAL")
        #expect(h.error(h.dom0, .release, []) == "EINVAL")
    }

    @Test func shutdownFiresReleaseOnceUntilResumed() {
        var h = StoreHarness()
        let watcher = h.server.openConnection()
        h.send(watcher, .watch, ["@releaseDomain", "rel"])
        _ = h.introduce(5)
        #expect(StoreHarness.events(h.server.domainShutdown(DomainID(5)), for: watcher) == ["@releaseDomain"])
        #expect(StoreHarness.events(h.server.domainShutdown(DomainID(5)), for: watcher).isEmpty)
        #expect(h.ok(h.dom0, .resume, ["5"]) == ["OK"])
        #expect(StoreHarness.events(h.server.domainShutdown(DomainID(5)), for: watcher) == ["@releaseDomain"])
        #expect(h.error(h.dom0, .resume, ["6"]) == "ENOENT")
        #expect(StoreHarness.events(h.server.domainShutdown(DomainID(6)), for: watcher).isEmpty)
    }

    @Test func destroyingADomainThatWasNeverIntroducedStillCleansUp() {
        var h = StoreHarness()
        let watcher = h.server.openConnection()
        h.send(watcher, .watch, ["@releaseDomain", "rel"])
        h.server.domainCreated(DomainID(8))
        h.write(h.dom0, "/owned", "")
        _ = h.setPerms(h.dom0, "/owned", ["n8"])
        let actions = h.server.domainDestroyed(DomainID(8))
        #expect(StoreHarness.events(actions, for: watcher).isEmpty)
        #expect(h.read(h.dom0, "/owned") == "ERR:ENOENT")
        #expect(h.server.domainDestroyed(DomainID(0)).isEmpty)
    }

    @Test func introduceWithoutTheWire() {
        var h = StoreHarness()
        switch h.server.introduceDomain(DomainID(4), port: EventChannelPort(3), frame: 99) {
        case .success(let (connection, actions)):
            #expect(actions.first == .attachDomain(XenStoreDomainAttachment(
                domain: DomainID(4), connection: connection, port: EventChannelPort(3), frame: 99,
                isReintroduction: false)))
        case .failure(let error):
            Issue.record("introduce failed: \(error)")
        }
        guard case .failure(.EINVAL) = h.server.introduceDomain(DomainID(4), port: EventChannelPort(0), frame: 0) else {
            Issue.record("port 0 must be refused")
            return
        }
    }

    @Test func localConnectionsCloseCleanly() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        h.send(local, .watch, ["/a", "t"])
        h.server.closeConnection(local)
        #expect(StoreHarness.events(h.write(h.dom0, "/a", "1")).isEmpty)
        h.server.closeConnection(h.dom0)   // the control connection stays
        #expect(h.server.isServing(h.dom0))
    }
}
