/// Why an image operation failed; the backend turns it into a response status.
public enum BlockImageError: Error, Equatable, Sendable {
    /// The image was opened read-only. Xen: blkback's access check (BLKIF_RSP_ERROR).
    case readOnly
    /// The image cannot do this (no hole punching here). BLKIF_RSP_EOPNOTSUPP.
    case notSupported
    /// The range leaves the disk. BLKIF_RSP_ERROR.
    case outOfRange
    /// The host's I/O failed with this errno. BLKIF_RSP_ERROR.
    case io(Int32)
}

/// A disk image as the block backend uses it: byte-addressed reads and writes of whole
/// 512-byte sectors into scatter lists, flush, discard. Implementations are used from one
/// backend queue at a time (not thread-safe) and check every range against `byteCount`.
public protocol BlockImage: AnyObject {
    /// The disk's size: a multiple of 512 (a trailing partial sector is not part of it).
    var byteCount: UInt64 { get }
    var isReadOnly: Bool { get }
    /// Whether discards can punch holes (offered as feature-discard).
    var supportsDiscard: Bool { get }

    /// Fills the buffers, in order, from `offset` on.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws(BlockImageError)
    /// Writes the buffers, in order, from `offset` on.
    func write(from buffers: [UnsafeRawBufferPointer], at offset: UInt64) throws(BlockImageError)
    /// Makes everything written so far durable (fdatasync of what was written).
    func flush() throws(BlockImageError)
    /// The range may be thrown away; afterwards it reads as zeros or as older contents.
    func discard(offset: UInt64, length: UInt64) throws(BlockImageError)
    /// Flushes and releases the files; later calls fail with `.io(EBADF)`.
    func close()
}

extension BlockImage {
    public var sectorCount: UInt64 { byteCount / UInt64(512) }

    /// Whether `[offset, offset+length)` lies inside the disk (overflow-checked).
    public func contains(offset: UInt64, length: UInt64) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= byteCount
    }
}

/// Total bytes of a scatter list (each count is an Int ≥ 0; the sum cannot overflow for
/// lists the backend builds, at most 2048 pages).
func totalBytes(_ buffers: [UnsafeMutableRawBufferPointer]) -> UInt64 {
    buffers.reduce(UInt64(0)) { $0 &+ UInt64($1.count) }
}

func totalBytes(_ buffers: [UnsafeRawBufferPointer]) -> UInt64 {
    buffers.reduce(UInt64(0)) { $0 &+ UInt64($1.count) }
}
