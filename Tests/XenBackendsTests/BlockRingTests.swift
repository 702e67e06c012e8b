import Foundation
import Synchronization
import Testing
import XenABI
import XenBackends
import XenControl

/// The ring itself: every starting index including the 32-bit wrap, multi-page rings with
/// straddling slots, the notification rule, the hostile producer index, reconnection.
@Suite struct BlockRingTests {
    typealias Rig = BlockBackendTests.Rig
    static let guest = BlockBackendTests.guest
    static let port = EventChannelPort(5)

    /// A full ring's worth of writes then reads, starting at indexes around every wrap
    /// that matters; every response is in order and the data is right.
    @Test(arguments: [UInt32(0), 1, 31, 32, 33, 0x7FFF_FFF0, 0xFFFF_FFE0, 0xFFFF_FFF0, 0xFFFF_FFFF])
    func everyStartIndexIncludingTheWrap(_ start: UInt32) throws {
        let rig = try Rig(startIndex: start)
        var pages: [(GrantReference, UnsafeMutableRawPointer)] = []
        for i in 0..<rig.front.size {
            let p = rig.front.dataPage()
            let data = blockPattern(4096, seed: i)
            data.withUnsafeBytes { p.1.copyMemory(from: $0.baseAddress!, byteCount: 4096) }
            pages.append(p)
            rig.front.queue(.write(id: UInt64(i), sector: UInt64(i * 8), [.page(p.0)]))
        }
        let writes = rig.exchange()
        #expect(writes.map(\.id) == (0..<UInt64(rig.front.size)).map { $0 })
        #expect(writes.allSatisfy { $0.status == 0 })
        for (i, p) in pages.enumerated() {
            p.1.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
            rig.front.queue(.read(id: 1000 + UInt64(i), sector: UInt64(i * 8), [.page(p.0)]))
        }
        let reads = rig.exchange()
        #expect(reads.map(\.id) == (0..<UInt64(rig.front.size)).map { 1000 + $0 })
        for (i, p) in pages.enumerated() {
            #expect(Array(UnsafeRawBufferPointer(start: p.1, count: 4096)) == blockPattern(4096, seed: i))
        }
        #expect(rig.front.header(BlockRingLayout.responseProducer) == start &+ UInt32(2 * rig.front.size))
        #expect(rig.front.header(BlockRingLayout.requestEvent) == start &+ UInt32(2 * rig.front.size) &+ 1)
        rig.backend.close()
    }

    /// Rings of 4 and 16 pages: slots straddle page boundaries (112 does not divide 4096).
    @Test(arguments: [2, 4])
    func multiPageRings(_ order: Int) throws {
        let rig = try Rig(order: order, startIndex: 0xFFFF_FF00)
        #expect(rig.grants.liveMappings == 1 << order)
        #expect(rig.front.size == BlockRingLayout.ringSize(pages: 1 << order))
        let (ref, page) = rig.front.dataPage()
        for round in 0..<3 {
            for i in 0..<rig.front.size {
                rig.front.queue(.read(id: UInt64(round * 10_000 + i), sector: UInt64(i % 256) * 8, [.page(ref)]))
            }
            let responses = rig.exchange()
            #expect(responses.count == rig.front.size)
            #expect(responses.map(\.id) == (0..<rig.front.size).map { UInt64(round * 10_000 + $0) })
            #expect(responses.allSatisfy { $0.status == 0 && $0.operation == 0 })
        }
        _ = page
        rig.backend.close()
        #expect(rig.grants.liveMappings == 0)
    }

