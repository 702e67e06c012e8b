import Glibc
import Testing
import XenBackends

/// The host's networks: named switches shared by name, the user-mode network behind its
/// own switch, started on first use and stopped by `close`.
@Suite struct NetHubTests {
    static let a = MACAddress("00:16:3e:00:00:a1")!
    static let b = MACAddress("00:16:3e:00:00:b1")!

    @Test func sinksOnTheSameNamedSwitchTalk() throws {
        let hub = NetworkHub()
        defer { hub.close() }
        let one = NetCapture(), two = NetCapture(), other = NetCapture()
        let p1 = try hub.plug(one, into: .virtualSwitch("lan"))
        _ = try hub.plug(two, into: .virtualSwitch("lan"))
        _ = try hub.plug(other, into: .virtualSwitch("dmz"))
        #expect(hub.virtualSwitch(named: "lan") === hub.virtualSwitch(named: "lan"))
        p1.deliver(NetFrame(bytes: ethernetFrame(to: .broadcast, from: Self.a, payload: netPattern(46))))
        #expect(two.frames.count == 1)
        #expect(other.frames.isEmpty)
        #expect(hub.userNetwork == nil)
    }

    @Test func theUserNetworkStartsOnFirstUseAndAnswersDHCP() throws {
        let hub = NetworkHub()
        let guest = NetCapture()
        let port = try hub.plug(guest, into: .user)
        #expect(hub.userNetwork != nil)
        port.deliver(NetFrame(bytes: NetPackets.dhcpDiscover(mac: Self.b, transaction: 7)))
        var offer: (type: UInt8, yourAddress: [UInt8], transaction: UInt32)?
        for _ in 0..<500 where offer == nil {
            offer = guest.frames.lazy.compactMap { NetPackets.parseDHCP($0.bytes) }.first
            if offer == nil { usleep(5000) }
        }
        #expect(offer?.yourAddress == [10, 0, 2, 15])
        hub.close()
        #expect(hub.userNetwork == nil)
        #expect(throws: UserNetworkError.closed) { try hub.plug(NetCapture(), into: .user) }
    }
}
