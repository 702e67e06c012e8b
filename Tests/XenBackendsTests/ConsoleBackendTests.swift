import Synchronization
import Testing
import XenABI
import XenBackends
import XenControl

/// The console backend wired to a mock frontend: a page in host memory behind fake grants
/// and event channels, the guest played by the test.
@Suite struct ConsoleBackendTests {
    final class Collector: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var all: [UInt8] { bytes.withLock { $0 } }
        var sink: ConsoleBackend.Sink { { chunk in self.bytes.withLock { $0 += chunk } } }
    }

    static let guest = DomainID(1)
    static let port = EventChannelPort(2)

    struct Rig {
        let grants = FakeGrants()
        let events = FakeEvents()
        let collector = Collector()
        let page: GuestConsole

        init(domain: DomainID = guest) {
            page = GuestConsole(base: grants.grant(domain, GrantTableLimits.consoleReference))
            page.base.storeBytes(of: ConsoleConnectionState.disconnected.rawValue,
                                 toByteOffset: ConsoleRingLayout.connectionOffset, as: UInt8.self)
        }

        func backend(_ configuration: ConsoleBackend.Configuration = .init(), domain: DomainID = guest,
                     sink: Bool = true) throws -> ConsoleBackend {
            try ConsoleBackend(domain: domain, port: port, grants: grants, events: events, configuration: configuration,
                               sink: sink ? collector.sink : nil)
        }
    }

    @Test func startsConnectedOnTheReservedGrantAndTheConsolePort() throws {
        let rig = Rig()
        let backend = try rig.backend()
        #expect(rig.grants.liveMappings == 1)
        #expect(rig.page.connection == ConsoleConnectionState.connected.rawValue)
        #expect(rig.events.isBound(Self.guest, Self.port))
        #expect(backend.localPort != nil)
        #expect(backend.deviceState == .connected)
        backend.close()
    }

    @Test func guestOutputReachesTheSinkAndTheGuestIsNotified() throws {
        let rig = Rig()
        let backend = try rig.backend()
        #expect(rig.page.write("hello, hvc0\n") == 12)
        rig.events.guestSends(Self.guest, Self.port)
        backend.flush()
        #expect(rig.collector.all == Array("hello, hvc0\n".utf8))
        #expect(rig.page.outputConsumer == 12)
        #expect(rig.events.notifications(to: Self.port) >= 1)
        #expect(backend.statistics.outputBytes == 12)
        backend.close()
    }

    /// The guest keeps writing while the backend consumes on its own queue: every byte
    /// arrives once, in order, across many wraps of the ring.
    @Test func concurrentStreamArrivesWholeAndInOrder() throws {
        let rig = Rig()
        let backend = try rig.backend()
        let stream = pattern(100_000, seed: 3)
        var sent = 0
        var spins = 0
        while sent < stream.count, spins < 10_000_000 {
            let n = rig.page.write(stream[sent..<min(sent + 700, stream.count)])
            sent += n
            rig.events.guestSends(Self.guest, Self.port)
            spins += 1
        }
        backend.flush()
        #expect(sent == stream.count)
        #expect(rig.collector.all == stream)
        backend.close()
    }

    /// No sink attached: output waits in the bounded buffer, then the ring fills and the
    /// guest waits (backpressure); attaching a sink delivers everything in order.
    @Test func withoutASinkOutputIsHeldBoundedUntilOneAttaches() throws {
        let rig = Rig()
        let backend = try rig.backend(.init(outputLimit: 8192), sink: false)
        var produced: [UInt8] = []
        for round in 0..<10 {
            let bytes = pattern(2048, seed: round)
            produced += bytes[..<rig.page.write(bytes)]
            rig.events.guestSends(Self.guest, Self.port)
            backend.flush()
            #expect(backend.bufferedOutputBytes <= 8192)
        }
        #expect(backend.bufferedOutputBytes == 8192)
        #expect(rig.page.outputProducer &- rig.page.outputConsumer == 2048)
        backend.setSink(rig.collector.sink)
        backend.flush()
        #expect(rig.collector.all == produced)
        #expect(backend.bufferedOutputBytes == 0)
        backend.close()
    }

    @Test func discardModeNeverMakesTheGuestWait() throws {
        let rig = Rig()
        let backend = try rig.backend(.init(outputLimit: 4096, overflow: .discardOldest), sink: false)
        var produced: [UInt8] = []
        for round in 0..<50 {
            let bytes = pattern(2000, seed: round)
            #expect(rig.page.write(bytes) == 2000)
            produced += bytes
            rig.events.guestSends(Self.guest, Self.port)
            backend.flush()
        }
        #expect(backend.statistics.droppedOutputBytes == UInt64(produced.count - 4096))
        backend.setSink(rig.collector.sink)
        backend.flush()
        #expect(rig.collector.all == Array(produced.suffix(4096)))
        backend.close()
    }

    /// A hostile producer index disconnects that console only: its port is closed and its
    /// page unmapped; another domain's console keeps working.
    @Test func aBrokenRingDisconnectsOnlyThatConsole() throws {
        let rig = Rig()
        let otherDomain = DomainID(2)
        let otherPage = GuestConsole(base: rig.grants.grant(otherDomain, GrantTableLimits.consoleReference))
        let backend = try rig.backend()
        let other = try ConsoleBackend(domain: otherDomain, port: Self.port, grants: rig.grants, events: rig.events,
                                       sink: nil)
        rig.page.write("fine\n")
        rig.page.setIndex(ConsoleRingLayout.outputProducerOffset, 0x8000_0000)
        rig.events.guestSends(Self.guest, Self.port)
        backend.flush()
        #expect(backend.deviceState == .broken(.outputIndex(consumer: 0, producer: 0x8000_0000)))
        #expect(!rig.events.isBound(Self.guest, Self.port))
        #expect(backend.localPort == nil)
        #expect(rig.grants.liveMappings == 1)
        #expect(rig.collector.all.isEmpty)
        // The other console is untouched.
        otherPage.write("still here")
        rig.events.guestSends(otherDomain, Self.port)
        other.flush()
        #expect(other.deviceState == .connected)
        #expect(other.bufferedOutputBytes == 10)
        backend.close()
        other.close()
        #expect(rig.grants.liveMappings == 0)
    }

    @Test func closeDeliversTheLastOutputAndReleasesEverything() throws {
        let rig = Rig()
        let backend = try rig.backend()
        backend.flush()
        rig.page.write("last words\n")  // no notification: the domain died right after
        backend.close()
        #expect(rig.collector.all == Array("last words\n".utf8))
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.events.boundCount == 0)
        #expect(backend.deviceState == .closed)
        #expect(!rig.events.guestSends(Self.guest, Self.port))
        backend.close()
        #expect(rig.grants.unmapCount == 1)
    }

    @Test func droppingTheBackendReleasesItsMappingAndPort() throws {
        let rig = Rig()
        do {
            let backend = try rig.backend()
            backend.flush()
        }
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.events.boundCount == 0)
    }

    @Test func inputReachesTheGuestWithFlowControl() throws {
        let rig = Rig()
        let backend = try rig.backend()
        #expect(backend.sendInput(Array("ls\n".utf8)) == 3)
        backend.flush()
        #expect(rig.page.read() == Array("ls\n".utf8))
        let before = rig.events.notifications(to: Self.port)
        let typed = pattern(5000)
        let accepted = backend.sendInput(typed)
        #expect(accepted == ConsoleDevice.defaultInputLimit)
        var received: [UInt8] = []
        for _ in 0..<10 {
            backend.flush()
            received += rig.page.read(maximum: 700)
            rig.events.guestSends(Self.guest, Self.port)  // hvc notifies after reading
        }
        backend.flush()
        received += rig.page.read()
        #expect(received == Array(typed[..<accepted]))
        #expect(rig.events.notifications(to: Self.port) > before)
        backend.close()
        #expect(backend.sendInput([1, 2, 3]) == 0)
    }

    @Test func failingToMapOrBindLeavesNothingBehind() throws {
        let rig = Rig()
        #expect(throws: ConsoleBackendError.map(DomainID(9), GrantTableLimits.consoleReference, GrantError(.badGrantReference))) {
            _ = try rig.backend(domain: DomainID(9))
        }
        rig.events.state.withLock { $0.failBinds = .EINVAL }
        #expect(throws: ConsoleBackendError.bind(Self.guest, Self.port, .EINVAL)) {
            _ = try rig.backend()
        }
        #expect(rig.grants.liveMappings == 0)
        #expect(rig.page.connection == ConsoleConnectionState.disconnected.rawValue)
    }
}
