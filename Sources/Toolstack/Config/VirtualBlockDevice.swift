/// A guest disk name from a disk spec's `vdev` and its number in the VBD interface
/// (xen-vbd-interface(7)): the integer a block frontend reads from xenstore
/// `device/vbd/<number>/virtual-device`, and the `<number>` of that path.
///
///     xvd<letters><partition>   202 << 8 | disk << 4 | partition  (disk, partition ≤ 15)
///                               1 << 28 | disk << 8 | partition   (beyond: disk < 2^20, partition ≤ 255)
///     d<disk>p<partition>       the same, numerically (d0 = d0p0 = xvda)
///     sd<letters><partition>    8 << 8 | disk << 4 | partition    (disk, partition ≤ 15)
///     hd<letters><partition>    3 << 8 | disk << 6 | partition    (disk 0..1, partition ≤ 63)
///                               22 << 8 | (disk - 2) << 6 | part. (disk 2..3)
///     a number                  written as is (decimal, 0x hexadecimal, 0 octal)
///
/// Letters count like spreadsheet columns: a = 0, z = 25, aa = 26, tq = 536.
public struct VirtualBlockDevice: Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case xen, scsi, ide
        /// A raw number from the configuration: its kind is whatever the guest makes of it.
        case number
    }

    /// The name as configured ("xvda", "hdc", "51712").
    public var name: String
    public var kind: Kind
    /// Disk and partition, when the name says them.
    public var disk: Int?
    public var partition: Int?
    /// Xen: the VBD's `virtual-device` value.
    public var number: UInt32

    public var description: String { name }

    /// Parses `name`; nil when it is not a VBD name in any of the forms above.
    public init?(_ name: String) {
        self.name = name
        if let n = XLNumber.parse(name) {
            guard n > 0, n < 1 << 28 || n >> 28 == 1, let v = UInt32(exactly: n) else { return nil }
            kind = .number
            number = v
            return
        }
        let s = Array(name.utf8)
        let kind: Kind
        let disk: Int
        var rest: ArraySlice<UInt8>
        if s.count > 1, s[0] == UInt8(ascii: "d"), Self.isDigit(s[1]) {
            // d<disk>[p<partition>]
            var i = 1
            guard let (d, after) = Self.digits(s[i...]) else { return nil }
            disk = d
            i = after
            kind = .xen
            if i < s.count {
                guard s[i] == UInt8(ascii: "p") else { return nil }
                rest = s[(i + 1)...]
                guard !rest.isEmpty else { return nil }
            } else {
                rest = []
            }
        } else {
            let prefixes: [(String, Kind)] = [("xvd", .xen), ("sd", .scsi), ("hd", .ide)]
            guard let (prefix, k) = prefixes.first(where: { name.hasPrefix($0.0) }) else { return nil }
            kind = k
            var i = prefix.utf8.count
            var letters = 0
            var count = 0
            while i < s.count, s[i] >= UInt8(ascii: "a"), s[i] <= UInt8(ascii: "z") {
                // Bijective base 26; five letters already pass the largest disk (2^20).
                count += 1
                guard count <= 5 else { return nil }
                letters = letters * 26 + Int(s[i] - UInt8(ascii: "a")) + 1
                i += 1
            }
            guard letters > 0 else { return nil }
            disk = letters - 1
            rest = s[i...]
        }
        var partition = 0
        if !rest.isEmpty {
            guard let (p, end) = Self.digits(rest), end == s.count else { return nil }
            partition = p
        }
        switch kind {
        case .xen:
            if disk < 16 && partition < 16 {
                number = UInt32(202 << 8 | disk << 4 | partition)
            } else if disk < 1 << 20 && partition < 256 {
                number = UInt32(1 << 28 | disk << 8 | partition)
            } else {
                return nil
            }
        case .scsi:
            guard disk < 16, partition < 16 else { return nil }
            number = UInt32(8 << 8 | disk << 4 | partition)
        case .ide:
            guard disk < 4, partition < 64 else { return nil }
            number = disk < 2 ? UInt32(3 << 8 | disk << 6 | partition) : UInt32(22 << 8 | (disk - 2) << 6 | partition)
        case .number:
            return nil
        }
        self.kind = kind
        self.disk = disk
        self.partition = partition
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// A decimal number without leading zeros starting the slice, and where it ends.
    private static func digits(_ s: ArraySlice<UInt8>) -> (Int, Int)? {
        var value = 0
        var i = s.startIndex
        while i < s.endIndex, isDigit(s[i]) {
            // A leading zero is only the number 0 itself ("xvda0" yes, "xvda01" no).
            if i > s.startIndex && value == 0 { return nil }
            guard value < 1 << 24 else { return nil }
            value = value * 10 + Int(s[i] - 0x30)
            i += 1
        }
        return i == s.startIndex ? nil : (value, i)
    }
}

/// xl.cfg numbers: decimal, octal with a leading 0, hexadecimal with 0x (strtol base 0).
public enum XLNumber {
    public static func parse(_ text: String) -> Int64? {
        var t = Substring(text)
        var radix = 10
        if t.hasPrefix("0x") || t.hasPrefix("0X") {
            radix = 16
            t = t.dropFirst(2)
        } else if t.count > 1 && t.hasPrefix("0") {
            radix = 8
            t = t.dropFirst()
        }
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return Int64(t, radix: radix)
    }
}
