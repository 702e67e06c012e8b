import Foundation
import KiteHost
import Testing
import XenABI
import XenBackends

/// The blkfront kernel (Guests/pv/tests/blkfront) on a PVHost with a disk: the frontend
/// handshake, writes, flush, read-back, discard and a past-the-end request, then the
/// host file checked byte for byte.
@Suite struct PVHostBlockTests {
    @Test func writesFlushesAndReadsBackARawDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kite-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = dir.appendingPathComponent("disk.img").path
        FileManager.default.createFile(atPath: image, contents: nil)
        let h = try #require(FileHandle(forWritingAtPath: image))
        try h.truncate(atOffset: 1 << 20)
        try h.close()
        let host = try PVHost(memoryMiB: 64)
        let guest = try host.create(PVDomainSpec(kernel: try PVHostTests.kernel("blkfront"), kernelName: "blkfront", memoryMiB: 32,
                                                 disks: [PVDiskSpec(path: image, vdev: "xvda")]))
        let outcome = guest.waitForStop(timeout: 120)
        let text = String(decoding: guest.console.contents, as: UTF8.self)
        _ = guest.destroy()
        host.shutdown()
        #expect(outcome?.reason == .poweroff)
        #expect(text.contains("Test result: SUCCESS"), "\(text)")
        let bytes = [UInt8](FileManager.default.contents(atPath: image) ?? Data())
        let pat = { (seed: Int, i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 13 + (i >> 9) + seed * 37 + 1) }
        #expect(bytes.count == 1 << 20)
        if bytes.count == 1 << 20 {
            #expect((0..<32768).allSatisfy { bytes[16 * 512 + $0] == pat(1, $0) })
            // One page rewritten in its middle (sectors 96-103, bytes 1024..<2560 of seed 3).
            #expect((0..<4096).allSatisfy { i in bytes[96 * 512 + i] == ((1024..<2560).contains(i) ? pat(3, i) : pat(2, i)) })
            #expect((0..<65536).allSatisfy { bytes[128 * 512 + $0] == pat(4, $0) })
        }
    }

    @Test func aDiskThatCannotBeOpenedStopsTheCreateAndLeavesNothing() throws {
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let free = host.freeMemoryMiB
        let spec = PVDomainSpec(
            kernel: try PVHostTests.kernel("blkfront"), kernelName: "blkfront", memoryMiB: 32,
            disks: [PVDiskSpec(path: "/nonexistent/kite/disk.img", vdev: "xvda")])
        #expect(throws: LaunchError.self) { try host.create(spec) }
        #expect(host.guests.isEmpty && host.freeMemoryMiB == free)
        let leftovers = try host.store.inspect { (s) throws(XenError) in (try? s.directory("/local/domain/1")) ?? [] }
        #expect(leftovers.isEmpty)
    }

    @Test func theSameOnACopyOnWriteOverlayLeavesTheBaseUntouched() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kite-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base.img").path
        let baseBytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        FileManager.default.createFile(atPath: base, contents: Data(baseBytes))
        let overlay = dir.appendingPathComponent("guest.cow").path
        let host = try PVHost(memoryMiB: 64)
        let guest = try host.create(PVDomainSpec(kernel: try PVHostTests.kernel("blkfront"), kernelName: "blkfront", memoryMiB: 32,
                                                 disks: [PVDiskSpec(path: overlay, vdev: "xvda", copyOnWriteBase: base)]))
        let outcome = guest.waitForStop(timeout: 120)
        let text = String(decoding: guest.console.contents, as: UTF8.self)
        _ = guest.destroy()
        host.shutdown()
        #expect(outcome?.reason == .poweroff)
        #expect(text.contains("Test result: SUCCESS"), "\(text)")
        #expect([UInt8](FileManager.default.contents(atPath: base) ?? Data()) == baseBytes)
        let image = try CopyOnWriteImage(overlayPath: overlay, basePath: base, readOnly: true)
        var got = [UInt8](repeating: 0, count: 1 << 20)
        try got.withUnsafeMutableBytes { try image.read(into: [$0], at: 0) }
        image.close()
        let pat = { (seed: Int, i: Int) -> UInt8 in UInt8(truncatingIfNeeded: i * 13 + (i >> 9) + seed * 37 + 1) }
        #expect((0..<32768).allSatisfy { got[16 * 512 + $0] == pat(1, $0) })
        #expect(Array(got[0..<8192]) == Array(baseBytes[0..<8192]))
        #expect(Array(got[(600 * 512)...]) == Array(baseBytes[(600 * 512)...]))
    }
}
