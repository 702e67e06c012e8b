import Testing
@testable import Toolstack
import XenABI

/// Layout numbers worked out by hand from Xen's algorithm (xc_dom_build_image,
/// alloc_pgtables_pv, count_pgtables); each expectation says how.
@Suite struct PVLayoutTests {
    private func info(_ elf: TestELF) throws -> XenKernelInfo { try XenKernelInfo.parse(ElfImage(bytes: elf.bytes)) }

    @Test func linuxLikeKernelWithInitP2MAndUnmappedRamdisk() throws {
        // 128 MiB = 0x8000 pages; kernel paddr 16 MiB, 32 MiB in memory; 1 MiB + 1 byte ramdisk.
        let layout = try PVLayout.compute(kernel: info(.linuxLike()), memoryPages: 0x8000, ramdiskBytes: 0x10_0001)
        // Padding pfn 0–0xfff, then the kernel's 0x2000 pages.
        #expect(layout.kernel == .init(pfn: 0x1000, pages: 0x2000, virtualStart: 0xFFFF_FFFF_8100_0000))
        // INIT_P2M: no p2m inside the kernel mapping; magic pages straight after the kernel.
        #expect(layout.startInfoPFN == 0x3000 && layout.xenstorePFN == 0x3001 && layout.consolePFN == 0x3002)
        // Mapping [base, round_up(base + 0x3003000 + 129 pages, 4 MiB)) = 52 MiB:
        // 1 L4 + 1 L3 + 1 L2 + 26 L1 (52 MiB / 2 MiB) = 29 tables; 29 + 129 pages still fit.
        #expect(layout.pageTables == .init(pfn: 0x3003, pages: 29, virtualStart: 0xFFFF_FFFF_8300_3000))
        #expect(layout.pageTableFrameCount == 29)
        #expect(layout.mappings[0].levels.map(\.count) == [26, 1, 1, 1])
        #expect(layout.mappings[0].levels.map(\.pfn) == [0x3006, 0x3005, 0x3004, 0x3003])
        #expect(layout.bootStackPFN == 0x3020)
        #expect(layout.virtPgtabEnd == 0xFFFF_FFFF_8340_0000)
        #expect(layout.stackPointer == 0xFFFF_FFFF_8302_1000)
        #expect(layout.startInfoAddress == 0xFFFF_FFFF_8300_0000)
        // Unmapped ramdisk right after the mapped region: pfn 0x3400, 257 pages, mod_start = pfn.
        #expect(layout.ramdisk == .init(pfn: 0x3400, pages: 0x101, virtualStart: 0xFFFF_FFFF_8340_0000))
        #expect(!layout.ramdiskMapped)
        #expect(layout.moduleStart == 0x3400 && layout.moduleLength == 0x101 * 4096)
        // p2m: 0x8000 × 8 bytes = 64 pages at 0x8000000000, then 1 L3 + 1 L2 + 1 L1 for it.
        #expect(layout.initP2M == 0x80_0000_0000)
        #expect(layout.p2mListPages == 64)
        #expect(layout.p2m == .init(pfn: 0x3501, pages: 67, virtualStart: 0x80_0000_0000))
        #expect(layout.mappings.count == 2)
        #expect(layout.mappings[1].levels.map(\.count) == [1, 1, 1, 0])
        #expect(layout.mappings[1].levels.map(\.pfn) == [0x3543, 0x3542, 0x3541, 0x3541])
        #expect(layout.mappings[1].pfn == 0x3501)
        #expect(layout.allocatedPages == 0x3544)
        #expect(layout.hypercallPagePFN == nil)
    }

