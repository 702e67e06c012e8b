import Foundation
import Testing

/// Debian's Linux (scripts/fetch-debian-kernel.sh) boots under Kite to user space: the
/// busybox initramfs of scripts/make-initramfs.sh prints its line and powers off; with
/// `make-initramfs.sh --devices`, Debian's own xen-blkfront and xen-netfront modules drive
/// a raw disk (a host-written marker read, 1 MiB written and read back with O_DIRECT, the
/// file checked afterwards), a file system on a second disk (Debian's ext4 module) and
/// user-mode networking (DHCP, a ping of the gateway).
///
/// About three billion guest instructions: minutes in a release build, an hour in a debug
/// one, so this runs the release `kite` (`swift build -c release --product kite`) as a
/// child process, and is skipped unless the kernel, the initramfs and that binary exist.
@Suite(.serialized) struct DebianLinuxBootTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kernel = root.appendingPathComponent("Guests/build/debian/vmlinuz").path
    static let initramfs = root.appendingPathComponent("Guests/build/initramfs/initramfs.cpio.gz").path
    static let devicesInitramfs = root.appendingPathComponent("Guests/build/initramfs/initramfs-devices.cpio.gz").path
    static let kite = root.appendingPathComponent(".build/release/kite").path

    static var ready: Bool {
        [kernel, initramfs, kite].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    static var devicesReady: Bool {
        [kernel, devicesInitramfs, kite].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    /// Runs the release kite with `arguments`; its status and everything it printed.
    static func kiteRun(_ arguments: [String]) throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kite)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: ready, "needs scripts/fetch-debian-kernel.sh, scripts/make-initramfs.sh and a release kite"),
          .timeLimit(.minutes(20)))
    func linuxRunsTheInitramfsAndPowersOff() throws {
        let (status, text) = try Self.kiteRun([
            "run", "--kernel", Self.kernel, "--ramdisk", Self.initramfs, "--memory", "256",
            "--cmdline", "console=hvc0", "--max-instructions", "20000000000",
        ])
        #expect(text.contains("Run /init as init process"), "\(text.suffix(3000))")
        #expect(text.contains("Kite initramfs: user space is running"), "\(text.suffix(3000))")
        #expect(text.contains("domain shut down: poweroff"), "\(text.suffix(3000))")
        #expect(status == 0)
    }

    @Test(.enabled(if: devicesReady, "needs scripts/fetch-debian-kernel.sh --modules, scripts/make-initramfs.sh --devices and a release kite"),
          .timeLimit(.minutes(20)))
    func linuxDrivesADiskAndTheNetworkWithDebiansFrontEnds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kite-debian-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = dir.appendingPathComponent("disk.img").path
        var disk = [UInt8](repeating: 0, count: 16 << 20)
        disk.replaceSubrange(0..<31, with: Array("KITE-HOST-MARKER-0123456789abcd".utf8))
        FileManager.default.createFile(atPath: image, contents: Data(disk))
        // The second disk gets an ext2 file system through Debian's ext4 module.
        let second = dir.appendingPathComponent("fs.img").path
        FileManager.default.createFile(atPath: second, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: second))
        try handle.truncate(atOffset: 32 << 20)
        try handle.close()

        let (status, text) = try Self.kiteRun([
            "run", "--kernel", Self.kernel, "--ramdisk", Self.devicesInitramfs, "--memory", "256",
            "--cmdline", "console=hvc0", "--max-instructions", "20000000000",
            "--disk", "\(image),raw,xvda,rw", "--disk", "\(second),raw,xvdb,rw", "--vif", "bridge=slirp",
        ])
        let tail = String(text.suffix(4000))
        #expect(text.contains("Kite initramfs: loaded xen-blkfront"), "\(tail)")
        #expect(text.contains("Kite initramfs: /dev/xvda has 32768 sectors"), "\(tail)")
        #expect(text.contains("Kite initramfs: xvda starts with \"KITE-HOST-MARKER-0123456789abcd\""), "\(tail)")
        #expect(text.contains("Kite initramfs: disk round trip ok"), "\(tail)")
        // blkfront's complaints about a response ("empty flush op failed", "response has
        // wrong operation", "disabled for further use") mean blkback broke the protocol.
        #expect(!text.contains("op failed") && !text.contains("wrong operation") && !text.contains("disabled for further use"),
                "\(tail)")
        #expect(text.contains("Kite initramfs: xvdb file system says \"Kite wrote this file on ext4 over xen-blkfront.\""),
                "\(tail)")
        #expect(text.contains("Kite initramfs: ping 10.0.2.2 ok"), "\(tail)")
        #expect(text.contains("domain shut down: poweroff"), "\(tail)")
        #expect(status == 0)

        // What the guest wrote at 1 MiB reached the file.
        let after = [UInt8](try #require(FileManager.default.contents(atPath: image)))
        let line = Array("Kite wrote this line through xen-blkfront.\n".utf8)
        let expected = (0..<(1 << 20)).map { line[$0 % line.count] }
        #expect(after.count == 16 << 20)
        #expect(Array(after[(1 << 20)..<(2 << 20)]) == expected)
    }
}
