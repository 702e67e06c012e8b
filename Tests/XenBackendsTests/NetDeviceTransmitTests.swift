import Testing
import XenABI
import XenBackends
import XenControl

/// The transmit half of the vif device logic against a mock netfront: packets out of the
/// ring, one response per slot, and netback's fatal checks on hostile rings.
@Suite struct NetDeviceTransmitTests {
    static let guest = DomainID(3)
    static let a = MACAddress("00:16:3e:00:00:01")!
    static let b = MACAddress("00:16:3e:00:00:02")!

    struct Rig {
        let grants = NetTestGrants()
        let front: NetTestFrontend
        var device: NetDevice
        var ring: NetRing { NetRing(front.tx, kind: .transmit) }

        init(start: UInt32 = 0, features: NetFrontendFeatures = NetFrontendFeatures()) {
            front = NetTestFrontend(domain: guest, grants: grants, start: start)
            device = NetDevice(domain: guest, features: features, transmitStart: start, receiveStart: start)
        }

        mutating func pass() -> NetTransmitResult { device.transmit(ring, grants: grants) }
    }

    func frame(_ size: Int, seed: Int = 0) -> [UInt8] {
        ethernetFrame(to: Self.b, from: Self.a, payload: netPattern(size - 14, seed: seed))
    }

    @Test func singleSlotPacket() {
        var rig = Rig()
        let bytes = frame(60)
        let ids = rig.front.queue(bytes)
        rig.front.pushTransmit()
        let result = rig.pass()
        #expect(result.failure == nil)
        #expect(result.frames.map(\.bytes) == [bytes])
        #expect(result.frames.first?.checksum == NetFrame.Checksum.none)
        #expect(result.notify)
        #expect(rig.front.transmitResponses() == [NetTransmitResponse(id: ids[0], status: .okay)])
        #expect(rig.device.statistics.transmitPackets == 1)
        #expect(rig.device.statistics.transmitBytes == 60)
    }

    @Test func multiSlotPacketIsGatheredInOrder() {
        var rig = Rig()
        let bytes = frame(9000, seed: 4)
        let ids = rig.front.queue(bytes, slotSize: 3000, offset: 96)
        #expect(ids.count == 3)
        rig.front.pushTransmit()
        let result = rig.pass()
        #expect(result.frames.map(\.bytes) == [bytes])
        #expect(rig.front.transmitResponses() == ids.map { NetTransmitResponse(id: $0, status: .okay) })
    }

    @Test func largestPacketUsesEighteenSlots() {
        var rig = Rig()
        let bytes = frame(65535, seed: 2)
        let ids = rig.front.queue(bytes, slotSize: 4096)
        #expect(ids.count == 16)
        rig.front.pushTransmit()
        let result = rig.pass()
        #expect(result.failure == nil)
        #expect(result.frames.first?.bytes == bytes)
        // 1 + 18 followers of tiny slots is the most netback accepts.
        var small = Rig()
        let tiny = frame(19 * 14)
        #expect(small.front.queue(tiny, slotSize: 14).count == 19)
        small.front.pushTransmit()
        #expect(small.pass().frames.first?.bytes == tiny)
    }

    @Test func checksumFlagsBecomeFrameState() {
        var rig = Rig()
        rig.front.queue(frame(80), flags: [.checksumBlank, .dataValidated])
        rig.front.queue(frame(80), flags: [.dataValidated])
        rig.front.pushTransmit()
        #expect(rig.pass().frames.map(\.checksum) == [.partial, .validated])
    }

    @Test func manyPacketsAcrossTheWrapOfTheIndexes() {
        var rig = Rig(start: UInt32.max - 40)
        var sent: [[UInt8]] = []
        for round in 0..<6 {
            for i in 0..<30 {
                let bytes = frame(60 + (i * 37) % 1400, seed: round * 100 + i)
                sent.append(bytes)
                rig.front.queue(bytes, slotSize: 700)
            }
            rig.front.pushTransmit()
            var got: [[UInt8]] = []
            var result = rig.pass()
            got += result.frames.map(\.bytes)
            while result.moreWork {
                result = rig.pass()
                got += result.frames.map(\.bytes)
            }
            #expect(got == Array(sent.suffix(30)))
            #expect(rig.front.transmitResponses().allSatisfy { $0.status == 0 })
        }
        #expect(rig.device.statistics.transmitPackets == 180)
    }

