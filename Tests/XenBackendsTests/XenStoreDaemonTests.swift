import Synchronization
import Testing
import XenABI
import XenBackends
import XenControl
import XenStore

/// xenstored's host half against mock guests: pages behind fake grants, fake event channels.
@Suite struct XenStoreDaemonTests {
    static let storePort = EventChannelPort(1)
    static let consolePort = EventChannelPort(2)

    final class Logs: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    struct Rig {
        let grants = FakeGrants()
        let events = FakeEvents()
        let logs = Logs()
        let daemon: XenStoreDaemon

        init() {
            let logs = self.logs
            daemon = XenStoreDaemon(grants: grants, events: events, log: { line in logs.lines.withLock { $0.append(line) } })
        }

        /// Grants a store page for `domain`, writes its layout and introduces it.
        @discardableResult
        func start(_ domain: DomainID) throws -> GuestStore {
            let page = grants.grant(domain, GrantTableLimits.xenstoreReference)
            try daemon.writeDomainLayout(XenStoreDomainLayout(
                domain: domain, name: "guest\(domain.rawValue)", targetMemoryKiB: 65536, storePort: storePort,
                storeFrame: 0x1000 + UInt64(domain.rawValue), consolePort: consolePort, consoleFrame: 0x2000))
            try daemon.introduceDomain(domain, port: storePort, frame: 0x1000 + UInt64(domain.rawValue))
            daemon.waitUntilIdle()
            return GuestStore(page)
        }

        /// The guest notifies its store port; waits for the daemon's pass.
        func kick(_ domain: DomainID) {
            events.guestSends(domain, storePort)
            daemon.waitUntilIdle()
        }
    }