    @Test func grubLikeKernelAtVirtualZero() throws {
        // 32 MiB = 0x2000 pages; kernel 0x21000 bytes at VA 0.
        let layout = try PVLayout.compute(kernel: info(.grubLike()), memoryPages: 0x2000, ramdiskBytes: 0)
        #expect(layout.kernel == .init(pfn: 0, pages: 0x21, virtualStart: 0))
        // No INIT_P2M: the p2m (0x2000 × 8 = 16 pages) follows the kernel inside the mapping.
        #expect(layout.p2m == .init(pfn: 0x21, pages: 16, virtualStart: 0x21000))
        #expect(layout.initP2M == nil)
        #expect(layout.startInfoPFN == 0x31 && layout.xenstorePFN == 0x32 && layout.consolePFN == 0x33)
        // [0, 4 MiB): 1 L4 + 1 L3 + 1 L2 + 2 L1.
        #expect(layout.pageTables == .init(pfn: 0x34, pages: 5, virtualStart: 0x34000))
        #expect(layout.bootStackPFN == 0x39)
        #expect(layout.virtPgtabEnd == 0x40_0000)
        #expect(layout.stackPointer == 0x3A000 && layout.startInfoAddress == 0x31000)
        #expect(layout.allocatedPages == 0x400)
        #expect(layout.mappings.count == 1)
        #expect(layout.description.contains("page tables  pfn 0x34+0x5  va 0x34000"))
        #expect(try info(.grubLike()).description.hasPrefix("GRUB (xen-3.0, loader generic), entry 0x0"))
    }

    @Test func mapsARamdiskWithoutModStartPFN() throws {
        let kernel = try info(.linuxLike(modStartPFN: false))
        let layout = try PVLayout.compute(kernel: kernel, memoryPages: 0x8000, ramdiskBytes: 0x8000)
        // Ramdisk right after the kernel, start_info after it; mod_start is a VA.
        #expect(layout.ramdisk == .init(pfn: 0x3000, pages: 8, virtualStart: 0xFFFF_FFFF_8300_0000))
        #expect(layout.ramdiskMapped)
        #expect(layout.moduleStart == 0xFFFF_FFFF_8300_0000 && layout.moduleLength == 0x8000)
        #expect(layout.startInfoPFN == 0x3008)
    }

    @Test func declinesInitP2MAtOrAboveVirtBase() throws {
        var elf = TestELF.grubLike()
        elf.notes.append(TestELF.number(.initP2M, 0x80_0000_0000))
        let layout = try PVLayout.compute(kernel: info(elf), memoryPages: 0x2000, ramdiskBytes: 0)
        #expect(layout.initP2M == nil && layout.p2m.pfn == 0x21)
        var misaligned = TestELF.linuxLike()
        misaligned.notes.append(TestELF.number(.initP2M, 0x80_0000_0010))
        #expect(try PVLayout.compute(kernel: info(misaligned), memoryPages: 0x8000, ramdiskBytes: 0).initP2M == nil)
    }

    @Test func sizesPageTablesForLargeMemoryToAFixedPoint() throws {
        // 4 GiB without INIT_P2M: an 8 MiB p2m inside the mapping, so more L1 tables.
        let layout = try PVLayout.compute(kernel: info(.linuxLike(initP2M: false)), memoryPages: 0x10_0000,
                                          ramdiskBytes: 0)
        let mapped = (layout.virtPgtabEnd - layout.virtBase) / 4096
        let l1 = layout.mappings[0].levels[0].count
        #expect(l1 == mapped / 512)  // one L1 per 2 MiB of the mapping
        #expect(layout.pageTables.pfnEnd + 1 + 128 <= mapped)  // tables, stack and 512 KiB slack fit
        #expect(layout.virtPgtabEnd % (4 << 20) == 0)
        #expect(layout.p2m.pages == 2048 && layout.p2m.virtualStart == 0xFFFF_FFFF_8300_0000)
    }

