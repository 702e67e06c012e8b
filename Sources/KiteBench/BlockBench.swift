import ArgumentParser
import Foundation
import KiteHost

/// `kite-bench block`: sequential disk throughput through the PV block path (bench-block
/// kernel: blkfront ring, grant maps, the image file) beside the host reading the same
/// image file in the same run.
///
/// Prints `BENCH block-write-guest MBps=<v>`, `BENCH block-read-guest MBps=<v>` and
/// `BENCH block-read-host MBps=<v>` (MB = 10^6 bytes). The guest's figures come from its
/// own system time (the host's monotonic clock); both reads find the image in the page
/// cache, so the comparison is of the paths, not of the disk.
struct BlockBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block",
        abstract: "Guest sequential disk read/write MB/s against the host reading the same image.")

    @Option(help: "Size of the scratch disk image in MiB (the guest streams up to 64 MiB of it).")
    var megabytes = 64

    @Option(help: "Directory for the scratch image (default: the system's temporary directory).")
    var directory: String?

    func run() throws {
        guard megabytes >= 1 else { throw ValidationError("--megabytes must be at least 1") }
        let image = try makeImage()
        defer { try? FileManager.default.removeItem(atPath: image) }
        let kernel = try XenBench.findKernel("bench-block")
        guard let bytes = FileManager.default.contents(atPath: kernel) else { throw ValidationError("cannot read \(kernel)") }

        let host = try PVHost(memoryMiB: 128)
        defer { host.shutdown() }
        let guest = try host.create(PVDomainSpec(
            kernel: [UInt8](bytes), kernelName: "bench-block", memoryMiB: 64,
            disks: [PVDiskSpec(path: image, vdev: "xvda")]))
        let outcome = guest.waitForStop(timeout: 900)
        let text = String(decoding: guest.console.contents, as: UTF8.self)
        _ = guest.destroy()
        guard outcome?.reason == .poweroff, text.contains("Test result: SUCCESS"),
              let write = Self.figure(text, "bench-block write:"), let read = Self.figure(text, "bench-block read:")
        else { throw ValidationError("bench-block did not report its figures:\n\(text)") }

        for line in text.split(separator: "\n") where line.hasPrefix("bench-block") {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let hostRead = try Self.hostRead(image, bytes: read.bytes)
        print(String(format: "BENCH block-write-guest MBps=%.1f", write.megabytesPerSecond))
        print(String(format: "BENCH block-read-guest MBps=%.1f", read.megabytesPerSecond))
        print(String(format: "BENCH block-read-host MBps=%.1f", hostRead))
        FileHandle.standardError.write(Data(String(
            format: "%.1f MiB each way; guest read at %.1f%% of the host's\n",
            Double(read.bytes) / 1_048_576, 100 * read.megabytesPerSecond / max(hostRead, 0.001)).utf8))
    }

    struct Figure {
        var bytes: UInt64
        var nanoseconds: UInt64
        var megabytesPerSecond: Double { nanoseconds == 0 ? 0 : Double(bytes) * 1000 / Double(nanoseconds) }
    }

    /// Reads "<label> <bytes> bytes in <ns> ns" from the guest's console.
    static func figure(_ text: String, _ label: String) -> Figure? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains(label) }) else { return nil }
        let words = line.split(separator: " ")
        guard let b = words.firstIndex(of: "bytes"), b > 0, let bytes = UInt64(words[b - 1]),
              let n = words.firstIndex(of: "ns"), n > 0, let ns = UInt64(words[n - 1]) else { return nil }
        return Figure(bytes: bytes, nanoseconds: ns)
    }

    /// A scratch image with data in every block (holes would read faster than data).
    private func makeImage() throws -> String {
        let base = directory.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let path = base.appendingPathComponent("kite-bench-block-\(getpid()).img").path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot create \(path)") }
        defer { try? handle.close() }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for mib in 0..<megabytes {
            for i in stride(from: 0, to: chunk.count, by: 8) { chunk[i] = UInt8(truncatingIfNeeded: i >> 3 &+ mib) }
            try handle.write(contentsOf: chunk)
        }
        return path
    }

    /// The host reading the first `bytes` of the image sequentially in 1 MiB preads; MB/s.
    static func hostRead(_ path: String, bytes: UInt64) throws -> Double {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot open \(path)") }
        defer { close(fd) }
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        var done: UInt64 = 0
        var checksum: UInt8 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        while done < bytes {
            let want = Int(min(UInt64(size), bytes - done))
            let n = pread(fd, buffer, want, off_t(done))
            guard n > 0 else { throw ValidationError("reading \(path) at \(done) failed") }
            checksum &+= buffer.load(fromByteOffset: n - 1, as: UInt8.self)
            done += UInt64(n)
        }
        let ns = DispatchTime.now().uptimeNanoseconds - start
        _ = checksum
        return ns == 0 ? 0 : Double(done) * 1000 / Double(ns)
    }
}
