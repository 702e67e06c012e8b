import Foundation
import Testing

/// Debian's unmodified PV-GRUB (grub-xen-host's grub-x86_64-xen.bin, scripts/fetch-pvgrub.sh)
/// boots under Kite as the domain's kernel: its embedded config finds /boot/grub/grub.cfg on
/// a Xen disk through GRUB's own blkfront, loads Debian's kernel and initramfs from the ext2
/// image of scripts/make-pvgrub-disk.sh, and starts Linux with its relocator; Linux runs the
/// busybox /init and powers off. With `make-pvgrub-disk.sh --devices`, Linux's xen-blkfront
/// then takes over the disks GRUB handed back (frontend Closed, then Initialising) and
/// drives them.
///
/// GRUB decompresses the xz payload of the bzImage twice (once to find the Xen notes, once
/// to load it): about 11 billion guest instructions in all, so this runs the release `kite`
/// like `DebianLinuxBootTests`, and is skipped unless the images and that binary exist.
@Suite(.serialized) struct DebianPVGrubBootTests {
    static let root = DebianLinuxBootTests.root
    static let grub = root.appendingPathComponent("Guests/build/pvgrub/grub-x86_64-xen.bin").path
    static let bootImage = root.appendingPathComponent("Guests/build/pvgrub/boot.img").path
    static let devicesBootImage = root.appendingPathComponent("Guests/build/pvgrub/boot-devices.img").path

    static var ready: Bool {
        [grub, bootImage, DebianLinuxBootTests.kite].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    static var devicesReady: Bool {
        [grub, devicesBootImage, DebianLinuxBootTests.kite].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    /// A scratch directory with a copy of `image` (the guest may write to its disks).
    static func scratchCopy(of image: String) throws -> (dir: URL, copy: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kite-pvgrub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let copy = dir.appendingPathComponent("boot.img").path
        try FileManager.default.copyItem(atPath: image, toPath: copy)
        return (dir, copy)
    }

    /// GRUB's error lines, except the two the embedded config always prints: it looks for
    /// a chainloadable /boot/xen/pvboot-x86_64.elf (or /xen/...) before grub.cfg.
    static func grubErrors(_ text: String) -> [Substring] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .filter { $0.contains("error:") && !$0.contains("pvboot-x86_64.elf") }
    }

    @Test(.enabled(if: ready, "needs scripts/fetch-pvgrub.sh, scripts/make-pvgrub-disk.sh and a release kite"),
          .timeLimit(.minutes(30)))
    func pvGrubLoadsDebiansLinuxFromADisk() throws {
        let (dir, disk) = try Self.scratchCopy(of: Self.bootImage)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (status, text) = try DebianLinuxBootTests.kiteRun([
            "run", "--kernel", Self.grub, "--memory", "256", "--max-instructions", "40000000000",
            "--disk", "\(disk),raw,xvda,rw",
        ])
        let tail = String(text.suffix(3000))
        #expect(text.contains("Welcome to GRUB!"), "\(tail)")
        #expect(text.contains("Reading (xen/xvda)/boot/grub/grub.cfg"), "\(tail)")
        #expect(text.contains("PV-GRUB: loading the initial ramdisk"), "\(tail)")
        #expect(Self.grubErrors(text).isEmpty, "\(Self.grubErrors(text))")
        #expect(text.contains("Command line: console=hvc0"), "\(tail)")
        #expect(text.contains("Kite initramfs: user space is running"), "\(tail)")
        #expect(text.contains("domain shut down: poweroff"), "\(tail)")
        #expect(status == 0)
    }

    @Test(.enabled(if: devicesReady, "needs scripts/fetch-pvgrub.sh, scripts/make-pvgrub-disk.sh --devices and a release kite"),
          .timeLimit(.minutes(30)))
    func linuxTakesOverTheDisksPVGrubUsed() throws {
        // xvda: the raw disk /init checks (a marker, 1 MiB written back); xvdb: the boot disk,
        // which PV-GRUB finds by searching, and /init then formats.
        let (dir, boot) = try Self.scratchCopy(of: Self.devicesBootImage)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.img").path
        var bytes = [UInt8](repeating: 0, count: 16 << 20)
        bytes.replaceSubrange(0..<31, with: Array("KITE-HOST-MARKER-0123456789abcd".utf8))
        FileManager.default.createFile(atPath: data, contents: Data(bytes))
        let (status, text) = try DebianLinuxBootTests.kiteRun([
            "run", "--kernel", Self.grub, "--memory", "256", "--max-instructions", "40000000000",
            "--disk", "\(data),raw,xvda,rw", "--disk", "\(boot),raw,xvdb,rw",
        ])
        let tail = String(text.suffix(4000))
        #expect(text.contains("Reading (xen/xvdb)/boot/grub/grub.cfg"), "\(tail)")
        #expect(Self.grubErrors(text).isEmpty, "\(Self.grubErrors(text))")
        #expect(text.contains("Kite initramfs: loaded xen-blkfront"), "\(tail)")
        #expect(text.contains("Kite initramfs: xvda starts with \"KITE-HOST-MARKER-0123456789abcd\""), "\(tail)")
        #expect(text.contains("Kite initramfs: disk round trip ok"), "\(tail)")
        #expect(text.contains("Kite initramfs: xvdb file system says \"Kite wrote this file on ext4 over xen-blkfront.\""),
                "\(tail)")
        #expect(text.contains("domain shut down: poweroff"), "\(tail)")
        #expect(status == 0)
    }
}
