import Testing
import XenABI
import XenBackends
import XenControl

/// The receive half of the vif device logic: frames into posted buffers, multi-slot
/// frames, waiting for buffers, bounded queue, checksum offload choices, filters.
@Suite struct NetDeviceReceiveTests {
    static let guest = DomainID(4)
    static let me = MACAddress("00:16:3e:00:00:04")!
    static let peer = MACAddress("00:16:3e:00:00:05")!

    struct Rig {
        let grants = NetTestGrants()
        let front: NetTestFrontend
        var device: NetDevice
        var ring: NetRing { NetRing(front.rx, kind: .receive) }

        init(start: UInt32 = 0, features: NetFrontendFeatures = NetFrontendFeatures(), queueFrames: Int = 1024,
             queueBytes: Int = 1 << 20) {
            front = NetTestFrontend(domain: guest, grants: grants, start: start)
            device = NetDevice(domain: guest, features: features, transmitStart: start, receiveStart: start,
                               receiveQueueFrames: queueFrames, receiveQueueBytes: queueBytes)
        }

        mutating func pass() -> NetReceiveResult { device.receive(ring, grants: grants) }
    }

    func frame(_ size: Int, seed: Int = 0) -> NetFrame {
        NetFrame(bytes: ethernetFrame(to: Self.me, from: Self.peer, payload: netPattern(size - 14, seed: seed)))
    }

    @Test func frameIntoAPostedBuffer() {
        var rig = Rig()
        rig.front.postReceiveBuffers(4)
        let f = frame(98)
        let queued = rig.device.queue(f)
        #expect(queued)
        let result = rig.pass()
        #expect(result.failure == nil)
        #expect(result.notify)
        #expect(!result.waitingForBuffers)
        #expect(rig.front.receivedFrames() == [.init(bytes: f.bytes, flags: [])])
        #expect(rig.device.statistics.receivePackets == 1)
        #expect(rig.front.outstandingReceiveBuffers == 3)
    }

    @Test func largeFrameSpansSlotsWithMoreData() {
        var rig = Rig()
        rig.front.postReceiveBuffers(20)
        let f = frame(65535, seed: 9)
        let queued = rig.device.queue(f)
        #expect(queued)
        _ = rig.pass()
        let got = rig.front.receivedFrames()
        #expect(got.count == 1)
        #expect(got.first?.bytes == f.bytes)
        #expect(rig.front.outstandingReceiveBuffers == 4)
    }

    @Test func withoutScatterGatherLargeFramesAreDropped() {
        var rig = Rig(features: NetFrontendFeatures(scatterGather: false))
        rig.front.postReceiveBuffers(8)
        _ = rig.device.queue(frame(4097))
        _ = rig.device.queue(frame(4096, seed: 1))
        _ = rig.pass()
        #expect(rig.front.receivedFrames().map(\.bytes.count) == [4096])
        #expect(rig.device.statistics.receiveDroppedTooLarge == 1)
    }

    @Test func framesWaitForBuffersThenFlow() {
        var rig = Rig()
        for i in 0..<5 {
            let queued = rig.device.queue(frame(200, seed: i))
            #expect(queued)
        }
        let waiting = rig.pass()
        #expect(waiting.waitingForBuffers)
        #expect(!waiting.notify)
        #expect(rig.device.queuedFrames == 5)
        // req_event asks for a notification at the next post.
        #expect(rig.ring.requestEvent == 1)
        #expect(rig.front.postReceiveBuffers(3))
        let some = rig.pass()
        #expect(some.waitingForBuffers)
        #expect(rig.front.receivedFrames().count == 3)
        #expect(rig.device.queuedFrames == 2)
        rig.front.postReceiveBuffers(2)
        #expect(!rig.pass().waitingForBuffers)
        #expect(rig.front.receivedFrames().map(\.bytes) == [frame(200, seed: 3).bytes, frame(200, seed: 4).bytes])
    }

    @Test func multiSlotFrameWaitsForAllItsSlots() {
        var rig = Rig()
        _ = rig.device.queue(frame(9000))
        rig.front.postReceiveBuffers(2)
        #expect(rig.pass().waitingForBuffers)
        #expect(rig.front.receivedFrames().isEmpty)
        rig.front.postReceiveBuffers(1)
        _ = rig.pass()
        #expect(rig.front.receivedFrames().first?.bytes == frame(9000).bytes)
    }

    @Test func boundedQueueDropsAndCounts() {
        var rig = Rig(queueFrames: 4, queueBytes: 1 << 20)
        for i in 0..<10 { _ = rig.device.queue(frame(100, seed: i)) }
        #expect(rig.device.queuedFrames == 4)
        #expect(rig.device.statistics.receiveDroppedQueueFull == 6)
        var bytes = Rig(queueFrames: 100, queueBytes: 1000)
        for i in 0..<10 { _ = bytes.device.queue(frame(300, seed: i)) }
        #expect(bytes.device.queuedBytes == 900)
        #expect(bytes.device.statistics.receiveDroppedQueueFull == 7)
    }

