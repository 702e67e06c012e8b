import CHostAtomics

extension PhysicalMemory {
    /// Atomically replaces the naturally aligned 8-byte word at `address` with `desired` if it
    /// equals `expected`. Returns the value found. Callers check bounds and alignment.
    @inlinable public static func compareExchange64(
        _ pointer: UnsafeMutableRawPointer, expected: UInt64, desired: UInt64
    ) -> UInt64 {
        var e = expected
        _ = kite_cas64(pointer, &e, desired)
        return e
    }

    /// 16-byte compare-exchange (CMPXCHG16B) on a 16-byte aligned host pointer.
    /// Returns the value found (equal to expected on success).
    @inlinable public static func compareExchange128(
        _ pointer: UnsafeMutableRawPointer, expected: (UInt64, UInt64), desired: (UInt64, UInt64)
    ) -> (UInt64, UInt64) {
        var lo = expected.0
        var hi = expected.1
        _ = kite_cas128(pointer, &lo, &hi, desired.0, desired.1)
        return (lo, hi)
    }

    /// A full fence (MFENCE, and the ordering of LOCKed instructions).
    @inlinable public static func fence() { kite_fence() }
}
