/// Kite's copy-on-write overlay file: a sparse file as large as its base plus a small
/// header and an allocation bitmap. All integers little-endian.
///
/// ```
/// 0        header (4096 bytes)
///          0   8  magic "KITE-COW"
///          8   u32 version (1)
///          12  u32 header size (4096)
///          16  u64 disk size in bytes (the base's size rounded down to 512)
///          24  u32 block size (a power of two, 512 B … 1 MiB; default 64 KiB)
///          28  u32 reserved (0)
///          32  u64 bitmap offset (4096)
///          40  u64 bitmap size in bytes (ceil(blocks / 8) rounded up to 4096)
///          48  u64 data offset (after the bitmap, aligned to the block size and 4096)
///          56  u64 base file size when the overlay was made (detects a swapped base)
///          64  u16 base path length, 66… the base path as given (informational)
/// 4096     bitmap: bit i (byte i / 8, bit i % 8, LSB first) set = block i is in the overlay
/// data     block i at data offset + i × block size; never-written blocks are holes
/// ```
///
/// A read of block i comes from the overlay when its bit is set, else from the base.
/// The first write to a block copies the rest of the block from the base (copy on
/// write), then sets the bit in memory. A flush makes the data durable first
/// (fdatasync), then writes the changed bitmap pages and syncs again, so a crash never
/// leaves a bit set over data that did not reach the disk. Discarding whole blocks
/// clears their bits and punches their data out (they read as the base again).
public struct CopyOnWriteOverlayHeader: Hashable, Sendable {
    public static let magic: [UInt8] = Array("KITE-COW".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 4096
    public static let defaultBlockSize = 64 << 10
    public static let minimumBlockSize = 512
    public static let maximumBlockSize = 1 << 20
    /// Bitmaps are kept in memory: 256 MiB of bitmap is 2^31 blocks (128 TiB at 64 KiB).
    public static let maximumBitmapSize: UInt64 = 256 << 20
    private static let bitmapPage: UInt64 = 4096

    public var diskSize: UInt64
    public var blockSize: Int
    public var bitmapOffset: UInt64
    public var bitmapSize: UInt64
    public var dataOffset: UInt64
    public var baseFileSize: UInt64
    public var basePath: String

    public var blockCount: UInt64 { (diskSize + UInt64(blockSize) - 1) / UInt64(blockSize) }

    /// The layout for a new overlay over a base of `baseFileSize` bytes; nil when the base
    /// is empty, the block size is not a power of two in range, or the bitmap too large.
    public init?(baseFileSize: UInt64, blockSize: Int, basePath: String) {
        let disk = baseFileSize & ~UInt64(511)
        guard disk > 0, Self.validBlockSize(blockSize) else { return nil }
        let blocks = (disk + UInt64(blockSize) - 1) / UInt64(blockSize)
        let bitmapBytes = (blocks + 7) / 8
        let bitmap = (bitmapBytes + Self.bitmapPage - 1) / Self.bitmapPage * Self.bitmapPage
        guard bitmap <= Self.maximumBitmapSize else { return nil }
        let alignment = max(UInt64(blockSize), Self.bitmapPage)
        let afterBitmap = UInt64(Self.headerSize) + bitmap
        diskSize = disk
        self.blockSize = blockSize
        bitmapOffset = UInt64(Self.headerSize)
        bitmapSize = bitmap
        dataOffset = (afterBitmap + alignment - 1) / alignment * alignment
        self.baseFileSize = baseFileSize
        self.basePath = String(decoding: Array(basePath.utf8).prefix(Self.headerSize - 66), as: UTF8.self)
    }

    static func validBlockSize(_ size: Int) -> Bool {
        size >= minimumBlockSize && size <= maximumBlockSize && size & (size - 1) == 0
    }

    /// The 4096 header bytes.
    public var encoded: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.headerSize)
        out.replaceSubrange(0..<8, with: Self.magic)
        out.withUnsafeMutableBytes { b in
            b.storeBytes(of: Self.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            b.storeBytes(of: UInt32(Self.headerSize).littleEndian, toByteOffset: 12, as: UInt32.self)
            b.storeBytes(of: diskSize.littleEndian, toByteOffset: 16, as: UInt64.self)
            b.storeBytes(of: UInt32(blockSize).littleEndian, toByteOffset: 24, as: UInt32.self)
            b.storeBytes(of: bitmapOffset.littleEndian, toByteOffset: 32, as: UInt64.self)
            b.storeBytes(of: bitmapSize.littleEndian, toByteOffset: 40, as: UInt64.self)
            b.storeBytes(of: dataOffset.littleEndian, toByteOffset: 48, as: UInt64.self)
            b.storeBytes(of: baseFileSize.littleEndian, toByteOffset: 56, as: UInt64.self)
            let path = Array(basePath.utf8).prefix(Self.headerSize - 66)
            b.storeBytes(of: UInt16(path.count).littleEndian, toByteOffset: 64, as: UInt16.self)
            for (i, byte) in path.enumerated() { b[66 + i] = byte }
        }
        return out
    }

