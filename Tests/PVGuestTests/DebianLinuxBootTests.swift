import Foundation
import Testing

/// Debian's Linux (scripts/fetch-debian-kernel.sh) boots under Kite to user space: the
/// busybox initramfs of scripts/make-initramfs.sh prints its line and powers off.
///
/// About three billion guest instructions: minutes in a release build, an hour in a debug
/// one, so this runs the release `kite` (`swift build -c release --product kite`) as a
/// child process, and is skipped unless the kernel, the initramfs and that binary exist.
@Suite struct DebianLinuxBootTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kernel = root.appendingPathComponent("Guests/build/debian/vmlinuz").path
    static let initramfs = root.appendingPathComponent("Guests/build/initramfs/initramfs.cpio.gz").path
    static let kite = root.appendingPathComponent(".build/release/kite").path

    static var ready: Bool {
        [kernel, initramfs, kite].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    @Test(.enabled(if: ready, "needs scripts/fetch-debian-kernel.sh, scripts/make-initramfs.sh and a release kite"),
          .timeLimit(.minutes(20)))
    func linuxRunsTheInitramfsAndPowersOff() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.kite)
        process.arguments = [
            "run", "--kernel", Self.kernel, "--ramdisk", Self.initramfs, "--memory", "256",
            "--cmdline", "console=hvc0", "--max-instructions", "20000000000",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("Run /init as init process"), "\(text.suffix(3000))")
        #expect(text.contains("Kite initramfs: user space is running"), "\(text.suffix(3000))")
        #expect(text.contains("domain shut down: poweroff"), "\(text.suffix(3000))")
        #expect(process.terminationStatus == 0)
    }
}
