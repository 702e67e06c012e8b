import CHostAtomics

/// Tracks which machine frames hold instructions a CPU engine has decoded, so that a store
/// into such a frame invalidates the decoded copies before they run again (self-modifying
/// and cross-modifying code).
///
/// Each frame has a flag ("some engine decoded code here") and a version that every write
/// to a flagged frame increments. Engines record the version when they decode and compare it
/// before they run a decoded block. An engine that caches writable host mappings must not
/// cache one for a flagged frame; `markEpoch` increases whenever any frame becomes flagged so
/// that engines on other threads can drop such cached mappings.
public final class CodeWatch: @unchecked Sendable {
    public let frameCount: UInt64
    @usableFromInline let flags: UnsafeMutablePointer<UInt8>
    @usableFromInline let versions: UnsafeMutablePointer<UInt32>
    @usableFromInline let epoch: UnsafeMutablePointer<UInt32>

    public init(frameCount: UInt64) {
        self.frameCount = frameCount
        let n = Int(max(frameCount, 1))
        flags = .allocate(capacity: n)
        flags.initialize(repeating: 0, count: n)
        versions = .allocate(capacity: n)
        versions.initialize(repeating: 0, count: n)
        epoch = .allocate(capacity: 1)
        epoch.initialize(to: 0)
    }

    deinit {
        flags.deallocate()
        versions.deallocate()
        epoch.deallocate()
    }

    /// Increases whenever a frame becomes flagged as holding code.
    @inlinable public var markEpoch: UInt32 { kite_load32(epoch) }

    /// Whether `frame` holds decoded code.
    @inlinable public func holdsCode(_ frame: UInt64) -> Bool {
        frame < frameCount && flags[Int(frame)] != 0
    }

    /// The current version of `frame` (0 outside RAM).
    @inlinable public func version(_ frame: UInt64) -> UInt32 {
        frame < frameCount ? kite_load32(versions + Int(frame)) : 0
    }

    /// Flags `frame` as holding code and returns its version.
    @inlinable public func markCode(_ frame: UInt64) -> UInt32 {
        guard frame < frameCount else { return 0 }
        if kite_fetch_or8(flags + Int(frame), 1) == 0 { _ = kite_increment32(epoch) }
        return version(frame)
    }

    /// Called for every write into `frame`: bumps its version when it holds code.
    @inlinable public func noteWrite(frame: UInt64) {
        guard frame < frameCount, flags[Int(frame)] != 0 else { return }
        _ = kite_increment32(versions + Int(frame))
    }
}
