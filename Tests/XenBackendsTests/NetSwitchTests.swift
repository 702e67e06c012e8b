import Synchronization
import Testing
import XenBackends

@Suite struct NetSwitchTests {
    static let a = MACAddress("00:16:3e:00:00:0a")!
    static let b = MACAddress("00:16:3e:00:00:0b")!
    static let c = MACAddress("00:16:3e:00:00:0c")!

    final class FakeClock: Sendable {
        let now = Mutex<UInt64>(1_000)
        var read: @Sendable () -> UInt64 { { self.now.withLock { $0 } } }
        func advance(seconds: UInt64) { now.withLock { $0 += seconds * 1_000_000_000 } }
    }

    struct Rig {
        let clock = FakeClock()
        let fabric: VirtualSwitch
        let sinks = [NetCapture(), NetCapture(), NetCapture()]
        let ports: [VirtualSwitchPort]

        init(perPort: Int = 256, table: Int = 4096) {
            let fabric = VirtualSwitch(name: "test", macTableLimit: table, perPortMACLimit: perPort, ageingSeconds: 300,
                                       clock: clock.read)
            self.fabric = fabric
            ports = sinks.enumerated().map { fabric.attach($1, label: "p\($0)") }
        }

        func send(_ port: Int, to: MACAddress, from: MACAddress, seed: Int = 0) {
            ports[port].deliver(NetFrame(bytes: ethernetFrame(to: to, from: from, payload: netPattern(46, seed: seed))))
        }
        func counts() -> [Int] { sinks.map { $0.frames.count } }
        func clear() { sinks.forEach { $0.clear() } }
    }

    @Test func floodsUnknownThenForwardsLearned() {
        let rig = Rig()
        rig.send(0, to: Self.b, from: Self.a)
        #expect(rig.counts() == [0, 1, 1])
        rig.clear()
        rig.send(1, to: Self.a, from: Self.b)
        #expect(rig.counts() == [1, 0, 0])
        rig.clear()
        rig.send(0, to: Self.b, from: Self.a)
        #expect(rig.counts() == [0, 1, 0])
        #expect(rig.fabric.port(of: Self.a) == rig.ports[0].id)
        let stats = rig.fabric.statistics
        #expect(stats.flooded == 1)
        #expect(stats.forwarded == 2)
        #expect(stats.learned == 2)
    }

    @Test func broadcastAndMulticastAreFlooded() {
        let rig = Rig()
        rig.send(1, to: Self.a, from: Self.b)
        rig.send(0, to: Self.b, from: Self.a)
        rig.clear()
        rig.send(0, to: .broadcast, from: Self.a)
        rig.send(0, to: MACAddress("01:00:5e:00:00:01")!, from: Self.a)
        #expect(rig.counts() == [0, 2, 2])
    }

    @Test func frameForItsOwnSegmentIsFiltered() {
        let rig = Rig()
        rig.send(0, to: .broadcast, from: Self.a)
        rig.send(0, to: .broadcast, from: Self.c)
        rig.clear()
        rig.send(0, to: Self.c, from: Self.a)
        #expect(rig.counts() == [0, 0, 0])
        #expect(rig.fabric.statistics.filtered == 1)
    }

    @Test func addressesMoveAndAgeOut() {
        let rig = Rig()
        rig.send(0, to: .broadcast, from: Self.a)
        rig.send(2, to: .broadcast, from: Self.a)
        #expect(rig.fabric.port(of: Self.a) == rig.ports[2].id)
        rig.clock.advance(seconds: 301)
        #expect(rig.fabric.port(of: Self.a) == nil)
        rig.clear()
        rig.send(1, to: Self.a, from: Self.b)
        #expect(rig.counts() == [1, 0, 1])
    }

    @Test func perPortBoundStopsLearning() {
        let rig = Rig(perPort: 4)
        for i in 0..<10 {
            rig.send(0, to: .broadcast, from: MACAddress(rawValue: 0x00163E00_1000 + UInt64(i)))
        }
        #expect(rig.fabric.statistics.learned == 4)
        #expect(rig.fabric.statistics.tableFull == 6)
        // Another port still learns.
        rig.send(1, to: .broadcast, from: Self.b)
        #expect(rig.fabric.port(of: Self.b) == rig.ports[1].id)
    }

    @Test func tableBoundEvictsOnlyExpiredEntries() {
        let rig = Rig(table: 3)
        rig.send(0, to: .broadcast, from: Self.a)
        rig.send(1, to: .broadcast, from: Self.b)
        rig.send(2, to: .broadcast, from: Self.c)
        rig.send(2, to: .broadcast, from: MACAddress("00:16:3e:00:00:0d")!)
        #expect(rig.fabric.statistics.tableFull == 1)
        rig.clock.advance(seconds: 400)
        rig.send(2, to: .broadcast, from: MACAddress("00:16:3e:00:00:0d")!)
        #expect(rig.fabric.port(of: MACAddress("00:16:3e:00:00:0d")!) == rig.ports[2].id)
    }

    @Test func refusalsAreCountedAndRuntsDropped() {
        let rig = Rig()
        rig.sinks[1].refuse = true
        rig.send(0, to: .broadcast, from: Self.a)
        #expect(rig.ports[1].statistics?.dropped == 1)
        #expect(rig.ports[2].statistics?.sent == 1)
        #expect(rig.ports[0].statistics?.received == 1)
        #expect(!rig.ports[0].deliver(NetFrame(bytes: [1, 2, 3])))
        #expect(rig.ports[0].statistics?.runts == 1)
    }

    @Test func detachedPortsGetNothingAndForgetAddresses() {
        let rig = Rig()
        rig.send(1, to: .broadcast, from: Self.b)
        rig.ports[1].detach()
        #expect(rig.fabric.port(of: Self.b) == nil)
        rig.clear()
        rig.send(0, to: Self.b, from: Self.a)
        #expect(rig.counts() == [0, 0, 1])
        #expect(!rig.ports[1].deliver(NetFrame(bytes: ethernetFrame(to: Self.a, from: Self.b, payload: netPattern(46)))))
        #expect(rig.fabric.portCount == 2)
    }

    @Test func sinksAreHeldWeakly() {
        let fabric = VirtualSwitch(name: "weak")
        var sink: NetCapture? = NetCapture()
        weak let weakSink = sink
        let port = fabric.attach(sink!)
        sink = nil
        #expect(weakSink == nil)
        let other = NetCapture()
        let otherPort = fabric.attach(other)
        port.deliver(NetFrame(bytes: ethernetFrame(to: .broadcast, from: Self.a, payload: netPattern(46))))
        #expect(other.frames.count == 1)
        _ = otherPort
    }

    @Test func macAddressParsing() {
        #expect(MACAddress("00:16:3E:0a:0B:0c")?.description == "00:16:3e:0a:0b:0c")
        #expect(MACAddress("00-16-3e-0a-0b-0c") == MACAddress("00:16:3e:0a:0b:0c"))
        for bad in ["", "00:16:3e:0a:0b", "00:16:3e:0a:0b:0c:0d", "00:16:3e:0a:0b:zz", "000:16:3e:0a:0b:0c", "::::::"] {
            #expect(MACAddress(bad) == nil)
        }
        #expect(MACAddress.broadcast.isMulticast && MACAddress.broadcast.isBroadcast)
        #expect(!Self.a.isMulticast)
        var generator = SystemRandomNumberGenerator()
        let random = MACAddress.randomXen(using: &generator)
        #expect(random.rawValue >> 24 == MACAddress.xenOUI)
        #expect(!random.isMulticast)
    }
}
