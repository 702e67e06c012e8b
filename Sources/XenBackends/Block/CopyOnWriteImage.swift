import Glibc

/// A copy-on-write disk: a shared read-only base image under a per-domain overlay file
/// (format: `CopyOnWriteOverlayHeader`). Reads of blocks the guest never wrote come from
/// the base; writes go to the overlay, a partial write to a new block first copying the
/// rest of the block from the base. The base is only ever opened read-only, so any
/// number of domains can share it.
public final class CopyOnWriteImage: BlockImage {
    public let overlayPath: String
    public let basePath: String
    public let header: CopyOnWriteOverlayHeader
    public let isReadOnly: Bool
    public var byteCount: UInt64 { header.diskSize }
    public var supportsDiscard: Bool { !isReadOnly }

    private let overlay: BlockHostFile
    private let base: BlockHostFile
    private var bitmap: [UInt8]
    /// Bitmap pages (4096-byte units) changed since the last flush.
    private var dirtyBitmapPages = Set<Int>()
    private var unflushedData = false
    private var scratch: UnsafeMutableRawBufferPointer
    private static let bitmapPage = 4096

    /// Opens (or, when missing and writable, creates) the overlay at `overlayPath` over
    /// `basePath`. `newBlockSize` is used only when creating.
    public init(overlayPath: String, basePath: String, readOnly: Bool,
                newBlockSize: Int = CopyOnWriteOverlayHeader.defaultBlockSize) throws(BlockConfigurationError) {
        self.overlayPath = overlayPath
        self.basePath = basePath
        isReadOnly = readOnly
        do { base = try BlockHostFile(path: basePath, writable: false) } catch {
            throw .open(path: basePath, errno: error.code, message: error.message)
        }
        let baseSize: UInt64
        do { baseSize = try base.size() } catch { throw .io(path: basePath, errno: error.code, message: error.message) }
        guard baseSize >= 512 else { throw .empty(path: basePath) }

        var opened: BlockHostFile?
        var created = false
        do { opened = try BlockHostFile(path: overlayPath, writable: !readOnly) } catch {
            guard error.code == ENOENT, !readOnly else {
                throw .open(path: overlayPath, errno: error.code, message: error.message)
            }
        }
        if opened == nil {
            guard let fresh = CopyOnWriteOverlayHeader(baseFileSize: baseSize, blockSize: newBlockSize, basePath: basePath)
            else { throw .overlay(path: overlayPath, reason: "cannot lay out an overlay with \(newBlockSize)-byte blocks") }
            opened = try Self.create(overlayPath, fresh)
            created = true
        }
        guard let overlay = opened else { throw .overlay(path: overlayPath, reason: "not opened") }
        self.overlay = overlay

        let headerBytes: [UInt8]
        do { headerBytes = try overlay.readBytes(CopyOnWriteOverlayHeader.headerSize, at: 0) } catch {
            throw .io(path: overlayPath, errno: error.code, message: error.message)
        }
        let header: CopyOnWriteOverlayHeader
        do { header = try CopyOnWriteOverlayHeader(decoding: headerBytes) } catch {
            throw .overlay(path: overlayPath, reason: error.description)
        }
        guard header.diskSize == baseSize & ~UInt64(511) else {
            throw .overlay(path: overlayPath, reason: "made for a \(header.diskSize)-byte base; \(basePath) is \(baseSize) bytes")
        }
        self.header = header
        var bitmap = [UInt8](repeating: 0, count: Int(header.bitmapSize))
        if !created {
            do { bitmap = try overlay.readBytes(Int(header.bitmapSize), at: header.bitmapOffset) } catch {
                throw .io(path: overlayPath, errno: error.code, message: error.message)
            }
        }
        self.bitmap = bitmap
        scratch = .allocate(byteCount: header.blockSize, alignment: 4096)
    }

    deinit { scratch.deallocate() }

    private static func create(_ path: String, _ header: CopyOnWriteOverlayHeader) throws(BlockConfigurationError) -> BlockHostFile {
        do {
            let file = try BlockHostFile(path: path, writable: true, create: true)
            try file.writeBytes(header.encoded, at: 0)
            // The bitmap (zeros: nothing allocated) and the data are holes.
            try file.truncate(to: header.dataOffset + header.diskSize)
            try file.syncData()
            return file
        } catch {
            throw .open(path: path, errno: error.code, message: "creating the overlay: \(error.message)")
        }
    }

    /// Whether block `index` is in the overlay.
    public func isAllocated(block index: UInt64) -> Bool {
        guard index < header.blockCount else { return false }
        return bitmap[Int(index / 8)] & (1 << UInt8(index % 8)) != 0
    }

    /// Blocks currently in the overlay.
    public var allocatedBlocks: Int { bitmap.reduce(0) { $0 + $1.nonzeroBitCount } }

    private func setAllocated(block index: UInt64, _ value: Bool) {
        let byte = Int(index / 8)
        let mask: UInt8 = 1 << UInt8(index % 8)
        let old = bitmap[byte]
        bitmap[byte] = value ? old | mask : old & ~mask
        if bitmap[byte] != old { dirtyBitmapPages.insert(byte / Self.bitmapPage) }
    }

