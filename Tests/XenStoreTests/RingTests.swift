import Testing
import XenABI
@testable import XenStore

@Suite struct RingTests {
    /// dom0 + guest 3 owning /local/domain/3, and the guest's link.
    private func setup() -> (StoreHarness, XenStoreRingConnection) {
        var h = StoreHarness()
        let guest = h.introduce(3)
        h.write(h.dom0, "/local/domain/3", "")
        _ = h.setPerms(h.dom0, "/local/domain/3", ["n3"])
        return (h, XenStoreRingConnection(connection: guest, domain: DomainID(3)))
    }

    @Test func requestAndReplyAtEveryRingIndex() {
        var (h, link) = setup()
        withRing { ring in
            let guest = GuestRing(ring)
            let starts = Array(0..<1024).map(UInt32.init) + [UInt32.max - 40, UInt32.max - 3, UInt32.max]
            for (round, start) in starts.enumerated() {
                guest.setAllIndexes(start)
                let value = "v\(round)-" + String(repeating: "x", count: round % 37)
                guest.send(XenStoreMessage(type: .write, requestID: UInt32(round),
                                           payload: Array("k\0\(value)".utf8)))
                guest.send(XenStoreMessage(type: .read, requestID: UInt32(round) + 100_000, strings: ["k"]))
                let result = h.server.service(&link, ring: ring)
                #expect(result.notifyGuest)
                #expect(result.failure == nil)
                let replies = guest.receiveAll()
                #expect(replies.count == 2, "start \(start)")
                #expect(replies.first?.payload == Array("OK\0".utf8))
                #expect(replies.last?.requestID == UInt32(round) + 100_000)
                #expect(replies.last.map { String(decoding: $0.payload, as: UTF8.self) } == value)
                #expect(guest.index(XenStoreRingLayout.requestConsumerOffset) == guest.index(XenStoreRingLayout.requestProducerOffset))
            }
        }
    }

