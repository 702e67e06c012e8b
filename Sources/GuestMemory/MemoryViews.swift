import CHostAtomics

/// Non-owning views of machine memory and its per-frame maps: plain pointers and sizes.
///
/// The CPU engine's hot paths use these instead of the owning classes because loading a class
/// reference out of another object costs a retain/release pair per use. Whoever holds a view
/// must also hold the owning `PhysicalMemory`, which keeps the pointers valid.
public struct RAMView: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let frameCount: UInt64

    @inlinable public init(base: UnsafeMutableRawPointer, frameCount: UInt64) {
        self.base = base
        self.frameCount = frameCount
    }

    /// The host address of `frame`, or nil when it is not a frame of RAM.
    @inlinable public func pointer(to frame: UInt64) -> UnsafeMutableRawPointer? {
        frame < frameCount ? base + Int(frame << pageShift) : nil
    }
}

/// A view of a `FrameBitmap`.
public struct FrameBitmapView: @unchecked Sendable {
    public let bytes: UnsafeMutablePointer<UInt8>
    public let frameCount: UInt64

    @inlinable public init(bytes: UnsafeMutablePointer<UInt8>, frameCount: UInt64) {
        self.bytes = bytes
        self.frameCount = frameCount
    }

    /// Sets the bit of `frame` (ignored outside the map); a plain load first so that frames
    /// already marked cost no atomic operation.
    @inlinable public func set(_ frame: UInt64) {
        guard frame < frameCount else { return }
        let p = bytes + Int(frame >> 3)
        let bit = UInt8(1) << UInt8(frame & 7)
        if p.pointee & bit == 0 { _ = kite_fetch_or8(p, bit) }
    }

    @inlinable public func test(_ frame: UInt64) -> Bool {
        guard frame < frameCount else { return false }
        return bytes[Int(frame >> 3)] & (UInt8(1) << UInt8(frame & 7)) != 0
    }
}

/// A view of a `CodeWatch`.
public struct CodeWatchView: @unchecked Sendable {
    public let flags: UnsafeMutablePointer<UInt8>
    public let versions: UnsafeMutablePointer<UInt32>
    public let epoch: UnsafeMutablePointer<UInt32>
    public let frameCount: UInt64

    @inlinable public init(flags: UnsafeMutablePointer<UInt8>, versions: UnsafeMutablePointer<UInt32>, epoch: UnsafeMutablePointer<UInt32>, frameCount: UInt64) {
        self.flags = flags
        self.versions = versions
        self.epoch = epoch
        self.frameCount = frameCount
    }

    @inlinable public var markEpoch: UInt32 { kite_load32(epoch) }

    @inlinable public func holdsCode(_ frame: UInt64) -> Bool {
        frame < frameCount && flags[Int(frame)] != 0
    }

    @inlinable public func version(_ frame: UInt64) -> UInt32 {
        frame < frameCount ? kite_load32(versions + Int(frame)) : 0
    }

    @inlinable public func markCode(_ frame: UInt64) -> UInt32 {
        guard frame < frameCount else { return 0 }
        if kite_fetch_or8(flags + Int(frame), 1) == 0 { _ = kite_increment32(epoch) }
        return version(frame)
    }

    @inlinable public func noteWrite(frame: UInt64) {
        guard frame < frameCount, flags[Int(frame)] != 0 else { return }
        _ = kite_increment32(versions + Int(frame))
    }
}
