/// The guest's name for a disk and the number xenstore knows it by (the device id under
/// device/vbd/ and backend/vbd/<d>/, and the `virtual-device` key), encoded as Xen's
/// docs/misc/vbd-interface.txt specifies and libxl computes it:
///
/// | name | number |
/// |------|--------|
/// | xvd<disk><part>, disk and part < 16 | 202 << 8 \| disk << 4 \| part (xvda 51712, xvdb 51728) |
/// | xvd<disk><part>, larger | 1 << 28 \| disk << 8 \| part (disk < 2^20, part < 256) |
/// | d<disk>[p<part>] | as xvd |
/// | sd<disk><part>, disk and part < 16 | 8 << 8 \| disk << 4 \| part |
/// | hd<disk><part>, disk 0–1, part < 64 | 3 << 8 \| disk << 6 \| part |
/// | hd<disk><part>, disk 2–3, part < 64 | 22 << 8 \| (disk − 2) << 6 \| part |
/// | a number (decimal, 0x hex, 0 octal) | itself |
///
/// Disk letters count in bijective base 26: a = 0, z = 25, aa = 26, xvdtq = disk 536.
public struct BlockVirtualDevice: Hashable, Sendable, CustomStringConvertible {
    /// The name as configured ("xvda"); written to the backend's `dev` key.
    public var name: String
    /// The encoded number. Xen: the vbd's devid / `virtual-device`.
    public var number: UInt32

    public var description: String { "\(name) (\(number))" }

    /// Parses a name or number; nil when Xen's encoding cannot express it.
    public init?(_ name: String) {
        guard let number = Self.encode(name) else { return nil }
        self.name = name
        self.number = number
    }

    public init(name: String, number: UInt32) {
        self.name = name
        self.number = number
    }

    private static let xvdMajor: UInt32 = 202
    private static let extendedFlag: UInt32 = 1 << 28
    private static let maxExtendedDisk: UInt32 = (1 << 20) - 1

    static func encode(_ name: String) -> UInt32? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 32 else { return nil }
        if bytes.allSatisfy({ isDigit($0) || isHexLetter($0) || $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }),
           isDigit(bytes[0]) {
            return number(bytes)
        }
        if bytes.starts(with: Array("xvd".utf8)) { return letterDisk(bytes.dropFirst(3)).flatMap(xvd) }
        if bytes.starts(with: Array("sd".utf8)) {
            guard let (disk, part) = letterDisk(bytes.dropFirst(2)), disk < 16, part < 16 else { return nil }
            return 8 << 8 | disk << 4 | part
        }
        if bytes.starts(with: Array("hd".utf8)) {
            guard let (disk, part) = letterDisk(bytes.dropFirst(2)), disk < 4, part < 64 else { return nil }
            return disk < 2 ? 3 << 8 | disk << 6 | part : 22 << 8 | (disk - 2) << 6 | part
        }
        if bytes.first == UInt8(ascii: "d") { return numericDisk(bytes.dropFirst()).flatMap(xvd) }
        return nil
    }

    private static func xvd(_ diskPart: (UInt32, UInt32)) -> UInt32? {
        let (disk, part) = diskPart
        if disk < 16, part < 16 { return xvdMajor << 8 | disk << 4 | part }
        guard disk <= maxExtendedDisk, part < 256 else { return nil }
        return extendedFlag | disk << 8 | part
    }

    /// Letters (bijective base 26) then an optional partition number.
    private static func letterDisk(_ rest: ArraySlice<UInt8>) -> (UInt32, UInt32)? {
        var disk: UInt32 = 0
        var i = rest.startIndex
        var letters = 0
        while i < rest.endIndex, rest[i] >= UInt8(ascii: "a"), rest[i] <= UInt8(ascii: "z") {
            let (times, o1) = disk.multipliedReportingOverflow(by: 26)
            let (next, o2) = times.addingReportingOverflow(UInt32(rest[i] - UInt8(ascii: "a")) + 1)
            guard !o1, !o2, next <= maxExtendedDisk + 1 else { return nil }
            disk = next
            letters += 1
            i += 1
        }
        guard letters > 0, let part = partition(rest[i...]) else { return nil }
        return (disk - 1, part)
    }

    /// d<disk>[p<part>].
    private static func numericDisk(_ rest: ArraySlice<UInt8>) -> (UInt32, UInt32)? {
        let digits = rest.prefix { isDigit($0) }
        guard let disk = decimal(digits) else { return nil }
        let after = rest[digits.endIndex...]
        if after.isEmpty { return (disk, 0) }
        guard after.first == UInt8(ascii: "p"), let part = decimal(after.dropFirst()) else { return nil }
        return (disk, part)
    }

    /// Empty (whole disk) or a decimal partition number without leading zeros.
    private static func partition(_ rest: ArraySlice<UInt8>) -> UInt32? {
        rest.isEmpty ? 0 : decimal(rest)
    }

    private static func decimal(_ digits: ArraySlice<UInt8>) -> UInt32? {
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(isDigit) else { return nil }
        if digits.count > 1, digits.first == UInt8(ascii: "0") { return nil }
        return digits.reduce(0) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
    }

    /// strtoul(…, 0): 0x hex, leading-0 octal, else decimal; must fit in 32 bits.
    private static func number(_ bytes: [UInt8]) -> UInt32? {
        var digits = bytes[...]
        var radix: UInt64 = 10
        if digits.count > 2, digits[0] == UInt8(ascii: "0"), digits[1] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count > 1, digits[0] == UInt8(ascii: "0") {
            radix = 8
            digits = digits.dropFirst()
        }
        var value: UInt64 = 0
        for d in digits {
            let v: UInt64
            switch d {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(d - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(d - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(d - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard v < radix else { return nil }
            value = value * radix + v
            guard value <= UInt64(UInt32.max) else { return nil }
        }
        return UInt32(value)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private static func isHexLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "f") }
}
