import Foundation
import GuestMemory
import Testing
@testable import Toolstack
import XenABI

/// Debian's real kernel, when `scripts/fetch-debian-kernel.sh` has fetched it into
/// Guests/build/debian/vmlinuz (skipped otherwise). Values are those of Linux 6.1's
/// arch/x86/xen/xen-head.S; the entry point moves with every build, so it is checked
/// against the kernel's extent rather than pinned.
@Suite struct DebianKernelTests {
    static let path: String = {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        return tests.appendingPathComponent("../../Guests/build/debian/vmlinuz").standardized.path
    }()

    static var present: Bool { FileManager.default.fileExists(atPath: path) }

    private func load() throws -> KernelImage {
        let data = try #require(FileManager.default.contents(atPath: DebianKernelTests.path))
        return try KernelImage(bytes: [UInt8](data))
    }

    @Test(.enabled(if: DebianKernelTests.present, "run scripts/fetch-debian-kernel.sh to fetch the kernel"))
    func readsTheXenNotesOfDebiansKernel() throws {
        let kernel = try load()
        guard case let .bzImage(version, compression) = kernel.container else {
            Issue.record("expected a bzImage, got \(kernel.container)")
            return
        }
        #expect(version >= 0x020F)
        #expect(compression == .xz)
        let info = kernel.info
        #expect(info.source == .noteSegments)
        #expect(info.guestOS == "linux" && info.guestVersion == "2.6")
        #expect(info.xenVersion == "xen-3.0" && info.loader == "generic" && info.paeMode == "yes")
        #expect(info.virtBase == 0xFFFF_FFFF_8000_0000)
        #expect(info.paddrOffset == 0)
        #expect(info.initP2M == 0x80_0000_0000)
        #expect(info.modStartPFN)
        #expect(info.suspendCancel)
        #expect(info.hvStartLow == 0xFFFF_8000_0000_0000)
        #expect(info.l1MFNValid == [1, 1])
        #expect(info.requiredFeatures == XenFeatureSet([.writablePageTables]))
        #expect(info.supportedFeaturesNote == XenFeatureSet(rawValue: 0x8801))
        // Linked at 0xffffffff81000000 with p_paddr 16 MiB.
        #expect(info.physicalStart == 0x100_0000)
        #expect(info.kernelStart == 0xFFFF_FFFF_8100_0000)
        #expect(info.entry > info.kernelStart && info.entry < info.kernelEnd)
        #expect(info.entry != kernel.elf.header.entry)  // e_entry is physical; ENTRY wins
        // Post-XSA-466 kernels (all current 6.1.x) ask for no hypercall page.
        #expect(info.hypercallPage == nil)
        #expect(info.phys32Entry.map { $0 >= 0x100_0000 && $0 < info.physicalEnd } == true)
        print("Debian kernel: entry 0x\(String(info.entry, radix: 16)), kernel [0x\(String(info.kernelStart, radix: 16)), 0x\(String(info.kernelEnd, radix: 16))), PHYS32_ENTRY 0x\(String(info.phys32Entry ?? 0, radix: 16)), hypercall page \(info.hypercallPage.map { "0x" + String($0, radix: 16) } ?? "none")")
    }

    @Test(.enabled(if: DebianKernelTests.present, "run scripts/fetch-debian-kernel.sh to fetch the kernel"))
    func buildsADomainFromDebiansKernel() throws {
        let kernel = try load()
        let pages: UInt64 = 256 << 8  // 256 MiB
        let memory = TestMemory(pages: pages)
        let state = try PVDomainBuilder.build(
            kernel: kernel,
            parameters: PVBuildParameters(memoryPages: pages, commandLine: "console=hvc0",
                                          ramdisk: TestELF.pattern(3 << 20, seed: 1), sharedInfo: MachineAddress(0x1000),
                                          storeEventChannel: EventChannelPort(1), consoleEventChannel: EventChannelPort(2)),
            memory: memory)
        let layout = state.layout
        #expect(layout.kernel.pfn == 0x1000)
        #expect(layout.initP2M == 0x80_0000_0000 && !layout.ramdiskMapped)
        #expect(state.startInfo.flags == .modStartPFN)
        #expect(state.startInfo.moduleStart == layout.virtPgtabEnd / 4096 - layout.virtBase / 4096)
        #expect(state.rip == kernel.info.entry)
        // The first loadable segment's bytes are where the kernel expects them.
        let text = try #require(kernel.elf.loadableSegments.first)
        #expect(memory.read(pfn: 0x1000, offset: 0, count: 4096) == Array(kernel.elf.fileBytes(of: text).prefix(4096)))
        print("Debian kernel layout: pt_base 0x\(String(state.startInfo.pageTableBase, radix: 16)), nr_pt_frames \(state.startInfo.pageTableFrameCount), virt_pgtab_end 0x\(String(layout.virtPgtabEnd, radix: 16)), p2m pfn 0x\(String(layout.p2m.pfn, radix: 16)) (+\(layout.p2m.pages)), rsp 0x\(String(state.rsp, radix: 16)), rsi 0x\(String(state.rsi, radix: 16))")
    }
}
