import Foundation
import Testing
import XenBackends

/// Copy-on-write overlays: reads fall through to the base until a block is written, the
/// base never changes, the overlay survives reopening, bad overlays are refused.
@Suite struct BlockOverlayTests {
    static let baseSize = 1 << 20

    struct Rig {
        let scratch = BlockScratch()
        let base: String
        let baseBytes = blockPattern(BlockOverlayTests.baseSize, seed: 9)
        var overlay: String { scratch.path("overlay.cow") }

        init() {
            base = scratch.file("base.img", size: BlockOverlayTests.baseSize, contents: baseBytes)
        }

        func open(readOnly: Bool = false, blockSize: Int = 4096) throws -> CopyOnWriteImage {
            try CopyOnWriteImage(overlayPath: overlay, basePath: base, readOnly: readOnly, newBlockSize: blockSize)
        }
    }

    func read(_ image: any BlockImage, _ offset: Int, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: count)
        try out.withUnsafeMutableBytes { try image.read(into: [$0], at: UInt64(offset)) }
        return out
    }

    func write(_ image: any BlockImage, _ offset: Int, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try image.write(from: [$0], at: UInt64(offset)) }
    }

    @Test func aNewOverlayReadsAsTheBase() throws {
        let rig = Rig()
        let image = try rig.open()
        #expect(image.byteCount == UInt64(Self.baseSize))
        #expect(image.allocatedBlocks == 0)
        #expect(try read(image, 0, Self.baseSize) == rig.baseBytes)
        image.close()
        let header = Array(rig.scratch.bytes("overlay.cow").prefix(8))
        #expect(header == Array("KITE-COW".utf8))
    }

    /// Partial writes copy the rest of their block from the base; whole-block writes do
    /// not need to; the base file is never touched.
    @Test func writesCopyOnWriteAndLeaveTheBaseAlone() throws {
        let rig = Rig()
        let image = try rig.open()
        var expected = rig.baseBytes
        let edits: [(Int, Int)] = [(100, 10), (4096, 4096), (8192 + 512, 3 * 4096), (Self.baseSize - 512, 512), (20000, 1)]
        for (i, (offset, count)) in edits.enumerated() {
            let data = blockPattern(count, seed: 40 + i)
            try write(image, offset, data)
            expected.replaceSubrange(offset..<(offset + count), with: data)
        }
        #expect(try read(image, 0, Self.baseSize) == expected)
        // Blocks 0, 1, 2..5, the last one, and 4 (20000).
        #expect(image.isAllocated(block: 0) && image.isAllocated(block: 1) && image.isAllocated(block: 5))
        #expect(!image.isAllocated(block: 6) && image.isAllocated(block: 255))
        image.close()
        #expect(rig.scratch.bytes("base.img") == rig.baseBytes)
        // Reopened: the bitmap and data persisted.
        let again = try rig.open()
        #expect(try read(again, 0, Self.baseSize) == expected)
        again.close()
    }

    /// Reads that cross between overlay and base blocks, into scatter lists.
    @Test func mixedReadsAcrossBlocks() throws {
        let rig = Rig()
        let image = try rig.open()
        let data = blockPattern(4096, seed: 5)
        try write(image, 2 * 4096, data)
        var pieces = [[UInt8]](repeating: [UInt8](repeating: 0, count: 1024), count: 12)
        let offset = 4096 + 1024
        try withPointers(&pieces) { try image.read(into: $0, at: UInt64(offset)) }
        var expected = rig.baseBytes
        expected.replaceSubrange(8192..<12288, with: data)
        #expect(pieces.flatMap { $0 } == Array(expected[offset..<(offset + 12 * 1024)]))
        image.close()
    }

    private func withPointers(_ arrays: inout [[UInt8]], _ body: ([UnsafeMutableRawBufferPointer]) throws -> Void) throws {
        var pointers: [UnsafeMutableRawBufferPointer] = []
        for i in arrays.indices {
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: arrays[i].count, alignment: 8)
            pointers.append(p)
        }
        defer { pointers.forEach { $0.deallocate() } }
        try body(pointers)
        for i in arrays.indices { arrays[i] = Array(pointers[i]) }
    }

    @Test func discardReturnsWholeBlocksToTheBase() throws {
        let rig = Rig()
        let image = try rig.open()
        try write(image, 0, blockPattern(4 * 4096, seed: 6))
        // From the middle of block 0 to the middle of block 3: blocks 1 and 2 go back.
        try image.discard(offset: 2048, length: 3 * 4096)
        #expect(image.isAllocated(block: 0) && !image.isAllocated(block: 1) && !image.isAllocated(block: 2))
        #expect(image.isAllocated(block: 3))
        #expect(try read(image, 4096, 8192) == Array(rig.baseBytes[4096..<12288]))
        #expect(try read(image, 0, 4096) == Array(blockPattern(4 * 4096, seed: 6)[0..<4096]))
        image.close()
    }

    @Test func readOnlyOverlaysRefuseWritesAndMustExist() throws {
        let rig = Rig()
        #expect(throws: (any Error).self) { try rig.open(readOnly: true) }
        let image = try rig.open()
        try write(image, 0, [1, 2, 3])
        image.close()
        let ro = try rig.open(readOnly: true)
        #expect(try read(ro, 0, 4) == [1, 2, 3, rig.baseBytes[3]])
        #expect(throws: BlockImageError.readOnly) { try write(ro, 0, [9]) }
        #expect(throws: BlockImageError.readOnly) { try ro.flush() }
        ro.close()
    }

    @Test func foreignOrMismatchedOverlaysAreRefused() throws {
        let rig = Rig()
        rig.scratch.file("overlay.cow", size: 8192, contents: Array("NOT-A-COW".utf8))
        #expect(throws: BlockConfigurationError.self) { try rig.open() }
        // An overlay made for a different base size.
        let other = rig.scratch.file("other.img", size: 2 << 20)
        let made = try CopyOnWriteImage(overlayPath: rig.scratch.path("o2.cow"), basePath: other, readOnly: false)
        made.close()
        #expect(throws: BlockConfigurationError.self) {
            try CopyOnWriteImage(overlayPath: rig.scratch.path("o2.cow"), basePath: rig.base, readOnly: false)
        }
        // A block size that is not a power of two cannot make an overlay.
        #expect(throws: BlockConfigurationError.self) {
            try CopyOnWriteImage(overlayPath: rig.scratch.path("o3.cow"), basePath: rig.base, readOnly: false, newBlockSize: 3000)
        }
    }

    @Test func headerRoundTripsAndRejectsCorruption() throws {
        guard let header = CopyOnWriteOverlayHeader(baseFileSize: 10_000_000, blockSize: 65536, basePath: "/images/base.img")
        else { Issue.record("no header"); return }
        #expect(header.diskSize == 10_000_000 / 512 * 512)
        #expect(header.bitmapOffset == 4096)
        #expect(header.dataOffset % 65536 == 0 && header.dataOffset >= 8192)
        let decoded = try CopyOnWriteOverlayHeader(decoding: header.encoded)
        #expect(decoded == header)
        var bad = header.encoded
        bad[24] = 0x33   // block size no longer a power of two
        #expect(throws: OverlayHeaderError.self) { try CopyOnWriteOverlayHeader(decoding: bad) }
        var version = header.encoded
        version[8] = 2
        #expect(throws: OverlayHeaderError.version(2)) { try CopyOnWriteOverlayHeader(decoding: version) }
        var huge = header.encoded
        huge.withUnsafeMutableBytes { $0.storeBytes(of: UInt64.max - 10, toByteOffset: 48, as: UInt64.self) }
        #expect(throws: OverlayHeaderError.self) { try CopyOnWriteOverlayHeader(decoding: huge) }
        #expect(throws: OverlayHeaderError.truncated) { try CopyOnWriteOverlayHeader(decoding: [1, 2, 3]) }
    }

    /// Two overlays over one base: each domain sees only its own writes.
    @Test func overlaysShareABase() throws {
        let rig = Rig()
        let one = try CopyOnWriteImage(overlayPath: rig.scratch.path("a.cow"), basePath: rig.base, readOnly: false)
        let two = try CopyOnWriteImage(overlayPath: rig.scratch.path("b.cow"), basePath: rig.base, readOnly: false)
        try write(one, 0, [1, 1, 1])
        try write(two, 0, [2, 2])
        #expect(try read(one, 0, 3) == [1, 1, 1])
        #expect(try read(two, 0, 3) == [2, 2, rig.baseBytes[2]])
        one.close()
        two.close()
        #expect(rig.scratch.bytes("base.img") == rig.baseBytes)
    }
}