    /// Decodes and checks a header; the error says what is wrong.
    public init(decoding bytes: [UInt8]) throws(OverlayHeaderError) {
        guard bytes.count >= Self.headerSize else { throw .truncated }
        guard Array(bytes[0..<8]) == Self.magic else { throw .notAnOverlay }
        func u32(_ o: Int) -> UInt32 {
            bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        }
        func u64(_ o: Int) -> UInt64 {
            bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        }
        guard u32(8) == Self.version else { throw .version(u32(8)) }
        guard u32(12) == UInt32(Self.headerSize) else { throw .field("header size \(u32(12))") }
        diskSize = u64(16)
        guard diskSize > 0, diskSize % 512 == 0 else { throw .field("disk size \(diskSize)") }
        let block = Int(u32(24))
        guard Self.validBlockSize(block) else { throw .field("block size \(block)") }
        blockSize = block
        bitmapOffset = u64(32)
        bitmapSize = u64(40)
        dataOffset = u64(48)
        baseFileSize = u64(56)
        let blocks = (diskSize / UInt64(block)) + (diskSize % UInt64(block) == 0 ? 0 : 1)
        guard bitmapOffset >= UInt64(Self.headerSize), bitmapSize >= (blocks + 7) / 8,
              bitmapSize <= Self.maximumBitmapSize else {
            throw .field("bitmap at \(bitmapOffset), \(bitmapSize) bytes for \(blocks) blocks")
        }
        let (bitmapEnd, o1) = bitmapOffset.addingReportingOverflow(bitmapSize)
        let (_, o2) = dataOffset.addingReportingOverflow(diskSize)
        guard !o1, !o2, dataOffset >= bitmapEnd, dataOffset % 512 == 0, dataOffset <= UInt64(Int64.max) / 2 else {
            throw .field("data offset \(dataOffset)")
        }
        guard baseFileSize & ~UInt64(511) == diskSize else { throw .field("base size \(baseFileSize)") }
        let pathLength = min(Int(u32(64) & 0xFFFF), Self.headerSize - 66)
        basePath = String(decoding: bytes[66..<(66 + pathLength)], as: UTF8.self)
    }
}

/// What is wrong with an overlay header.
public enum OverlayHeaderError: Error, Equatable, CustomStringConvertible {
    case truncated
    case notAnOverlay
    case version(UInt32)
    case field(String)

    public var description: String {
        switch self {
        case .truncated: "the file is shorter than the 4096-byte overlay header"
        case .notAnOverlay: "no KITE-COW magic: not a Kite overlay"
        case .version(let v): "overlay version \(v) is not supported (Kite writes version 1)"
        case .field(let what): "corrupt header: \(what)"
        }
    }
}
