/// Size of an x86 page frame, the unit of all frame numbers in Kite.
public let pageSize: UInt64 = 4096
/// log2 of `pageSize`.
public let pageShift: UInt64 = 12

/// A host-machine frame number: an index into the one block of RAM all domains share.
/// Xen: `mfn_t` (the machine frame number). Never interchangeable with `GuestFrame`.
public struct MachineFrame: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    /// The machine address of the first byte of this frame (wraps silently only for
    /// frame numbers beyond 2^52, which no valid frame has).
    @inlinable public var address: MachineAddress { MachineAddress(rawValue &<< pageShift) }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "mfn:0x" + String(rawValue, radix: 16) }
}

/// A guest's pseudo-physical frame number, translated to a `MachineFrame` through the domain's
/// p2m. Xen: `gfn_t` / `pfn` (pseudo-physical frame number).
public struct GuestFrame: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "gfn:0x" + String(rawValue, radix: 16) }
}

/// A byte address in machine RAM. Xen: `paddr_t` when it names machine memory.
public struct MachineAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public var frame: MachineFrame { MachineFrame(rawValue >> pageShift) }
    @inlinable public var pageOffset: UInt64 { rawValue & (pageSize - 1) }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "maddr:0x" + String(rawValue, radix: 16) }
}
