/// An Ethernet (IEEE 802 MAC-48) address, kept in the low 48 bits of `rawValue` with the
/// first byte on the wire the most significant.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// The first six bytes of `bytes` (nil when fewer).
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= 6 else { return nil }
        var value: UInt64 = 0
        for byte in bytes.prefix(6) { value = value << 8 | UInt64(byte) }
        rawValue = value
    }

    /// Six bytes at `offset` of `frame` (nil when the frame is too short).
    public init?(_ frame: UnsafeRawBufferPointer, at offset: Int) {
        guard offset >= 0, offset <= frame.count - 6 else { return nil }
        var value: UInt64 = 0
        for i in offset..<(offset + 6) { value = value << 8 | UInt64(frame[i]) }
        rawValue = value
    }

    /// Parses "aa:bb:cc:dd:ee:ff" (xenstore's and xl.cfg's spelling; '-' accepted too).
    public init?(_ text: String) {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard (1...2).contains(part.count), let byte = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(byte)
        }
        rawValue = value
    }

    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (8 * (5 - $0))) } }

    /// ff:ff:ff:ff:ff:ff
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    public var isBroadcast: Bool { self == .broadcast }
    /// The I/G bit: multicast (broadcast included).
    public var isMulticast: Bool { (rawValue >> 40) & 1 == 1 }
    /// The U/L bit: locally administered.
    public var isLocallyAdministered: Bool { (rawValue >> 40) & 2 == 2 }

    /// Xen's OUI, which libxl uses for vifs without a configured MAC: 00:16:3e.
    public static let xenOUI: UInt64 = 0x00163E

    /// 00:16:3e:xx:xx:xx with random low bytes, as libxl picks a vif's MAC.
    public static func randomXen<G: RandomNumberGenerator>(using generator: inout G) -> MACAddress {
        MACAddress(rawValue: xenOUI << 24 | UInt64.random(in: 0...0xFF_FFFF, using: &generator))
    }

    public static func randomXen() -> MACAddress {
        var generator = SystemRandomNumberGenerator()
        return randomXen(using: &generator)
    }

    public var description: String {
        let hex = Array("0123456789abcdef")
        return bytes.map { String([hex[Int($0 >> 4)], hex[Int($0 & 15)]]) }.joined(separator: ":")
    }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.rawValue < b.rawValue }
}