    /// req_prod more than a ring ahead: that device is disconnected (ring unmapped, port
    /// closed), the failure reported; another disk of the same guest keeps working.
    @Test func aRunawayProducerDisconnectsOnlyThatDevice() throws {
        let rig = try Rig(startIndex: 100)
        let reported = Mutex<BlockRingError?>(nil)
        let done = DispatchSemaphore(value: 0)
        rig.backend.setFailureHandler { error in
            reported.withLock { $0 = error }
            done.signal()
        }
        let otherPath = rig.scratch.file("other.img", size: 65536)
        let other = GuestBlockFrontendOnPort(grants: rig.grants, port: EventChannelPort(9))
        let otherBackend = try BlockBackend(domain: Self.guest,
                                            configuration: try BlockDeviceConfiguration(path: otherPath, vdev: "xvdb"),
                                            grants: rig.grants, events: rig.events)
        try otherBackend.connect(other.transport)

        rig.front.setHeader(BlockRingLayout.requestProducer, 100 + 33)
        rig.events.guestSends(Self.guest, Self.port)
        rig.backend.serviceNow()
        #expect(done.wait(timeout: .now() + 10) == .success)
        let expected = BlockRingError.requestIndex(responseProducer: 100, requestProducer: 133, ringSize: 32)
        #expect(reported.withLock { $0 } == expected)
        #expect(rig.backend.lastFailure == expected)
        #expect(!rig.backend.isConnected)
        #expect(!rig.events.isBound(Self.guest, Self.port))
        // Nothing was answered.
        #expect(rig.front.header(BlockRingLayout.responseProducer) == 100)

        let (ref, _) = other.front.dataPage()
        other.front.queue(.read(id: 1, sector: 0, [.page(ref)]))
        other.front.publish()
        rig.events.guestSends(Self.guest, EventChannelPort(9))
        otherBackend.serviceNow()
        #expect(other.front.responses() == [BlockRingResponse(id: 1, operation: 0, status: .okay)])
        otherBackend.close()
        rig.backend.close()
    }

    /// Exactly a ring of requests is fine; indexes far behind (req_prod < rsp_prod) are a
    /// runaway too (the difference wraps).
    @Test func aFullRingIsFineButBackwardsIsNot() throws {
        let rig = try Rig(startIndex: 0xFFFF_FFF8)
        let (ref, _) = rig.front.dataPage()
        for i in 0..<32 { rig.front.queue(.read(id: UInt64(i), sector: 0, [.page(ref)])) }
        #expect(rig.exchange().count == 32)
        rig.front.setHeader(BlockRingLayout.requestProducer, rig.front.requestProducer &- 1)
        rig.events.guestSends(Self.guest, Self.port)
        rig.backend.serviceNow()
        #expect(!rig.backend.isConnected)
        rig.backend.close()
    }

    /// The guest gets an event only when rsp_event lies in the responses just published.
    @Test func notificationsFollowRspEvent() throws {
        let rig = try Rig()
        let (ref, _) = rig.front.dataPage()
        let before = rig.events.notifications(to: Self.port)
        rig.front.queue(.read(id: 1, sector: 0, [.page(ref)]))
        #expect(rig.exchange().count == 1)
        #expect(rig.events.notifications(to: Self.port) == before + 1)
        // The frontend polls and does not re-arm rsp_event: no event for later responses.
        rig.front.setHeader(BlockRingLayout.responseEvent, 1000)
        rig.front.queue(.read(id: 2, sector: 0, [.page(ref)]))
        rig.front.publish()
        rig.events.guestSends(Self.guest, Self.port)
        rig.backend.serviceNow()
        #expect(rig.events.notifications(to: Self.port) == before + 1)
        rig.front.setHeader(BlockRingLayout.responseEvent, 3)   // re-armed for the next one
        rig.front.queue(.read(id: 3, sector: 0, [.page(ref)]))
        rig.front.publish()
        rig.events.guestSends(Self.guest, Self.port)
        rig.backend.serviceNow()
        #expect(rig.events.notifications(to: Self.port) == before + 2)
        #expect(rig.backend.statistics.notifications == UInt64(before + 2))
        rig.backend.close()
    }

