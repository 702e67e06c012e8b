import CHostAtomics

/// One bit per machine frame, set and cleared atomically by any thread.
/// Used as the dirty log (Xen: the log-dirty bitmap of `XEN_DOMCTL_SHADOW_OP_CLEAN`).
public final class FrameBitmap: @unchecked Sendable {
    public let frameCount: UInt64
    @usableFromInline let bytes: UnsafeMutablePointer<UInt8>

    public init(frameCount: UInt64) {
        self.frameCount = frameCount
        let n = Int((frameCount + 7) / 8)
        bytes = .allocate(capacity: max(n, 1))
        bytes.initialize(repeating: 0, count: max(n, 1))
    }

    deinit { bytes.deallocate() }

    /// The non-owning view the CPU engine uses on its hot paths.
    @inlinable public var view: FrameBitmapView { FrameBitmapView(bytes: bytes, frameCount: frameCount) }

    /// Sets the bit of `frame`; frames outside the map are ignored.
    @inlinable public func set(_ frame: UInt64) { view.set(frame) }

    /// The bit of `frame`; false outside the map.
    @inlinable public func test(_ frame: UInt64) -> Bool { view.test(frame) }

    /// Clears the bit of `frame` and returns whether it was set.
    @discardableResult
    @inlinable public func testAndClear(_ frame: UInt64) -> Bool {
        guard frame < frameCount else { return false }
        let bit = UInt8(1) << UInt8(frame & 7)
        return kite_fetch_and8(bytes + Int(frame >> 3), ~bit) & bit != 0
    }

    /// The frames whose bits are set, in increasing order.
    public func setFrames() -> [UInt64] {
        var out: [UInt64] = []
        for f in 0..<frameCount where test(f) { out.append(f) }
        return out
    }
}
