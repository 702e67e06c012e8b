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

    /// The non-owning view the CPU engine uses on its hot paths.
    @inlinable public var view: CodeWatchView {
        CodeWatchView(flags: flags, versions: versions, epoch: epoch, frameCount: frameCount)
    }

    /// Increases whenever a frame becomes flagged as holding code.
    @inlinable public var markEpoch: UInt32 { view.markEpoch }

    /// Whether `frame` holds decoded code.
    @inlinable public func holdsCode(_ frame: UInt64) -> Bool { view.holdsCode(frame) }

    /// The current version of `frame` (0 outside RAM).
    @inlinable public func version(_ frame: UInt64) -> UInt32 { view.version(frame) }

    /// Flags `frame` as holding code and returns its version.
    @inlinable public func markCode(_ frame: UInt64) -> UInt32 { view.markCode(frame) }

    /// Called for every write into `frame`: bumps its version when it holds code.
    @inlinable public func noteWrite(frame: UInt64) { view.noteWrite(frame: frame) }
}