    /// Requests published without a notification are served by the next pass, whatever
    /// the per-call budget: a pass keeps calling the device until the ring is idle.
    @Test func passesHaveABudget() throws {
        let scratch = BlockScratch()
        let grants = FakeGrants(frames: 64)
        let events = FakeEvents()
        let front = GuestBlockFrontend(grants: grants, domain: Self.guest, order: 0)
        let backend = try BlockBackend(domain: Self.guest,
                                       configuration: try BlockDeviceConfiguration(path: scratch.file("d.img", size: 65536),
                                                                                   vdev: "xvda"),
                                       grants: grants, events: events, requestsPerPass: 5)
        try backend.connect(front.transport)
        let (ref, _) = front.dataPage()
        for i in 0..<20 { front.queue(.read(id: UInt64(i), sector: 0, [.page(ref)])) }
        front.publish()
        backend.serviceNow()
        let first = front.header(BlockRingLayout.responseProducer)
        #expect(first >= 5)
        // The rest follow on passes the backend scheduled itself.
        var spins = 0
        while front.header(BlockRingLayout.responseProducer) < 20, spins < 1000 {
            backend.serviceNow()
            spins += 1
        }
        #expect(front.responses().map(\.id) == (0..<20).map { UInt64($0) })
        backend.close()
    }

    /// After a disconnect (a frontend that closed), a new connection on a fresh ring works.
    @Test func reconnectsAfterDisconnect() throws {
        let rig = try Rig()
        let (ref, _) = rig.front.dataPage()
        rig.front.queue(.read(id: 1, sector: 0, [.page(ref)]))
        #expect(rig.exchange().count == 1)
        rig.backend.disconnect()
        #expect(!rig.backend.isConnected && rig.grants.liveMappings == 0)
        // The guest re-initialises the same ring page (SHARED_RING_INIT) and reconnects.
        for offset in [0, 8] { rig.front.setHeader(offset, 0) }
        rig.front.setHeader(BlockRingLayout.requestEvent, 1)
        rig.front.setHeader(BlockRingLayout.responseEvent, 1)
        rig.front.requestProducer = 0
        rig.front.responseConsumer = 0
        try rig.backend.connect(rig.front.transport)
        rig.front.queue(.read(id: 2, sector: 0, [.page(ref)]))
        #expect(rig.exchange() == [BlockRingResponse(id: 2, operation: 0, status: .okay)])
        rig.backend.close()
        #expect(throws: BlockBackendError.closed) { try rig.backend.connect(rig.front.transport) }
        #expect(rig.grants.liveMappings == 0)
    }

    @Test func connectFailuresReleaseWhatWasTaken() throws {
        let scratch = BlockScratch()
        let grants = FakeGrants(frames: 8)
        let events = FakeEvents()
        let backend = try BlockBackend(domain: Self.guest,
                                       configuration: try BlockDeviceConfiguration(path: scratch.file("d.img", size: 8192),
                                                                                   vdev: "xvda"),
                                       grants: grants, events: events)
        grants.grant(Self.guest, GrantReference(8))
        // The second ring page is not granted.
        let twoPages = BlockFrontendTransport(ringReferences: [GrantReference(8), GrantReference(9)], eventChannel: Self.port)
        #expect(throws: BlockBackendError.map(Self.guest, GrantReference(9), GrantError(.badGrantReference))) {
            try backend.connect(twoPages)
        }
        #expect(grants.liveMappings == 0)
        events.state.withLock { $0.failBinds = .EINVAL }
        let one = BlockFrontendTransport(ringReferences: [GrantReference(8)], eventChannel: Self.port)
        #expect(throws: BlockBackendError.bind(Self.guest, Self.port, .EINVAL)) { try backend.connect(one) }
        #expect(grants.liveMappings == 0)
        let old = BlockFrontendTransport(ringReferences: [GrantReference(8)], eventChannel: Self.port, protocolABI: "x86_32-abi")
        #expect(throws: BlockBackendError.transport(.unsupportedProtocol("x86_32-abi"))) { try backend.connect(old) }
        backend.close()
    }
}

/// A second frontend of the same guest on its own ring references and port.
struct GuestBlockFrontendOnPort {
    let front: GuestBlockFrontend
    let transport: BlockFrontendTransport

    init(grants: FakeGrants, port: EventChannelPort) {
        front = GuestBlockFrontend(grants: grants, domain: BlockRingTests.guest, order: 0, startIndex: 0,
                                   firstRingReference: 500)
        transport = BlockFrontendTransport(ringReferences: front.ringReferences, eventChannel: port)
    }
}