    @Test func refusesWhatDoesNotFit() throws {
        let linux = try info(.linuxLike())
        // The kernel alone needs 0x3000 pages.
        #expect(throws: BuilderError.outOfMemory(segment: "kernel", pages: 0x2000, totalPages: 0x2800, used: 0x1000)) {
            try PVLayout.compute(kernel: linux, memoryPages: 0x2800, ramdiskBytes: 0)
        }
        // Enough for the kernel, not for the 52 MiB initial mapping.
        #expect(throws: BuilderError.initialMappingTooLarge(endPFN: 0x33FF, totalPages: 0x3100)) {
            try PVLayout.compute(kernel: linux, memoryPages: 0x3100, ramdiskBytes: 0)
        }
        // A ramdisk bigger than what is left.
        #expect(throws: BuilderError.self) {
            try PVLayout.compute(kernel: linux, memoryPages: 0x8000, ramdiskBytes: 0x800_0000)
        }
        #expect(throws: BuilderError.noMemory) { try PVLayout.compute(kernel: linux, memoryPages: 0, ramdiskBytes: 0) }
    }

    @Test func refusesTheHypervisorHoleAndNonCanonicalAddresses() throws {
        var hole = TestELF.linuxLike()
        hole.segments[0].virtualAddress = 0xFFFF_8000_0100_0000
        hole.notes.removeAll { $0.type == XenElfNote.virtBase.rawValue || $0.type == XenElfNote.entry.rawValue }
        hole.notes += [TestELF.number(.virtBase, 0xFFFF_8000_0000_0000), TestELF.number(.entry, 0xFFFF_8000_0100_0000)]
        #expect(throws: BuilderError.overlapsHypervisorHole(what: "the kernel mapping", start: 0xFFFF_8000_0000_0000,
                                                            end: 0xFFFF_8000_0340_0000)) {
            try PVLayout.compute(kernel: info(hole), memoryPages: 0x8000, ramdiskBytes: 0)
        }
        var nonCanonical = hole
        nonCanonical.notes += [TestELF.number(.virtBase, 0x7FFF_FF00_0000_0000), TestELF.number(.entry, 0x7FFF_FF00_0100_0000)]
        nonCanonical.notes.removeAll { $0.type == XenElfNote.initP2M.rawValue }
        #expect(throws: BuilderError.self) {
            try PVLayout.compute(kernel: info(nonCanonical), memoryPages: 0x8000, ramdiskBytes: 0)
        }
        var p2mInHole = TestELF.linuxLike()
        p2mInHole.notes.append(TestELF.number(.initP2M, 0xFFFF_8100_0000_0000))
        #expect(throws: BuilderError.overlapsHypervisorHole(what: "the INIT_P2M area", start: 0xFFFF_8100_0000_0000,
                                                            end: 0xFFFF_8100_0004_0000)) {
            try PVLayout.compute(kernel: info(p2mInHole), memoryPages: 0x8000, ramdiskBytes: 0)
        }
        // A kernel so high that the mapping would wrap past 2^64.
        var top = TestELF.linuxLike(memorySize: 0x3000)
        top.segments[0].physicalAddress = 0x7FF0_0000
        top.notes.append(TestELF.number(.entry, 0xFFFF_FFFF_FFF0_0000))
        #expect(throws: BuilderError.addressSpaceOverflow(what: "the kernel mapping")) {
            try PVLayout.compute(kernel: info(top), memoryPages: 0x10_0000, ramdiskBytes: 0)
        }
    }

    @Test func refusesAMisalignedKernelStart() throws {
        var elf = TestELF.linuxLike()
        elf.segments[0].physicalAddress = 0x100_0800
        elf.notes.append(TestELF.number(.entry, 0xFFFF_FFFF_8100_1000))
        #expect(throws: BuilderError.misalignedAddress(what: "the start of kernel", address: 0xFFFF_FFFF_8100_0800)) {
            try PVLayout.compute(kernel: info(elf), memoryPages: 0x8000, ramdiskBytes: 0)
        }
    }

    @Test func placesTheHypercallPageOrRefusesOneOutsideMemory() throws {
        let inside = try PVLayout.compute(kernel: info(.linuxLike(hypercallPage: 0xFFFF_FFFF_8100_2000)),
                                          memoryPages: 0x8000, ramdiskBytes: 0)
        #expect(inside.hypercallPagePFN == 0x1002)
        for address: UInt64 in [0xFFFF_FFFF_9000_0000, 0x1000] {
            #expect(throws: BuilderError.hypercallPageOutsideMemory(address: address)) {
                try PVLayout.compute(kernel: info(.linuxLike(hypercallPage: address)), memoryPages: 0x8000,
                                     ramdiskBytes: 0)
            }
        }
    }
}
