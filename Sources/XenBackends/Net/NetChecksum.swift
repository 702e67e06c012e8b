/// Internet checksums (RFC 1071) and the completion of offloaded TCP/UDP checksums.
///
/// A frontend that sets NETTXF_csum_blank leaves the transport checksum partial (Linux
/// fills the field with the pseudo-header sum). A peer that negotiated offload receives the
/// frame as it is (NETRXF_csum_blank); everyone else — a frontend without offload, slirp —
/// needs the real checksum. Kite recomputes it from scratch (pseudo-header + segment with
/// the field zeroed), so the result is right whatever the guest left in the field.
/// Everything is bounds-checked: the frame is guest data.
public enum NetChecksum {
    /// The 16-bit one's-complement sum of `bytes[range]` added to `initial`, not yet
    /// complemented nor folded beyond 32 bits (callers `fold`).
    public static func sum(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, initial: UInt32 = 0) -> UInt32 {
        var total = UInt64(initial)
        let lower = max(range.lowerBound, 0), upper = min(range.upperBound, bytes.count)
        guard lower < upper else { return fold32(total) }
        var i = lower
        while i + 1 < upper {
            total &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if i < upper { total &+= UInt64(bytes[i]) << 8 }
        return fold32(total)
    }

    private static func fold32(_ value: UInt64) -> UInt32 {
        var v = value
        while v > 0xFFFF_FFFF { v = (v & 0xFFFF_FFFF) &+ (v >> 32) }
        return UInt32(v)
    }

    /// Folds a 32-bit sum into 16 bits (end-around carry).
    public static func fold(_ value: UInt32) -> UInt16 {
        var v = value
        while v > 0xFFFF { v = (v & 0xFFFF) &+ (v >> 16) }
        return UInt16(v)
    }

    /// The checksum to store: the complement of the folded sum.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, initial: UInt32 = 0) -> UInt16 {
        ~fold(sum(bytes, range, initial: initial))
    }

    /// Where a frame's transport checksum lives, found by `locate`.
    public struct TransportLocation: Equatable, Sendable {
        /// First byte of the TCP/UDP header and one past the segment's end.
        public var start: Int
        public var end: Int
        /// The checksum field's offset in the frame.
        public var field: Int
        public var isUDP: Bool
        /// The pseudo-header's sum (addresses, protocol, length).
        public var pseudoHeaderSum: UInt32
    }

    /// IP protocol numbers.
    static let tcp: UInt8 = 6, udp: UInt8 = 17

    /// Finds the TCP or UDP segment of an IPv4 or IPv6 frame (VLAN tags skipped, IPv6
    /// hop-by-hop/routing/destination-options headers skipped); nil when there is none, it
    /// is a fragment, or a length is inconsistent with the frame.
    public static func locate(_ frame: UnsafeRawBufferPointer) -> TransportLocation? {
        func be16(_ at: Int) -> Int { Int(frame[at]) << 8 | Int(frame[at + 1]) }
        var l3 = 12
        var etherType = 0
        for _ in 0..<3 {
            guard l3 + 2 <= frame.count else { return nil }
            etherType = be16(l3)
            guard etherType == 0x8100 || etherType == 0x88A8 else { break }
            l3 += 4
        }
        l3 += 2
        switch etherType {
        case 0x0800:
            guard l3 + 20 <= frame.count, frame[l3] >> 4 == 4 else { return nil }
            let headerLength = Int(frame[l3] & 0xF) * 4
            let totalLength = be16(l3 + 2)
            let fragment = be16(l3 + 6)
            // A fragment (MF set or a non-zero offset) has no whole segment to sum.
            guard headerLength >= 20, totalLength >= headerLength, l3 + totalLength <= frame.count,
                  fragment & 0x3FFF == 0 else { return nil }
            let proto = frame[l3 + 9]
            let start = l3 + headerLength, end = l3 + totalLength
            var pseudo = sum(frame, (l3 + 12)..<(l3 + 20))
            pseudo &+= UInt32(proto) &+ UInt32(end - start)
            return transport(proto, start, end, pseudo)
        case 0x86DD:
            guard l3 + 40 <= frame.count, frame[l3] >> 4 == 6 else { return nil }
            let payloadLength = be16(l3 + 4)
            let end = l3 + 40 + payloadLength
            guard end <= frame.count else { return nil }
            var next = frame[l3 + 6]
            var start = l3 + 40
            // Extension headers a checksum-offloading sender may put first (8-byte units).
            for _ in 0..<8 where next == 0 || next == 43 || next == 60 {
                guard start + 8 <= end else { return nil }
                let length = (Int(frame[start + 1]) + 1) * 8
                next = frame[start]
                start += length
                guard start <= end else { return nil }
            }
            var pseudo = sum(frame, (l3 + 8)..<(l3 + 40))
            pseudo &+= UInt32(next) &+ UInt32(end - start)
            return transport(next, start, end, pseudo)
        default:
            return nil
        }
    }

    private static func transport(_ proto: UInt8, _ start: Int, _ end: Int, _ pseudo: UInt32) -> TransportLocation? {
        switch proto {
        case tcp:
            guard end - start >= 20 else { return nil }
            return TransportLocation(start: start, end: end, field: start + 16, isUDP: false, pseudoHeaderSum: pseudo)
        case udp:
            guard end - start >= 8 else { return nil }
            return TransportLocation(start: start, end: end, field: start + 6, isUDP: true, pseudoHeaderSum: pseudo)
        default:
            return nil
        }
    }

    /// Writes the full TCP/UDP checksum of `frame`; returns false (frame untouched) when
    /// it has no checksummable segment. Xen: what netback's skb_checksum_setup +
    /// skb_checksum_help do for a CHECKSUM_PARTIAL packet.
    @discardableResult
    public static func completePartial(_ frame: inout [UInt8]) -> Bool {
        frame.withUnsafeMutableBytes { bytes in
            guard let location = locate(UnsafeRawBufferPointer(bytes)) else { return false }
            bytes[location.field] = 0
            bytes[location.field + 1] = 0
            var value = checksum(UnsafeRawBufferPointer(bytes), location.start..<location.end,
                                 initial: location.pseudoHeaderSum)
            // UDP sends "no checksum" as 0, so a computed 0 goes out as all ones.
            if location.isUDP && value == 0 { value = 0xFFFF }
            bytes[location.field] = UInt8(value >> 8)
            bytes[location.field + 1] = UInt8(value & 0xFF)
            return true
        }
    }

    /// True when the frame's TCP/UDP checksum verifies (or it has no segment, or a UDP
    /// checksum of 0, which means none).
    public static func verifies(_ frame: [UInt8]) -> Bool {
        frame.withUnsafeBytes { bytes in
            guard let location = locate(bytes) else { return true }
            if location.isUDP && bytes[location.field] == 0 && bytes[location.field + 1] == 0 { return true }
            return fold(sum(bytes, location.start..<location.end, initial: location.pseudoHeaderSum)) == 0xFFFF
        }
    }
}
