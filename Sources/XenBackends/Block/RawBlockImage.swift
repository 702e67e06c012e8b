import Glibc

/// A raw disk image: the file's bytes are the disk's bytes. The file may be sparse and
/// stays so: a write of zeros over a hole is skipped (the hole already reads as zeros),
/// and discards punch holes (FALLOC_FL_PUNCH_HOLE, size kept). Read-only images refuse
/// writes, flushes and discards with `.readOnly`.
public final class RawBlockImage: BlockImage {
    public let path: String
    public let byteCount: UInt64
    public let isReadOnly: Bool
    public private(set) var supportsDiscard: Bool
    private let file: BlockHostFile
    /// Written since the last flush (a flush with nothing written skips the sync).
    private var unflushed = false

    public init(path: String, readOnly: Bool) throws(BlockConfigurationError) {
        self.path = path
        isReadOnly = readOnly
        do { file = try BlockHostFile(path: path, writable: !readOnly) } catch {
            throw .open(path: path, errno: error.code, message: error.message)
        }
        let size: UInt64
        do { size = try file.size() } catch { throw .io(path: path, errno: error.code, message: error.message) }
        // blkback's `sectors` is the size >> 9: a partial last sector is not addressable.
        byteCount = size & ~UInt64(511)
        guard byteCount > 0 else { throw .empty(path: path) }
        supportsDiscard = !readOnly
    }

    public func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws(BlockImageError) {
        guard contains(offset: offset, length: totalBytes(buffers)) else { throw .outOfRange }
        do { try file.read(into: buffers, at: offset) } catch { throw .io(error.code) }
    }

    public func write(from buffers: [UnsafeRawBufferPointer], at offset: UInt64) throws(BlockImageError) {
        guard !isReadOnly else { throw .readOnly }
        let length = totalBytes(buffers)
        guard contains(offset: offset, length: length) else { throw .outOfRange }
        // Zeros over a hole change nothing: keep the image sparse.
        if buffers.allSatisfy(isAllZero), file.isHole(offset: offset, length: length) { return }
        do { try file.write(from: buffers, at: offset) } catch { throw .io(error.code) }
        unflushed = true
    }

    public func flush() throws(BlockImageError) {
        guard !isReadOnly else { throw .readOnly }
        guard unflushed else { return }
        do { try file.syncData() } catch { throw .io(error.code) }
        unflushed = false
    }

    public func discard(offset: UInt64, length: UInt64) throws(BlockImageError) {
        guard !isReadOnly else { throw .readOnly }
        guard contains(offset: offset, length: length) else { throw .outOfRange }
        guard supportsDiscard else { throw .notSupported }
        do { try file.punchHole(offset: offset, length: length) } catch {
            if error.code == EOPNOTSUPP || error.code == ENOSYS {
                supportsDiscard = false
                throw .notSupported
            }
            throw .io(error.code)
        }
        unflushed = true
    }

    public func close() {
        if !isReadOnly { try? flush() }
        file.close()
    }
}

/// Whether every byte is zero (word at a time; stops at the first non-zero word).
func isAllZero(_ buffer: UnsafeRawBufferPointer) -> Bool {
    guard let base = buffer.baseAddress else { return true }
    let count = buffer.count
    var i = 0
    while i + 8 <= count {
        if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
        i += 8
    }
    while i < count {
        if base.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
        i += 1
    }
    return true
}
