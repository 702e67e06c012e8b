import Glibc

/// An open host file or block device behind a disk image: positioned scatter-gather I/O
/// that finishes short transfers, data sync, hole punching and hole queries. Owns the
/// descriptor; `close()` (or deinit) releases it. Not thread-safe: an image uses it from
/// its backend's queue only.
final class BlockHostFile {
    /// `fallocate(2)` as glibc exports it (Swift's Glibc module leaves the GNU extension
    /// out); nil when the C library lacks it, and punching holes reports EOPNOTSUPP.
    private typealias Fallocate = @convention(c) (Int32, Int32, Int64, Int64) -> Int32
    private static let fallocateFunction: Fallocate? = dlsym(nil, "fallocate").map { unsafeBitCast($0, to: Fallocate.self) }
    /// Linux: FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE (linux/falloc.h).
    private static let punchHoleMode: Int32 = 0x01 | 0x02
    /// Linux: SEEK_DATA (unistd.h with _GNU_SOURCE).
    private static let seekData: Int32 = 3
    /// Linux iovec limit per call (IOV_MAX).
    private static let maxVectors = 1024

    let path: String
    let isWritable: Bool
    private(set) var descriptor: Int32

    /// Opens `path` for reading, or for reading and writing; `create` makes a missing file
    /// (mode 0644) and fails if it exists. Throws the errno.
    init(path: String, writable: Bool, create: Bool = false) throws(BlockHostErrno) {
        self.path = path
        isWritable = writable || create
        var flags = (isWritable ? O_RDWR : O_RDONLY) | O_CLOEXEC
        if create { flags |= O_CREAT | O_EXCL }
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw BlockHostErrno(errno) }
        descriptor = fd
    }

    deinit { close() }

    func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    /// The size in bytes (seeking to the end works for block devices too).
    func size() throws(BlockHostErrno) -> UInt64 {
        let end = lseek(descriptor, 0, SEEK_END)
        guard end >= 0 else { throw BlockHostErrno(errno) }
        return UInt64(end)
    }

    func truncate(to size: UInt64) throws(BlockHostErrno) {
        guard size <= UInt64(Int64.max) else { throw BlockHostErrno(EFBIG) }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw BlockHostErrno(errno) }
    }

    /// Fills every buffer from `offset` on, in order; bytes past the end of the file read
    /// as zeros (a file that shrank under Kite, or the unwritten tail of a sparse overlay).
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws(BlockHostErrno) {
        var vectors = buffers.compactMap { b in b.baseAddress.map { iovec(iov_base: $0, iov_len: b.count) } }
        try transfer(&vectors, at: offset, writing: false)
    }

    /// Writes every buffer from `offset` on, in order.
    func write(from buffers: [UnsafeRawBufferPointer], at offset: UInt64) throws(BlockHostErrno) {
        var vectors = buffers.compactMap { b in
            b.baseAddress.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0), iov_len: b.count) }
        }
        try transfer(&vectors, at: offset, writing: true)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(BlockHostErrno) {
        try read(into: [buffer], at: offset)
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: UInt64) throws(BlockHostErrno) {
        try write(from: [buffer], at: offset)
    }

    /// Reads `count` bytes at `offset` into a new array.
    func readBytes(_ count: Int, at offset: UInt64) throws(BlockHostErrno) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(count, 0))
        let result = bytes.withUnsafeMutableBytes { b -> Result<Void, BlockHostErrno> in
            do throws(BlockHostErrno) { try read(into: b, at: offset) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
        return bytes
    }

    /// Writes `bytes[range]` at `offset`.
    func writeBytes(_ bytes: [UInt8], _ range: Range<Int>? = nil, at offset: UInt64) throws(BlockHostErrno) {
        let r = range ?? 0..<bytes.count
        let result = bytes.withUnsafeBytes { b -> Result<Void, BlockHostErrno> in
            do throws(BlockHostErrno) { try write(from: UnsafeRawBufferPointer(rebasing: b[r]), at: offset) } catch { return .failure(error) }
            return .success(())
        }
        try result.get()
    }

    /// Xen's flush: the data written so far reaches stable storage. `fdatasync(2)`.
    func syncData() throws(BlockHostErrno) {
        guard fdatasync(descriptor) == 0 else { throw BlockHostErrno(errno) }
    }

    /// Deallocates `[offset, offset+length)`, keeping the size: the range reads as zeros.
    /// EOPNOTSUPP where the file system cannot.
    func punchHole(offset: UInt64, length: UInt64) throws(BlockHostErrno) {
        guard length > 0 else { return }
        guard let fallocate = Self.fallocateFunction else { throw BlockHostErrno(EOPNOTSUPP) }
        guard offset <= UInt64(Int64.max), length <= UInt64(Int64.max) - offset else { throw BlockHostErrno(EINVAL) }
        guard fallocate(descriptor, Self.punchHoleMode, Int64(offset), Int64(length)) == 0 else {
            throw BlockHostErrno(errno)
        }
    }

    /// Whether `[offset, offset+length)` lies wholly in a hole (reads as zeros without
    /// allocated blocks). False when the file system cannot tell.
    func isHole(offset: UInt64, length: UInt64) -> Bool {
        guard length > 0, offset <= UInt64(Int64.max) else { return false }
        let data = lseek(descriptor, off_t(offset), Self.seekData)
        if data < 0 { return errno == ENXIO }   // no data at or after offset
        return UInt64(data) >= offset &+ length && UInt64(data) > offset
    }

    private func transfer(_ vectors: inout [iovec], at offset: UInt64, writing: Bool) throws(BlockHostErrno) {
        var position = offset
        var first = 0
        while first < vectors.count {
            if vectors[first].iov_len == 0 {
                first += 1
                continue
            }
            guard position <= UInt64(Int64.max) else { throw BlockHostErrno(EFBIG) }
            let count = min(vectors.count - first, Self.maxVectors)
            let done = vectors.withUnsafeMutableBufferPointer { v -> Int in
                guard let base = v.baseAddress else { return 0 }
                return writing ? pwritev(descriptor, base + first, Int32(count), off_t(position))
                    : preadv(descriptor, base + first, Int32(count), off_t(position))
            }
            if done < 0 {
                if errno == EINTR { continue }
                throw BlockHostErrno(errno)
            }
            if done == 0 {
                guard !writing else { throw BlockHostErrno(EIO) }
                // End of file: the rest reads as zeros.
                for i in first..<vectors.count where vectors[i].iov_len > 0 {
                    vectors[i].iov_base?.initializeMemory(as: UInt8.self, repeating: 0, count: vectors[i].iov_len)
                }
                return
            }
            position += UInt64(done)
            var left = done
            while left > 0, first < vectors.count {
                let length = vectors[first].iov_len
                if left >= length {
                    left -= length
                    vectors[first].iov_len = 0
                    first += 1
                } else {
                    vectors[first].iov_base = vectors[first].iov_base.map { $0 + left }
                    vectors[first].iov_len = length - left
                    left = 0
                }
            }
        }
    }
}

/// A host errno from a disk image's file.
struct BlockHostErrno: Error, Equatable {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var message: String { String(cString: strerror(code)) }
}
