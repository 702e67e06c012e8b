import Testing
import XenBackends

@Suite struct NetChecksumTests {
    static let a = MACAddress("00:16:3e:00:00:0a")!
    static let b = MACAddress("00:16:3e:00:00:0b")!

    @Test func rfc1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded).
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        let sum = bytes.withUnsafeBytes { NetChecksum.sum($0, 0..<8) }
        #expect(NetChecksum.fold(sum) == 0xDDF2)
        #expect(bytes.withUnsafeBytes { NetChecksum.checksum($0, 0..<8) } == ~UInt16(0xDDF2))
        // Odd length pads with a zero byte.
        #expect([UInt8(0xAB)].withUnsafeBytes { NetChecksum.fold(NetChecksum.sum($0, 0..<1)) } == 0xAB00)
    }

    @Test func knownIPv4HeaderChecksum() {
        // A classic example header (Wikipedia's IPv4 header checksum): b861.
        let header: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
                               0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7]
        #expect(NetPackets.checksum(header) == 0xB861)
    }

    func ipv4Frame(proto: UInt8, partial: Bool, payload: [UInt8] = netPattern(501)) -> [UInt8] {
        let src: [UInt8] = [192, 168, 1, 2], dst: [UInt8] = [192, 168, 1, 3]
        let l4: [UInt8]
        if proto == 6 {
            l4 = NetPackets.tcp(source: src, destination: dst, sourcePort: 40000, destinationPort: 22, sequence: 0x1234_5678,
                                acknowledgement: 9, flags: [.ack], payload: payload, partial: partial)
        } else {
            var segment = NetPackets.udp(source: src, destination: dst, sourcePort: 5353, destinationPort: 53, payload: payload)
            if partial {
                let pseudo = NetPackets.pseudoHeaderSum(src, dst, proto: 17, length: segment.count)
                let folded = NetChecksum.fold(pseudo)
                segment[6] = UInt8(folded >> 8)
                segment[7] = UInt8(folded & 0xFF)
            }
            l4 = segment
        }
        return NetPackets.frame(to: Self.b, from: Self.a, type: 0x0800, NetPackets.ipv4(source: src, destination: dst,
                                                                                         proto: proto, payload: l4))
    }

    @Test func completesTCPAndUDP() {
        for proto: UInt8 in [6, 17] {
            var frame = ipv4Frame(proto: proto, partial: true)
            #expect(!NetChecksum.verifies(frame))
            #expect(NetChecksum.completePartial(&frame))
            #expect(NetChecksum.verifies(frame))
            #expect(frame == ipv4Frame(proto: proto, partial: false))
        }
    }

    @Test func completionIgnoresWhatTheFieldHeld() {
        var frame = ipv4Frame(proto: 6, partial: true)
        frame[14 + 20 + 16] = 0xDE
        frame[14 + 20 + 17] = 0xAD
        NetChecksum.completePartial(&frame)
        #expect(frame == ipv4Frame(proto: 6, partial: false))
    }

    @Test func vlanTaggedAndIPv6Frames() {
        var tagged = ipv4Frame(proto: 17, partial: true)
        tagged.insert(contentsOf: [0x81, 0x00, 0x00, 0x05], at: 12)
        #expect(NetChecksum.completePartial(&tagged))
        #expect(NetChecksum.verifies(tagged))

        let src = [UInt8](repeating: 0xFE, count: 16), dst = [UInt8](repeating: 0x20, count: 16)
        let udp = NetPackets.be16(1000) + NetPackets.be16(2000) + NetPackets.be16(8 + 40) + [0, 0] + netPattern(40)
        let ipv6: [UInt8] = [0x60, 0, 0, 0] + NetPackets.be16(UInt16(udp.count)) + [17, 64] + src + dst
        var frame = NetPackets.frame(to: Self.b, from: Self.a, type: 0x86DD, ipv6 + udp)
        #expect(NetChecksum.completePartial(&frame))
        #expect(NetChecksum.verifies(frame))
        // Computed independently: pseudo-header (addresses, length, next header) + segment.
        let pseudo = (src + dst + NetPackets.be32(UInt32(udp.count)) + [0, 0, 0, 17])
        let expected = NetPackets.checksum(pseudo + udp)
        #expect(UInt16(frame[frame.count - 40 - 2]) << 8 | UInt16(frame[frame.count - 40 - 1]) == expected)
    }

    @Test func malformedFramesAreLeftAlone() {
        let good = ipv4Frame(proto: 6, partial: true)
        for cut in [0, 10, 14, 20, 33, 34, 40, 53] {
            var truncated = Array(good.prefix(cut))
            let before = truncated
            #expect(!NetChecksum.completePartial(&truncated))
            #expect(truncated == before)
        }
        // A total length beyond the frame, a bad IHL, a fragment, an unknown protocol.
        for (offset, value) in [(16, UInt8(0xFF)), (14, UInt8(0x44)), (20, UInt8(0x20)), (23, UInt8(1))] {
            var bad = good
            bad[offset] = value
            let before = bad
            #expect(!NetChecksum.completePartial(&bad))
            #expect(bad == before)
        }
        var arp = NetPackets.frame(to: .broadcast, from: Self.a, type: 0x0806,
                                   NetPackets.arp(operation: 1, senderMAC: Self.a, senderIP: [10, 0, 0, 1],
                                                  targetMAC: MACAddress(rawValue: 0), targetIP: [10, 0, 0, 2]))
        #expect(!NetChecksum.completePartial(&arp))
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0...200, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if count > 14, Bool.random(using: &generator) {
                bytes[12] = 0x08
                bytes[13] = 0x00
                bytes[14] = 0x45
            }
            _ = NetChecksum.completePartial(&bytes)
            _ = NetChecksum.verifies(bytes)
        }
    }
}