    @Test func requestsArrivingInPiecesAreAssembled() {
        var (h, link) = setup()
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            let bytes = XenStoreMessage(type: .write, requestID: 5, payload: Array("piece\0meal".utf8)).encoded
            for piece in [0..<3, 3..<16, 16..<20] {
                guest.sendBytes(bytes[piece])
                _ = h.server.service(&link, ring: ring)
                #expect(guest.receiveAll().isEmpty)
            }
            guest.sendBytes(bytes[20...])
            _ = h.server.service(&link, ring: ring)
            #expect(guest.receiveAll().map(\.requestID) == [5])
            #expect(h.read(h.dom0, "/local/domain/3/piece") == "meal")
        }
    }

    @Test func producerRunningAheadBreaksTheConnectionWithoutTrapping() {
        for bad: UInt32 in [1025, 4096, 0x8000_0000, UInt32.max] {
            var (h, link) = setup()
            withRing { ring in
                let guest = GuestRing(ring)
                guest.setAllIndexes(100)
                guest.setIndex(XenStoreRingLayout.requestProducerOffset, 100 &+ bad)
                let result = h.server.service(&link, ring: ring)
                #expect(result.failure == .ringIndex(consumer: 100, producer: 100 &+ bad))
                #expect(ring.errorCode == XenStoreRingErrorCode.ringIndex.rawValue)
                #expect(link.isBroken)
                #expect(!h.server.isServing(link.connection))
                #expect(guest.index(XenStoreRingLayout.requestConsumerOffset) == 100)
                // Later kicks do nothing.
                #expect(!h.server.service(&link, ring: ring).notifyGuest)
            }
        }
    }

    @Test func hostileResponseIndexesBreakTheConnection() {
        var (h, link) = setup()
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            guest.setIndex(XenStoreRingLayout.responseConsumerOffset, 5000)
            guest.send(XenStoreMessage(type: .read, strings: ["/tool"]))
            let result = h.server.service(&link, ring: ring)
            #expect(result.failure == .ringIndex(consumer: 5000, producer: 0))
            #expect(ring.errorCode == 2)
            #expect(ring.responseProducer == 0)
        }
    }

    @Test func oversizedMessagesBreakTheConnectionWithProtocolError() {
        var (h, link) = setup()
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            h.send(h.dom0, .watch, ["@releaseDomain", "r"])
            guest.sendBytes(XenStoreHeader(type: .write, requestID: 1, transactionID: 0, length: 4097).bytes[...])
            let result = h.server.service(&link, ring: ring)
            #expect(result.failure == .payloadTooLong(4097))
            #expect(ring.errorCode == XenStoreRingErrorCode.protocolViolation.rawValue)
            #expect(guest.receiveAll().isEmpty)
            // The domain stays introduced so its death is still announced.
            #expect(h.ok(h.dom0, .isDomainIntroduced, ["3"]) == ["T"])
            let gone = h.server.domainDestroyed(DomainID(3))
            #expect(StoreHarness.events(gone, for: h.dom0) == ["@releaseDomain"])
        }
    }

    @Test func malformedPayloadsGetErrorRepliesNotDisconnection() {
        var (h, link) = setup()
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            guest.send(XenStoreMessage(type: .read, requestID: 1, payload: Array("no-nul".utf8)))
            guest.send(XenStoreMessage(type: XenStoreMessageType(rawValue: 77), requestID: 2))
            guest.send(XenStoreMessage(type: .read, requestID: 3, strings: ["/local/domain/3"]))
            _ = h.server.service(&link, ring: ring)
            let replies = guest.receiveAll()
            #expect(replies.map(\.strings) == [["EINVAL"], ["ENOSYS"], []])
            #expect(replies.map(\.type) == [.error, .error, .read])
            #expect(!link.isBroken)
        }
    }

    @Test func repliesLargerThanTheFreeSpaceAreWrittenInPieces() {
        var (h, link) = setup()
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            let big = String(repeating: "b", count: 1500)
            h.write(h.dom0, "/local/domain/3/big", big)
            guest.send(XenStoreMessage(type: .read, requestID: 9, strings: ["big"]))
            _ = h.server.service(&link, ring: ring)
            #expect(ring.freeResponseBytes == 0)
            var received: [UInt8] = []
            while received.count < 16 + 1500 {
                received += guest.receiveBytes(maximum: 333)
                _ = h.server.service(&link, ring: ring)
            }
            #expect(XenStoreHeader(bytes: received)?.length == 1500)
            #expect(String(decoding: received[16...], as: UTF8.self) == big)
            #expect(link.outbox.isEmpty)
        }
    }

    @Test func outstandingRepliesStopReadingUntilTheGuestCatchesUp() {
        var (h, link) = setup()
        link.outstandingLimit = 2
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            for index in 0..<10 { guest.send(XenStoreMessage(type: .read, requestID: UInt32(index), strings: ["/local/domain/3"])) }
            // The guest has not consumed anything and the response ring is full.
            guest.setIndex(XenStoreRingLayout.responseProducerOffset, 1024)
            _ = h.server.service(&link, ring: ring)
            #expect(link.outbox.pendingReplies == 2)
            #expect(ring.pendingRequestBytes == 8 * (16 + 16))
            // The guest drains its ring: everything flows again.
            guest.setIndex(XenStoreRingLayout.responseConsumerOffset, 1024)
            _ = h.server.service(&link, ring: ring)
            #expect(ring.pendingRequestBytes == 0)
            #expect(guest.receiveAll().map(\.requestID) == Array(0..<10).map(UInt32.init))
        }
    }

    @Test func aBusyGuestIsServedInBoundedBatches() {
        var (h, link) = setup()
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            for index in 0..<10 { guest.send(XenStoreMessage(type: .read, requestID: UInt32(index), strings: ["/local/domain/3"])) }
            let first = h.server.service(&link, ring: ring, maximumRequests: 4)
            #expect(first.morePending)
            #expect(guest.receiveAll().count == 4)
            let rest = h.server.service(&link, ring: ring)
            #expect(!rest.morePending)
            #expect(guest.receiveAll().count == 6)
        }
    }

    @Test func eventsForOtherConnectionsAreReturnedForRouting() {
        var (h, link) = setup()
        let watcher = h.server.openConnection()
        h.send(watcher, .watch, ["/local/domain/3", "w"])
        h.send(link.connection, .watch, ["/local/domain/3/own", "mine"])
        withRing { ring in
            link.reset(ring)
            let guest = GuestRing(ring)
            guest.send(XenStoreMessage(type: .write, requestID: 1, payload: Array("own\0x".utf8)))
            let result = h.server.service(&link, ring: ring)
            #expect(StoreHarness.events(result.actions, for: watcher) == ["/local/domain/3/own"])
            let replies = guest.receiveAll()
            #expect(replies.map(\.type) == [.watchEvent, .write])
            #expect(replies.first?.strings == ["/local/domain/3/own", "mine"])
        }
    }

    @Test func attachResetsIndexesAndAnswersReconnect() {
        withRing { ring in
            let guest = GuestRing(ring)
            guest.setAllIndexes(77)
            guest.setIndex(XenStoreRingLayout.connectionOffset, XenStoreConnectionState.reconnect.rawValue)
            guest.setIndex(XenStoreRingLayout.errorOffset, 3)
            ring.attach()
            #expect(ring.requestConsumer == 0 && ring.requestProducer == 0)
            #expect(ring.responseConsumer == 0 && ring.responseProducer == 0)
            #expect(ring.connectionState == XenStoreConnectionState.connected.rawValue)
            #expect(ring.serverFeatures == XenStoreServerFeature.error)
            #expect(ring.errorCode == 0)
        }
    }

    @Test func outboxDropsDuplicateEventsButNotSpecialOnes() {
        var outbox = XenStoreOutbox()
        outbox.enqueueEvent(path: "/a", token: [1])
        outbox.enqueueEvent(path: "/a", token: [1])
        outbox.enqueueEvent(path: "/a", token: [2])
        outbox.enqueueEvent(path: "@releaseDomain", token: [1])
        outbox.enqueueEvent(path: "@releaseDomain", token: [1])
        outbox.enqueueReply(XenStoreMessage(type: .read))
        #expect(outbox.count == 5)
        #expect(outbox.pendingReplies == 1)
        var sink: [UInt8] = []
        let written = outbox.drain { bytes in
            let take = min(bytes.count, 7)
            sink += bytes.prefix(take)
            return take
        }
        #expect(written == 7)
        #expect(outbox.count == 5)
        _ = outbox.drain { bytes in sink += bytes; return bytes.count }
        #expect(outbox.isEmpty && outbox.pendingReplies == 0)
        var assembler = XenStoreMessageAssembler()
        #expect((try? assembler.feed(sink))?.count == 5)
        // Once sent, the same event may be queued again.
        outbox.enqueueEvent(path: "/a", token: [1])
        #expect(outbox.count == 1)
    }

    @Test func randomGarbageNeverTraps() {
        var generator = SplitMix64(seed: 0x5eed)
        for _ in 0..<300 {
            var (h, link) = setup()
            withRing { ring in
                let guest = GuestRing(ring)
                for offset in stride(from: 0, to: XenStoreRingLayout.size, by: 4) {
                    guest.setIndex(offset, UInt32(truncatingIfNeeded: generator.next()))
                }
                if generator.next() % 2 == 0 {
                    // Plausible indexes with garbage data.
                    let start = UInt32(truncatingIfNeeded: generator.next())
                    guest.setAllIndexes(start)
                    guest.setIndex(XenStoreRingLayout.requestProducerOffset, start &+ UInt32(generator.next() % 1025))
                }
                for _ in 0..<4 { _ = h.server.service(&link, ring: ring) }
            }
        }
    }
}

/// A small deterministic generator for reproducible random tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