    @Test func introductionMapsTheReservedGrantBindsThePortAndResetsTheRing() throws {
        let rig = Rig()
        let domain = DomainID(1)
        let page = rig.grants.grant(domain, GrantTableLimits.xenstoreReference)
        let guest = GuestStore(page)
        // Left-overs a fresh attachment must clear; a pending reconnection is answered.
        guest.setIndex(XenStoreRingLayout.requestProducerOffset, 77)
        guest.setIndex(XenStoreRingLayout.connectionOffset, XenStoreConnectionState.reconnect.rawValue)
        try rig.daemon.introduceDomain(domain, port: Self.storePort, frame: 0x1234)
        #expect(rig.daemon.attachedDomains == [domain])
        #expect(rig.grants.liveMappings == 1)
        #expect(rig.events.isBound(domain, Self.storePort))
        #expect(guest.index(XenStoreRingLayout.requestProducerOffset) == 0)
        #expect(guest.index(XenStoreRingLayout.connectionOffset) == XenStoreConnectionState.connected.rawValue)
        #expect(guest.index(XenStoreRingLayout.serverFeaturesOffset) & XenStoreServerFeature.error != 0)
        rig.daemon.close()
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.events.boundCount == 0)
    }

    @Test func theLayoutGivesLinuxItsConsoleAndStoreKeys() throws {
        let rig = Rig()
        let guest = try rig.start(DomainID(1))
        for (key, value) in [("console/port", "2"), ("console/ring-ref", "8192"), ("store/port", "1"),
                             ("store/ring-ref", "4097"), ("domid", "1"), ("name", "guest1"),
                             ("console/type", "xenconsoled")] {
            #expect(try rig.daemon.inspect { (s) throws(XenError) in try s.readString("/local/domain/1/" + key) } == value)
            let id = guest.send(.read, [key])
            rig.kick(DomainID(1))
            let replies = guest.receiveAll()
            #expect(replies.map(\.requestID) == [id])
            #expect(replies.first?.type == .read)
            #expect(replies.first?.text == value, "\(key)")
        }
        #expect(rig.events.notifications(to: Self.storePort) >= 7)
        rig.daemon.close()
    }

    @Test func writesAndReadsThroughTheRingWithErrors() throws {
        let rig = Rig()
        let guest = try rig.start(DomainID(3))
        guest.send(.write, ["data/x"], value: "42")
        guest.send(.read, ["data/x"])
        guest.send(.read, ["data/missing"])
        guest.send(.read, ["/local/domain/0"])
        rig.kick(DomainID(3))
        let replies = guest.receiveAll()
        #expect(replies.map(\.type) == [.write, .read, .error, .error])
        #expect(replies.map(\.text) == ["OK\0", "42", "ENOENT\0", "EACCES\0"])
        #expect(try rig.daemon.inspect { (s) throws(XenError) in try s.readString("/local/domain/3/data/x") } == "42")
        rig.daemon.close()
    }

    /// A write by one guest fires the watch of another: the event is routed to the watcher's
    /// ring and the watcher is notified, without it sending anything.
    @Test func watchEventsAreRoutedBetweenRingsAndFromTheToolstack() throws {
        let rig = Rig()
        let watcher = try rig.start(DomainID(1))
        let writer = try rig.start(DomainID(2))
        try rig.daemon.update { (s) throws(XenError) in
            var actions = try s.write("/shared", "0")
            actions += try s.setPermissions("/shared", XenStorePermissions(owner: .controlDomain, others: [.read, .write]))
            return actions
        }
        watcher.send(.watch, ["/shared", "tok"])
        watcher.send(.watch, ["data", "mine"])
        rig.kick(DomainID(1))
        let setup = watcher.receiveAll()
        #expect(setup.filter { $0.type == .watch }.count == 2)
        #expect(setup.filter { $0.type == .watchEvent }.count == 2)  // each fires once at once

        let notifiedBefore = rig.events.notifications(to: Self.storePort)
        writer.send(.write, ["/shared"], value: "1")
        rig.kick(DomainID(2))
        #expect(writer.receiveAll().map(\.type) == [.write])
        let events = watcher.receiveAll()
        #expect(events.map(\.type) == [.watchEvent])
        #expect(events.first?.strings == ["/shared", "tok"])
        #expect(rig.events.notifications(to: Self.storePort) >= notifiedBefore + 2)

        // The toolstack writing into the watcher's area.
        try rig.daemon.update { (s) throws(XenError) in try s.write("/local/domain/1/data/k", "v") }
        #expect(watcher.receiveAll().first?.strings == ["data/k", "mine"])
        rig.daemon.close()
    }

    @Test func aBrokenRingIsIgnoredAndTheOthersStillServed() throws {
        let rig = Rig()
        let bad = try rig.start(DomainID(1))
        let good = try rig.start(DomainID(2))
        bad.setIndex(XenStoreRingLayout.requestProducerOffset, 5000)
        rig.kick(DomainID(1))
        #expect(rig.daemon.isBroken(DomainID(1)))
        #expect(bad.index(XenStoreRingLayout.errorOffset) == XenStoreRingErrorCode.ringIndex.rawValue)
        #expect(rig.logs.all.contains { $0.contains("broke") })
        good.send(.read, ["domid"])
        rig.kick(DomainID(2))
        #expect(good.receiveAll().first?.text == "2")
        rig.daemon.close()
    }

    @Test func destroyingADomainDetachesItsRing() throws {
        let rig = Rig()
        try rig.start(DomainID(1))
        try rig.start(DomainID(2))
        #expect(rig.grants.liveMappings == 2)
        rig.daemon.domainShutdown(DomainID(1))
        rig.daemon.domainDestroyed(DomainID(1))
        #expect(rig.daemon.attachedDomains == [DomainID(2)])
        #expect(rig.grants.liveMappings == 1)
        #expect(!rig.events.isBound(DomainID(1), Self.storePort))
        #expect(!rig.events.guestSends(DomainID(1), Self.storePort))
        rig.daemon.close()
        #expect(rig.grants.liveMappings == 0)
    }

    @Test func reintroductionRebindsAChangedPortAndResetsTheRing() throws {
        let rig = Rig()
        let guest = try rig.start(DomainID(1))
        guest.send(.read, ["domid"])
        rig.kick(DomainID(1))
        _ = guest.receiveAll()
        #expect(guest.index(XenStoreRingLayout.requestConsumerOffset) != 0)
        let newPort = EventChannelPort(5)
        try rig.daemon.introduceDomain(DomainID(1), port: newPort, frame: 0x1001)
        #expect(!rig.events.isBound(DomainID(1), Self.storePort))
        #expect(rig.events.isBound(DomainID(1), newPort))
        #expect(guest.index(XenStoreRingLayout.requestConsumerOffset) == 0)
        #expect(rig.grants.liveMappings == 1)
        guest.send(.read, ["domid"])
        rig.events.guestSends(DomainID(1), newPort)
        rig.daemon.waitUntilIdle()
        #expect(guest.receiveAll().first?.text == "1")
        rig.daemon.close()
    }

    @Test func failedAttachmentsThrowAndHoldNothing() throws {
        let rig = Rig()
        #expect(throws: XenStoreDaemonError.map(DomainID(4), GrantError(.badGrantReference))) {
            try rig.daemon.introduceDomain(DomainID(4), port: Self.storePort, frame: 1)
        }
        rig.grants.grant(DomainID(5), GrantTableLimits.xenstoreReference)
        rig.events.state.withLock { $0.failBinds = .ESRCH }
        #expect(throws: XenStoreDaemonError.bind(DomainID(5), Self.storePort, .ESRCH)) {
            try rig.daemon.introduceDomain(DomainID(5), port: Self.storePort, frame: 1)
        }
        #expect(throws: XenStoreDaemonError.introduce(DomainID(0), .EINVAL)) {
            try rig.daemon.introduceDomain(DomainID(0), port: Self.storePort, frame: 1)
        }
        #expect(rig.daemon.attachedDomains.isEmpty)
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.events.boundCount == 0)
    }

    @Test func droppingTheDaemonReleasesItsRings() throws {
        let grants = FakeGrants()
        let events = FakeEvents()
        do {
            let daemon = XenStoreDaemon(grants: grants, events: events)
            grants.grant(DomainID(1), GrantTableLimits.xenstoreReference)
            try daemon.introduceDomain(DomainID(1), port: Self.storePort, frame: 1)
            daemon.waitUntilIdle()
        }
        #expect(grants.liveMappings == 0)
        #expect(events.boundCount == 0)
    }
}
