import Synchronization
import Testing
import XenABI
import XenBackends
import XenControl

/// The vif backend's host half wired to a mock netfront: rings mapped, ports bound,
/// passes on its queue, frames to the uplink and from `deliver`, disconnection.
@Suite struct NetBackendTests {
    static let guest = DomainID(6)
    static let me = MACAddress("00:16:3e:00:00:06")!
    static let peer = MACAddress("00:16:3e:00:00:07")!

    struct Rig {
        let grants = NetTestGrants()
        let events = FakeEvents()
        let uplink = NetCapture()
        let front: NetTestFrontend

        init() { front = NetTestFrontend(domain: guest, grants: grants) }

        func backend(features: NetFrontendFeatures = NetFrontendFeatures(), split: Bool = false,
                     onFailure: NetBackend.FailureHandler? = nil) throws -> NetBackend {
            try NetBackend(domain: guest, configuration: NetDeviceConfiguration(mac: me, network: .virtualSwitch("t")),
                           connection: front.connection(features: features, port: 5, receivePort: split ? 6 : nil),
                           grants: grants, events: events, uplink: uplink, onFailure: onFailure)
        }
    }

    func frame(_ size: Int, seed: Int = 0) -> [UInt8] {
        ethernetFrame(to: Self.peer, from: Self.me, payload: netPattern(size - 14, seed: seed))
    }

    @Test func connectsToBothRingsAndThePort() throws {
        let rig = Rig()
        let backend = try rig.backend()
        #expect(rig.grants.liveMappings == 2)
        #expect(rig.events.isBound(Self.guest, EventChannelPort(5)))
        #expect(backend.localPorts.transmit == backend.localPorts.receive)
        #expect(backend.deviceState == .connected)
        backend.close()
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.events.boundCount == 0)
        backend.close()
    }

    @Test func guestPacketsReachTheUplinkAndTheGuestIsNotified() throws {
        let rig = Rig()
        let backend = try rig.backend()
        let bytes = frame(1500)
        rig.front.queue(bytes, slotSize: 1000)
        rig.front.pushTransmit()
        rig.events.guestSends(Self.guest, EventChannelPort(5))
        backend.flush()
        #expect(rig.uplink.frames.map(\.bytes) == [bytes])
        #expect(rig.front.transmitResponses().count == 2)
        #expect(rig.events.notifications(to: EventChannelPort(5)) >= 1)
        backend.close()
    }

    @Test func deliveredFramesReachTheGuest() throws {
        let rig = Rig()
        let backend = try rig.backend(split: true)
        #expect(rig.events.isBound(Self.guest, EventChannelPort(6)))
        rig.front.postReceiveBuffers(8)
        let incoming = ethernetFrame(to: Self.me, from: Self.peer, payload: netPattern(500))
        #expect(backend.deliver(NetFrame(bytes: incoming)))
        backend.flush()
        #expect(rig.front.receivedFrames().map(\.bytes) == [incoming])
        #expect(rig.events.notifications(to: EventChannelPort(6)) >= 1)
        #expect(backend.statistics.receivePackets == 1)
        backend.close()
        #expect(rig.events.boundCount == 0)
    }

    @Test func framesWaitingForBuffersFlowWhenTheGuestPosts() throws {
        let rig = Rig()
        let backend = try rig.backend()
        for i in 0..<3 { backend.deliver(NetFrame(bytes: frame(100, seed: i))) }
        backend.flush()
        #expect(backend.queuedFrames == 3)
        // The guest posts and notifies because req_event asked for it.
        #expect(rig.front.postReceiveBuffers(3))
        rig.events.guestSends(Self.guest, EventChannelPort(5))
        backend.flush()
        #expect(rig.front.receivedFrames().count == 3)
        backend.close()
    }

    @Test func frontendWithoutReceiveNotifyIsPolled() async throws {
        let rig = Rig()
        let backend = try rig.backend(features: NetFrontendFeatures(receiveNotify: false))
        backend.deliver(NetFrame(bytes: frame(100)))
        backend.flush()
        rig.front.postReceiveBuffers(1)  // no notification
        var received: [NetTestFrontend.Received] = []
        for _ in 0..<200 where received.isEmpty {
            try await Task.sleep(for: .milliseconds(5))
            received = rig.front.receivedFrames()
        }
        #expect(received.count == 1)
        backend.close()
    }

    @Test func protocolViolationDisconnectsOnlyThisVif() throws {
        let rig = Rig()
        let failures = Mutex<[NetDeviceError]>([])
        let backend = try rig.backend(onFailure: { error in failures.withLock { $0.append(error) } })
        rig.front.setTransmitProducer(1000)
        rig.events.guestSends(Self.guest, EventChannelPort(5))
        backend.flush()
        #expect(failures.withLock { $0 } == [.transmitIndex(consumer: 0, producer: 1000)])
        #expect(backend.deviceState == .failed(.transmitIndex(consumer: 0, producer: 1000)))
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.events.boundCount == 0)
        #expect(!backend.deliver(NetFrame(bytes: frame(60))))
        backend.close()
    }

    @Test func mapAndBindFailuresReleaseWhatWasTaken() {
        let rig = Rig()
        rig.grants.revoke(Self.guest, rig.front.receiveRef)
        #expect(throws: NetBackendError.self) { try rig.backend() }
        #expect(rig.grants.liveMappings == 0)
        let other = Rig()
        other.events.state.withLock { $0.failBinds = .EINVAL }
        #expect(throws: NetBackendError.bind(Self.guest, EventChannelPort(5), .EINVAL)) { try other.backend() }
        #expect(other.grants.liveMappings == 0)
    }

    @Test func concurrentTrafficBothWays() throws {
        let rig = Rig()
        let backend = try rig.backend()
        let outbound = (0..<300).map { frame(60 + ($0 * 53) % 3000, seed: $0) }
        let inbound = (0..<300).map { ethernetFrame(to: Self.me, from: Self.peer, payload: netPattern(46 + ($0 * 31) % 2000, seed: $0)) }
        var sent = 0, delivered = 0
        var received: [[UInt8]] = []
        var spins = 0
        while (sent < outbound.count || received.count < inbound.count) && spins < 200_000 {
            spins += 1
            if sent < outbound.count, Int(rig.front.txProducer &- rig.front.txConsumer) < 200 {
                rig.front.queue(outbound[sent], slotSize: 2048)
                sent += 1
                rig.front.pushTransmit()
                rig.events.guestSends(Self.guest, EventChannelPort(5))
            }
            _ = rig.front.transmitResponses()
            if delivered < inbound.count, backend.deliver(NetFrame(bytes: inbound[delivered])) { delivered += 1 }
            if rig.front.outstandingReceiveBuffers < 64 {
                if rig.front.postReceiveBuffers(16) { rig.events.guestSends(Self.guest, EventChannelPort(5)) }
            }
            received += rig.front.receivedFrames().map(\.bytes)
        }
        backend.flush()
        received += rig.front.receivedFrames().map(\.bytes)
        #expect(rig.uplink.frames.map(\.bytes) == outbound)
        #expect(received == inbound)
        backend.close()
    }
}
