import Testing
import XenABI
@testable import XenStore

/// What a Linux PV guest says to xenstore while booting and shutting down, over a real ring.
@Suite struct GuestConversationTests {
    @Test func linuxBootAndShutdownConversation() throws {
        var server = XenStoreServer()
        let layout = XenStoreDomainLayout(domain: DomainID(1), name: "linux", targetMemoryKiB: 524_288,
                                          storePort: EventChannelPort(1), storeFrame: 0x3F000,
                                          consolePort: EventChannelPort(2), consoleFrame: 0x3F001)
        try server.writeDomainLayout(layout)
        guard case .success(let (connection, actions)) = server.introduceDomain(DomainID(1), port: EventChannelPort(1),
                                                                                  frame: 0x3F000),
              case .attachDomain(let attachment)? = actions.first else {
            Issue.record("introduce failed")
            return
        }
        #expect(attachment.connection == connection)
        var link = XenStoreRingConnection(connection: connection, domain: DomainID(1))
        try withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            var id: UInt32 = 0
            func send(_ type: XenStoreMessageType, _ strings: [String], tx: UInt32 = 0) {
                id += 1
                guest.send(XenStoreMessage(type: type, requestID: id, transactionID: tx, strings: strings))
            }
            send(.resetWatches, [""])
            send(.watch, ["control/shutdown", "shutdown"])
            send(.watch, ["memory/target", "balloon"])
            send(.directory, ["device"])
            send(.transactionStart, [""])
            _ = server.service(&link, ring: ring)
            var replies = guest.receiveAll()
            #expect(replies.map(\.type) == [.resetWatches, .watch, .watchEvent, .watch, .watchEvent, .directory,
                                            .transactionStart])
            #expect(replies[2].strings == ["control/shutdown", "shutdown"])
            #expect(replies[5].strings == ["suspend"])
            let tx = UInt32(replies[6].strings.first ?? "") ?? 0
            #expect(tx == 1)
            guest.send(XenStoreMessage(type: .write, requestID: 50, transactionID: tx,
                                       payload: Array("control/feature-poweroff\u{0}1".utf8)))
            send(.transactionEnd, ["T"], tx: tx)
            send(.read, ["memory/target"])
            _ = server.service(&link, ring: ring)
            replies = guest.receiveAll()
            #expect(replies.map(\.type) == [.write, .transactionEnd, .read])
            #expect(String(decoding: replies[2].payload, as: UTF8.self) == "524288")

            // The toolstack asks for a poweroff; the event reaches the guest's ring.
            let events = try server.write("/local/domain/1/control/shutdown", "poweroff")
            for action in events where action.connection == link.connection { link.deliver(action) }
            #expect(server.service(&link, ring: ring).notifyGuest)
            replies = guest.receiveAll()
            #expect(replies.map(\.strings) == [["control/shutdown", "shutdown"]])
            // Linux reads and clears the request inside a transaction.
            send(.transactionStart, [""])
            _ = server.service(&link, ring: ring)
            let tx2 = UInt32(guest.receiveAll().first?.strings.first ?? "") ?? 0
            send(.read, ["control/shutdown"], tx: tx2)
            guest.send(XenStoreMessage(type: .write, requestID: 60, transactionID: tx2,
                                       payload: Array("control/shutdown\u{0}".utf8)))
            send(.transactionEnd, ["T"], tx: tx2)
            _ = server.service(&link, ring: ring)
            replies = guest.receiveAll()
            #expect(replies.map(\.type) == [.read, .write, .watchEvent, .transactionEnd])
            #expect(String(decoding: replies[0].payload, as: UTF8.self) == "poweroff")
            #expect(try server.readString("/local/domain/1/control/shutdown") == "")
        }
        let gone = server.domainDestroyed(DomainID(1))
        #expect(gone.contains(.detachDomain(DomainID(1), connection)))
        #expect(throws: XenError.ENOENT) { try server.read("/local/domain/1/control/shutdown") }
    }

    @Test func aLinkBrokenOutsideServiceIsIgnoredAtTheNextService() {
        var h = StoreHarness()
        let guest = h.introduce(2)
        var link = XenStoreRingConnection(connection: guest, domain: DomainID(2))
        withRing { ring in
            link.reset(ring)
            let side = GuestRing(ring)
            side.setIndex(XenStoreRingLayout.responseProducerOffset, 9999)
            link.deliver(.reply(guest, XenStoreMessage(type: .read)))
            let wrote = link.flush(to: ring)
            #expect(!wrote)
            #expect(link.isBroken)
            let result = h.server.service(&link, ring: ring)
            #expect(result.failure != nil)
            #expect(!h.server.isServing(guest))
        }
    }
}