    public func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: UInt64) throws(BlockImageError) {
        let length = totalBytes(buffers)
        guard contains(offset: offset, length: length) else { throw .outOfRange }
        var cursor = ScatterCursor(buffers.map { UnsafeRawBufferPointer($0) })
        let block = UInt64(header.blockSize)
        var position = offset
        let end = offset + length
        while position < end {
            // A run of blocks that all come from the same file.
            let allocated = isAllocated(block: position / block)
            var runEnd = min((position / block + 1) * block, end)
            while runEnd < end, isAllocated(block: runEnd / block) == allocated { runEnd = min(runEnd + block, end) }
            let pieces = cursor.take(Int(runEnd - position)).map { UnsafeMutableRawBufferPointer(mutating: $0) }
            do {
                if allocated { try overlay.read(into: pieces, at: header.dataOffset + position) } else {
                    try base.read(into: pieces, at: position)
                }
            } catch { throw .io(error.code) }
            position = runEnd
        }
    }

    public func write(from buffers: [UnsafeRawBufferPointer], at offset: UInt64) throws(BlockImageError) {
        guard !isReadOnly else { throw .readOnly }
        let length = totalBytes(buffers)
        guard contains(offset: offset, length: length) else { throw .outOfRange }
        var cursor = ScatterCursor(buffers)
        let block = UInt64(header.blockSize)
        var position = offset
        let end = offset + length
        while position < end {
            let index = position / block
            let blockStart = index * block
            let blockEnd = min(blockStart + block, header.diskSize)
            let pieceEnd = min(blockEnd, end)
            if isAllocated(block: index) || (position == blockStart && pieceEnd == blockEnd) {
                // Straight into the overlay: extend over following blocks that need no copy.
                var runEnd = pieceEnd
                while runEnd < end {
                    let next = runEnd / block
                    let nextEnd = min((next + 1) * block, header.diskSize)
                    guard isAllocated(block: next) || nextEnd <= end else { break }
                    runEnd = min(nextEnd, end)
                }
                let pieces = cursor.take(Int(runEnd - position))
                do { try overlay.write(from: pieces, at: header.dataOffset + position) } catch { throw .io(error.code) }
                var b = index
                while b * block < runEnd {
                    setAllocated(block: b, true)
                    b += 1
                }
                position = runEnd
            } else {
                // Copy on write: the block from the base, the new bytes over it, all to the overlay.
                let size = Int(blockEnd - blockStart)
                let window = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<size])
                guard let start = window.baseAddress else { throw .io(EFAULT) }
                do { try base.read(into: window, at: blockStart) } catch { throw .io(error.code) }
                cursor.copy(Int(pieceEnd - position), to: start + Int(position - blockStart))
                do { try overlay.write(from: UnsafeRawBufferPointer(window), at: header.dataOffset + blockStart) } catch {
                    throw .io(error.code)
                }
                setAllocated(block: index, true)
                position = pieceEnd
            }
        }
        unflushedData = true
    }

    /// Data first, then the bitmap pages that changed, each made durable before the next.
    public func flush() throws(BlockImageError) {
        guard !isReadOnly else { throw .readOnly }
        do {
            if unflushedData {
                try overlay.syncData()
                unflushedData = false
            }
            guard !dirtyBitmapPages.isEmpty else { return }
            for page in dirtyBitmapPages.sorted() {
                let start = page * Self.bitmapPage
                let end = min(start + Self.bitmapPage, bitmap.count)
                try overlay.writeBytes(bitmap, start..<end, at: header.bitmapOffset + UInt64(start))
            }
            try overlay.syncData()
            dirtyBitmapPages.removeAll()
        } catch { throw .io(error.code) }
    }

    /// Whole blocks in the range go back to the base (bit cleared, overlay data punched
    /// out); partial blocks at the ends keep their contents (discard is advisory).
    public func discard(offset: UInt64, length: UInt64) throws(BlockImageError) {
        guard !isReadOnly else { throw .readOnly }
        guard contains(offset: offset, length: length) else { throw .outOfRange }
        let block = UInt64(header.blockSize)
        let end = offset + length
        var index = (offset + block - 1) / block
        while index * block < end {
            let blockEnd = min((index + 1) * block, header.diskSize)
            guard blockEnd <= end else { break }
            if isAllocated(block: index) {
                setAllocated(block: index, false)
                try? overlay.punchHole(offset: header.dataOffset + index * block, length: blockEnd - index * block)
            }
            index += 1
        }
    }

    public func close() {
        if !isReadOnly { try? flush() }
        overlay.close()
        base.close()
    }
}

/// Walks a scatter list front to back, handing out the next n bytes as pieces.
struct ScatterCursor {
    private let buffers: [UnsafeRawBufferPointer]
    private var index = 0
    private var offset = 0

    init(_ buffers: [UnsafeRawBufferPointer]) { self.buffers = buffers }

    /// The next `count` bytes as slices of the buffers (fewer if the list ends).
    mutating func take(_ count: Int) -> [UnsafeRawBufferPointer] {
        var pieces: [UnsafeRawBufferPointer] = []
        var left = count
        while left > 0, index < buffers.count {
            let buffer = buffers[index]
            let n = min(left, buffer.count - offset)
            if n > 0 { pieces.append(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + n)])) }
            left -= n
            offset += n
            if offset >= buffer.count {
                index += 1
                offset = 0
            }
        }
        return pieces
    }

    /// Copies the next `count` bytes to `destination`.
    mutating func copy(_ count: Int, to destination: UnsafeMutableRawPointer) {
        var written = 0
        for piece in take(count) {
            guard let source = piece.baseAddress else { continue }
            (destination + written).copyMemory(from: source, byteCount: piece.count)
            written += piece.count
        }
    }
}