    @Test func passBudgetLeavesMoreWork() {
        var rig = Rig()
        for i in 0..<100 { rig.front.queue(frame(60, seed: i)) }
        rig.front.pushTransmit()
        let first = rig.pass()
        #expect(first.frames.count == NetDevice.passBudget)
        #expect(first.moreWork)
        let second = rig.pass()
        #expect(second.frames.count == 100 - NetDevice.passBudget)
        #expect(!second.moreWork)
    }

    @Test func multicastControlRequests() {
        var rig = Rig()
        let group: [UInt8] = [0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB]
        let id = rig.front.freshID()
        rig.front.writeRequest(NetTransmitRequest(grant: GrantReference(0), offset: 0, flags: [.extraInfo], id: id, size: 0))
        rig.front.writeExtra(.multicast(true, address: group))
        rig.front.pushTransmit()
        let result = rig.pass()
        #expect(result.frames.isEmpty)
        #expect(result.failure == nil)
        #expect(rig.device.multicastFilter == [MACAddress(bytes: group)!])
        #expect(rig.front.transmitResponses() == [NetTransmitResponse(id: id, status: .okay),
                                                  NetTransmitResponse(id: 0, status: .null)])
        rig.front.writeRequest(NetTransmitRequest(grant: GrantReference(0), offset: 0, flags: [.extraInfo], id: 9, size: 0))
        rig.front.writeExtra(.multicast(false, address: group))
        rig.front.pushTransmit()
        _ = rig.pass()
        #expect(rig.device.multicastFilter.isEmpty)
    }

    @Test func unnegotiatedGSOIsRefusedNotFatal() {
        var rig = Rig()
        let ids = rig.front.queue(frame(3000), slotSize: 2000, extras: [.gso(size: 1448, type: .tcpv4)])
        rig.front.queue(frame(60))
        rig.front.pushTransmit()
        let result = rig.pass()
        #expect(result.failure == nil)
        #expect(result.frames.count == 1)
        let responses = rig.front.transmitResponses()
        #expect(responses.map(\.status) == [-1, 1, -1, 0])
        #expect(responses.first?.id == ids.first)
        #expect(rig.device.statistics.transmitErrors == 1)
    }

    // MARK: Hostile frontends: each is fatal and leaves the device inert.

    func expectFatal(_ rig: inout Rig, _ expected: NetDeviceError, sourceLocation: SourceLocation = #_sourceLocation) {
        let result = rig.pass()
        #expect(result.failure == expected, sourceLocation: sourceLocation)
        #expect(rig.device.state == .failed(expected), sourceLocation: sourceLocation)
        #expect(result.frames.isEmpty, sourceLocation: sourceLocation)
        // Nothing is touched any more.
        let again = rig.pass()
        #expect(again.failure == nil && again.frames.isEmpty && !again.notify, sourceLocation: sourceLocation)
    }

    @Test func producerMoreThanARingAhead() {
        var rig = Rig(start: 10)
        rig.front.setTransmitProducer(10 + 257)
        expectFatal(&rig, .transmitIndex(consumer: 10, producer: 267))
        var wrapped = Rig(start: 5)
        wrapped.front.setTransmitProducer(4)  // 2^32 - 1 ahead
        expectFatal(&wrapped, .transmitIndex(consumer: 5, producer: 4))
    }

    @Test func runtAndZeroSizedPackets() {
        var rig = Rig()
        rig.front.writeRequest(NetTransmitRequest(grant: GrantReference(0), offset: 0, flags: [], id: 4, size: 0))
        rig.front.pushTransmit()
        expectFatal(&rig, .runtPacket(id: 4, size: 0))
        var short = Rig()
        short.front.queue([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
        short.front.pushTransmit()
        expectFatal(&short, .runtPacket(id: 0, size: 13))
    }

    @Test func chainThatNeverEnds() {
        var rig = Rig()
        let ref = rig.front.freshRef()
        rig.grants.grant(Self.guest, ref)
        rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: [.moreData], id: 1, size: 200))
        rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: [.moreData], id: 2, size: 50))
        rig.front.pushTransmit()
        expectFatal(&rig, .unterminatedChain(id: 1))
    }

    @Test func tooManySlots() {
        var rig = Rig()
        let ref = rig.front.freshRef()
        rig.grants.grant(Self.guest, ref)
        rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: [.moreData], id: 0, size: 2000))
        for i in 1...19 {
            rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: i < 19 ? [.moreData] : [], id: UInt16(i),
                                                      size: 10))
        }
        rig.front.pushTransmit()
        expectFatal(&rig, .tooManySlots(id: 0, slots: 19))
    }

    @Test func slotCrossingItsPage() {
        var rig = Rig()
        let ref = rig.front.freshRef()
        rig.grants.grant(Self.guest, ref)
        rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 4000, flags: [], id: 7, size: 100))
        rig.front.pushTransmit()
        expectFatal(&rig, .crossesPage(id: 7, offset: 4000, size: 100))
        var follower = Rig()
        follower.grants.grant(Self.guest, ref)
        follower.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: [.moreData], id: 1, size: 5000))
        follower.front.writeRequest(NetTransmitRequest(grant: ref, offset: 100, flags: [], id: 2, size: 4000))
        follower.front.pushTransmit()
        expectFatal(&follower, .crossesPage(id: 2, offset: 100, size: 4000))
    }

    @Test func fragmentsLargerThanThePacket() {
        var rig = Rig()
        let ref = rig.front.freshRef()
        rig.grants.grant(Self.guest, ref)
        rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: [.moreData], id: 1, size: 100))
        rig.front.writeRequest(NetTransmitRequest(grant: ref, offset: 0, flags: [], id: 2, size: 101))
        rig.front.pushTransmit()
        expectFatal(&rig, .oversized(id: 1, declared: 100, fragments: 101))
    }

    @Test func badGrant() {
        var rig = Rig()
        rig.front.writeRequest(NetTransmitRequest(grant: GrantReference(777), offset: 0, flags: [], id: 1, size: 60))
        rig.front.pushTransmit()
        expectFatal(&rig, .badGrant(GrantReference(777), .badGrantReference))
        var failing = Rig()
        failing.front.queue(frame(60))
        failing.grants.failCopies(Self.guest, GrantReference(16))
        failing.front.pushTransmit()
        expectFatal(&failing, .badGrant(GrantReference(16), .generalError))
    }

    @Test func extraInfoMissingOrInvalid() {
        var rig = Rig()
        rig.front.writeRequest(NetTransmitRequest(grant: GrantReference(0), offset: 0, flags: [.extraInfo], id: 3, size: 60))
        rig.front.pushTransmit()
        expectFatal(&rig, .missingExtraInfo(id: 3))
        for type: UInt8 in [0, 6, 255] {
            var bad = Rig()
            bad.front.writeRequest(NetTransmitRequest(grant: GrantReference(0), offset: 0, flags: [.extraInfo], id: 3, size: 60))
            bad.front.writeExtra(NetExtraInfo(type: type, flags: 0))
            bad.front.pushTransmit()
            expectFatal(&bad, .badExtraInfoType(id: 3, type: type))
        }
        var endless = Rig()
        endless.front.writeRequest(NetTransmitRequest(grant: GrantReference(0), offset: 0, flags: [.extraInfo], id: 3, size: 60))
        for _ in 0..<5 { endless.front.writeExtra(NetExtraInfo(type: 4, flags: NetExtraInfoFlag.more)) }
        endless.front.pushTransmit()
        expectFatal(&endless, .missingExtraInfo(id: 3))
    }

    @Test func garbageRingNeverTraps() {
        // Random requests at every index: the device either delivers, refuses or fails,
        // and never reads outside the ring or the grants.
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<50 {
            var rig = Rig(start: UInt32.random(in: 0...UInt32.max, using: &generator))
            for ref in 16..<24 { rig.grants.grant(Self.guest, GrantReference(UInt32(ref))) }
            let count = Int.random(in: 1...40, using: &generator)
            for _ in 0..<count {
                rig.front.writeRequest(NetTransmitRequest(
                    grant: GrantReference(UInt32.random(in: 14...26, using: &generator)),
                    offset: UInt16.random(in: 0...UInt16.max, using: &generator) % (trial % 2 == 0 ? 5000 : 65535),
                    flags: NetTransmitFlags(rawValue: UInt16.random(in: 0...15, using: &generator)),
                    id: UInt16.random(in: 0...UInt16.max, using: &generator),
                    size: UInt16.random(in: 0...UInt16.max, using: &generator) % (trial % 3 == 0 ? 200 : 65535)))
            }
            rig.front.pushTransmit()
            for _ in 0..<4 { _ = rig.pass() }
        }
    }
}
