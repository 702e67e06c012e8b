/// Bounds-checked little-endian reads from an image held in memory. Every offset comes from
/// an untrusted file, so reads return nil instead of trapping.
extension Array where Element == UInt8 {
    /// The `T`-sized little-endian integer at `offset`, or nil when it does not fit.
    func readLE<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, at offset: UInt64) -> T? {
        let size = UInt64(MemoryLayout<T>.size)
        guard offset <= UInt64(count), size <= UInt64(count) - offset else { return nil }
        let start = Int(offset)
        var value: T = 0
        for i in 0..<Int(size) {
            value |= T(self[start + i]) << (8 * i)
        }
        return value
    }

    /// The bytes `[offset, offset + length)`, or nil when the range leaves the array.
    func slice(at offset: UInt64, length: UInt64) -> ArraySlice<UInt8>? {
        guard offset <= UInt64(count), length <= UInt64(count) - offset else { return nil }
        return self[Int(offset)..<Int(offset + length)]
    }

    /// Whether `[offset, offset + length)` lies inside the array (no overflow possible).
    func contains(offset: UInt64, length: UInt64) -> Bool {
        offset <= UInt64(count) && length <= UInt64(count) - offset
    }
}

extension ArraySlice where Element == UInt8 {
    /// The little-endian unsigned value of the whole slice (1 to 8 bytes).
    var littleEndianValue: UInt64 {
        var value: UInt64 = 0
        for (i, byte) in self.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        return value
    }
}

/// Page arithmetic on untrusted 64-bit values.
enum PageMath {
    static let size: UInt64 = 4096

    /// Pages needed for `bytes`, rounding up (never overflows).
    static func pages(forBytes bytes: UInt64) -> UInt64 {
        bytes / size + (bytes % size == 0 ? 0 : 1)
    }

    static func isAligned(_ value: UInt64) -> Bool { value % size == 0 }
}