    func tcpFrame(partial: Bool) -> [UInt8] {
        let src: [UInt8] = [10, 0, 0, 1], dst: [UInt8] = [10, 0, 0, 2]
        let segment = NetPackets.tcp(source: src, destination: dst, sourcePort: 1234, destinationPort: 80, sequence: 1,
                                     acknowledgement: 0, flags: [.ack, .psh], payload: netPattern(333), partial: partial)
        return NetPackets.frame(to: Self.me, from: Self.peer, type: 0x0800,
                                NetPackets.ipv4(source: src, destination: dst, proto: 6, payload: segment))
    }

    @Test func partialChecksumPassesToAnOffloadingFrontend() {
        var rig = Rig()
        rig.front.postReceiveBuffers(2)
        _ = rig.device.queue(NetFrame(bytes: tcpFrame(partial: true), checksum: .partial))
        _ = rig.device.queue(NetFrame(bytes: tcpFrame(partial: false), checksum: .validated))
        _ = rig.pass()
        let got = rig.front.receivedFrames()
        #expect(got.map(\.flags) == [[.checksumBlank, .dataValidated], [.dataValidated]])
        #expect(got.first?.bytes == tcpFrame(partial: true))
    }

    @Test func partialChecksumIsCompletedForAFrontendWithoutOffload() {
        var rig = Rig(features: NetFrontendFeatures(checksumOffload: false))
        rig.front.postReceiveBuffers(1)
        let partial = tcpFrame(partial: true)
        #expect(!NetChecksum.verifies(partial))
        _ = rig.device.queue(NetFrame(bytes: partial, checksum: .partial))
        _ = rig.pass()
        let got = rig.front.receivedFrames()
        #expect(got.first?.flags == [])
        #expect(got.first?.bytes == tcpFrame(partial: false))
        #expect(rig.device.statistics.checksumsCompleted == 1)
    }

    @Test func multicastFilterWhenRequested() {
        var rig = Rig(features: NetFrontendFeatures(multicastControl: true))
        rig.front.postReceiveBuffers(8)
        let group = MACAddress("01:00:5e:00:00:fb")!
        let other = MACAddress("01:00:5e:00:00:01")!
        _ = rig.device.queue(NetFrame(bytes: ethernetFrame(to: other, from: Self.peer, payload: netPattern(50))))
        _ = rig.device.queue(NetFrame(bytes: ethernetFrame(to: .broadcast, from: Self.peer, payload: netPattern(50))))
        _ = rig.pass()
        #expect(rig.front.receivedFrames().count == 1)
        #expect(rig.device.statistics.receiveDroppedFiltered == 1)
        _ = group
    }

    @Test func failedCopyShowsAsNegativeStatus() {
        var rig = Rig()
        rig.front.postReceiveBuffers(2)
        rig.grants.failCopies(Self.guest, GrantReference(16))
        _ = rig.device.queue(frame(100))
        _ = rig.device.queue(frame(100, seed: 1))
        let result = rig.pass()
        #expect(result.failure == nil)
        let got = rig.front.receivedFrames()
        #expect(got.count == 2)
        #expect(got.first?.errors == [GrantStatus.generalError.rawValue])
        #expect(got.last?.bytes == frame(100, seed: 1).bytes)
        #expect(rig.device.statistics.receiveCopyErrors == 1)
    }

    @Test func receiveIndexRunningAheadIsFatal() {
        var rig = Rig(start: 100)
        _ = rig.device.queue(frame(100))
        rig.front.setReceiveProducer(100 + 300)
        let result = rig.pass()
        #expect(result.failure == .receiveIndex(consumer: 100, producer: 400))
        #expect(rig.device.queuedFrames == 0)
        let refused = !rig.device.queue(frame(60))
        #expect(refused)
    }

    @Test func wrapAroundWithManyFrames() {
        var rig = Rig(start: UInt32.max - 100)
        var expected: [[UInt8]] = []
        var got: [[UInt8]] = []
        for round in 0..<12 {
            rig.front.postReceiveBuffers(min(60, 256 - rig.front.outstandingReceiveBuffers))
            for i in 0..<20 {
                let f = frame(60 + (round * 20 + i) * 97 % 9000, seed: i)
                expected.append(f.bytes)
                _ = rig.device.queue(f)
            }
            var result = rig.pass()
            while result.moreWork { result = rig.pass() }
            got += rig.front.receivedFrames().map(\.bytes)
        }
        while rig.device.queuedFrames > 0 {
            rig.front.postReceiveBuffers(min(30, 256 - rig.front.outstandingReceiveBuffers))
            _ = rig.pass()
            got += rig.front.receivedFrames().map(\.bytes)
        }
        #expect(got.count == expected.count)
        #expect(got == expected)
    }
}
