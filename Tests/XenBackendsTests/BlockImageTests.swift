import Foundation
import Testing
import XenBackends

/// The image layer on real files: raw images (sparse, read-only) and copy-on-write
/// overlays over a shared base.
@Suite struct BlockImageTests {
    func read(_ image: any BlockImage, _ offset: UInt64, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: count)
        try out.withUnsafeMutableBytes { try image.read(into: [$0], at: offset) }
        return out
    }

    func write(_ image: any BlockImage, _ offset: UInt64, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try image.write(from: [$0], at: offset) }
    }

    @Test func rawRoundTripAndScatterLists() throws {
        let scratch = BlockScratch()
        let path = scratch.file("disk.img", size: 1 << 20)
        let image = try RawBlockImage(path: path, readOnly: false)
        #expect(image.byteCount == 1 << 20)
        #expect(image.sectorCount == 2048)
        let data = blockPattern(3 * 512, seed: 1)
        try write(image, 4096, data)
        #expect(try read(image, 4096, 3 * 512) == data)
        // A scatter list of three pieces reads the same bytes in order.
        var a = [UInt8](repeating: 0, count: 100), b = [UInt8](repeating: 0, count: 1000), c = [UInt8](repeating: 0, count: 436)
        try a.withUnsafeMutableBytes { pa in
            try b.withUnsafeMutableBytes { pb in
                try c.withUnsafeMutableBytes { pc in try image.read(into: [pa, pb, pc], at: 4096) }
            }
        }
        #expect(a + b + c == data)
        try image.flush()
        image.close()
        #expect(Array(scratch.bytes("disk.img")[4096..<(4096 + 1536)]) == data)
    }

    @Test func rangesPastTheEndAreRefused() throws {
        let scratch = BlockScratch()
        let image = try RawBlockImage(path: scratch.file("d.img", size: 8192 + 100), readOnly: false)
        // The partial last sector is not part of the disk.
        #expect(image.byteCount == 8192)
        #expect(throws: BlockImageError.outOfRange) { try read(image, 8192 - 512, 1024) }
        #expect(throws: BlockImageError.outOfRange) { try write(image, UInt64.max - 100, [1]) }
        #expect(throws: BlockImageError.outOfRange) { try image.discard(offset: 4096, length: UInt64.max) }
        #expect(try read(image, 8192 - 512, 512).count == 512)
        image.close()
    }

    @Test func emptyAndMissingImagesFailToOpen() {
        let scratch = BlockScratch()
        let small = scratch.file("small.img", size: 100)
        #expect(throws: BlockConfigurationError.empty(path: small)) { try RawBlockImage(path: small, readOnly: true) }
        #expect(throws: (any Error).self) { try RawBlockImage(path: scratch.path("missing.img"), readOnly: true) }
    }

    @Test func readOnlyImagesRefuseWritesFlushesAndDiscards() throws {
        let scratch = BlockScratch()
        let path = scratch.file("ro.img", size: 65536, contents: blockPattern(4096, seed: 2))
        let image = try RawBlockImage(path: path, readOnly: true)
        #expect(image.isReadOnly && !image.supportsDiscard)
        #expect(try read(image, 0, 4096) == blockPattern(4096, seed: 2))
        #expect(throws: BlockImageError.readOnly) { try write(image, 0, [1, 2, 3]) }
        #expect(throws: BlockImageError.readOnly) { try image.flush() }
        #expect(throws: BlockImageError.readOnly) { try image.discard(offset: 0, length: 4096) }
        image.close()
        #expect(Array(scratch.bytes("ro.img").prefix(4096)) == blockPattern(4096, seed: 2))
    }

    /// Zeros written over a hole are not written; discarding punches a hole that reads
    /// as zeros and gives the space back.
    @Test func rawImagesStaySparse() throws {
        let scratch = BlockScratch()
        let path = scratch.file("sparse.img", size: 64 << 20)
        let image = try RawBlockImage(path: path, readOnly: false)
        let before = scratch.allocatedBytes("sparse.img")
        try write(image, 1 << 20, [UInt8](repeating: 0, count: 1 << 20))
        try image.flush()
        #expect(scratch.allocatedBytes("sparse.img") == before)
        try write(image, 8 << 20, blockPattern(1 << 20, seed: 3))
        try image.flush()
        let written = scratch.allocatedBytes("sparse.img")
        #expect(written >= before + (1 << 20))
        try image.discard(offset: 8 << 20, length: 1 << 20)
        try image.flush()
        #expect(scratch.allocatedBytes("sparse.img") <= written - (1 << 20) + 4096)
        #expect(try read(image, 8 << 20, 1 << 20) == [UInt8](repeating: 0, count: 1 << 20))
        // Zeros over data are written: the data must go.
        try write(image, 0, blockPattern(4096, seed: 4))
        try write(image, 0, [UInt8](repeating: 0, count: 4096))
        #expect(try read(image, 0, 4096) == [UInt8](repeating: 0, count: 4096))
        image.close()
    }
}
