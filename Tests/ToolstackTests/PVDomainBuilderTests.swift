import GuestMemory
import Testing
@testable import Toolstack
import XenABI

/// Building whole domains into a dictionary-backed memory, then reading back what a guest
/// would see: its page tables, start_info, p2m, kernel, ramdisk and hypercall page.
@Suite struct PVDomainBuilderTests {
    static let sharedInfo = MachineAddress(0x7_7000)

    private func parameters(pages: UInt64, commandLine: String = "console=hvc0 root=/dev/xvda1",
                            ramdisk: [UInt8]? = nil) -> PVBuildParameters {
        PVBuildParameters(memoryPages: pages, commandLine: commandLine, ramdisk: ramdisk,
                          sharedInfo: PVDomainBuilderTests.sharedInfo, storeEventChannel: EventChannelPort(1),
                          consoleEventChannel: EventChannelPort(2))
    }

    private func build(_ elf: TestELF, pages: UInt64, ramdisk: [UInt8]? = nil,
                       commandLine: String = "console=hvc0 root=/dev/xvda1") throws -> (PVBootState, TestMemory) {
        let memory = TestMemory(pages: pages)
        let state = try PVDomainBuilder.build(kernel: KernelImage(bytes: elf.bytes),
                                              parameters: parameters(pages: pages, commandLine: commandLine, ramdisk: ramdisk),
                                              memory: memory)
        return (state, memory)
    }

    /// Walks the 4-level tables from CR3 for `va`: the L1 entry, or nil when a level is
    /// not present. Upper levels must carry exactly 0x067.
    private func walk(_ va: UInt64, cr3: UInt64, memory: TestMemory) -> UInt64? {
        var table = cr3 >> 12
        for level in stride(from: 3, through: 0, by: -1) {
            let index = Int((va >> (12 + 9 * UInt64(level))) & 0x1FF)
            let entry = get64(memory.readMachine(table), index * 8)
            guard entry & 1 == 1 else { return nil }
            if level == 0 { return entry }
            #expect(entry & 0xFFF == 0x067, "upper-level entry flags at level \(level + 1) for \(va)")
            table = (entry >> 12) & 0xFF_FFFF_FFFF
        }
        return nil
    }

    private func checkMapping(_ state: PVBootState, _ memory: TestMemory) {
        let layout = state.layout
        let tables = layout.pageTables.pfn..<layout.pageTables.pfnEnd
        let mappedPages = (layout.virtPgtabEnd - layout.virtBase) / 4096
        var failures = 0
        for pfn in 0..<mappedPages {
            let va = layout.virtBase &+ pfn * 4096
            guard let entry = walk(va, cr3: state.cr3, memory: memory) else {
                failures += 1
                continue
            }
            let expectedMFN = memory.machineFrame(of: GuestFrame(pfn))?.rawValue
            let expectedFlags: UInt64 = tables.contains(pfn) ? 0x021 : 0x023
            if entry >> 12 != expectedMFN || entry & 0xFFF != expectedFlags { failures += 1 }
        }
        #expect(failures == 0, "\(failures) of \(mappedPages) pages mis-mapped")
        // Nothing beyond the mapping in the last L1 tables, nothing below virt_base.
        #expect(walk(layout.virtPgtabEnd, cr3: state.cr3, memory: memory) == nil)
        if layout.virtBase >= 4096 {
            #expect(walk(layout.virtBase - 4096, cr3: state.cr3, memory: memory) == nil)
        }
    }

    @Test func buildsALinuxLikeDomain() throws {
        let elf = TestELF.linuxLike(fileBytes: 0x5123, hypercallPage: 0xFFFF_FFFF_8100_2000)
        let ramdisk = TestELF.pattern(0x1_2345, seed: 0x33)
        let (state, memory) = try build(elf, pages: 0x8000, ramdisk: ramdisk)
        let layout = state.layout

        // Registers (§2.6).
        #expect(state.rip == 0xFFFF_FFFF_8100_1000)
        #expect(state.rsp == layout.stackPointer && state.kernelSP == state.rsp)
        #expect(state.rsi == 0xFFFF_FFFF_8300_0000)
        #expect(state.rflags == 0x200 && state.cs == 0xE033 && state.ss == 0xE02B && state.kernelSS == 0xE02B)
        #expect(state.vcpuFlags == 0x24)
        #expect(state.topLevelPageTable == memory.machineFrame(of: GuestFrame(layout.pageTables.pfn)))
        #expect(state.cr3 == state.topLevelPageTable.rawValue << 12)

        checkMapping(state, memory)

        // The INIT_P2M area maps the p2m list pages, read-write, through the same L4.
        for i in 0..<layout.p2mListPages {
            let entry = walk(0x80_0000_0000 + i * 4096, cr3: state.cr3, memory: memory)
            #expect(entry.map { $0 >> 12 } == memory.machineFrame(of: GuestFrame(layout.p2m.pfn + i))?.rawValue)
            #expect(entry.map { $0 & 0xFFF } == 0x023)
        }
        #expect(walk(0x80_0000_0000 + layout.p2mListPages * 4096, cr3: state.cr3, memory: memory) == nil)
        // The p2m list: entry i = machine frame of pfn i.
        let list = memory.read(pfn: layout.p2m.pfn, offset: 0, count: Int(layout.totalPages) * 8)
        for pfn in [0, 1, 0x1000, 0x3003, 0x7FFF] as [UInt64] {
            #expect(get64(list, Int(pfn) * 8) == memory.machineFrame(of: GuestFrame(pfn))?.rawValue)
        }

        // start_info.
        let si = memory.read(pfn: layout.startInfoPFN)
        #expect(Array(si[0..<15]) == Array("xen-3.0-x86_64".utf8) + [0])
        #expect(get64(si, StartInfo64.Offset.pageCount) == 0x8000)
        #expect(get64(si, StartInfo64.Offset.sharedInfo) == 0x7_7000)
        #expect(get32(si, StartInfo64.Offset.flags) == StartInfoFlags.modStartPFN.rawValue)
        #expect(get64(si, StartInfo64.Offset.storeMFN) == state.xenstoreMachineFrame.rawValue)
        #expect(get32(si, StartInfo64.Offset.storeEventChannel) == 1)
        #expect(get64(si, StartInfo64.Offset.consoleMFN) == state.consoleMachineFrame.rawValue)
        #expect(get32(si, StartInfo64.Offset.consoleEventChannel) == 2)
        #expect(get64(si, StartInfo64.Offset.pageTableBase) == 0xFFFF_FFFF_8300_3000)
        #expect(get64(si, StartInfo64.Offset.pageTableFrameCount) == 29)
        #expect(get64(si, StartInfo64.Offset.mfnList) == 0x80_0000_0000)
        #expect(get64(si, StartInfo64.Offset.moduleStart) == 0x3400)
        #expect(get64(si, StartInfo64.Offset.moduleLength) == 19 * 4096)
        #expect(get64(si, StartInfo64.Offset.firstP2MPFN) == layout.p2m.pfn)
        #expect(get64(si, StartInfo64.Offset.p2mFrameCount) == layout.p2m.pages)
        let line = Array("console=hvc0 root=/dev/xvda1".utf8)
        #expect(Array(si[128..<128 + line.count + 1]) == line + [0])

        // Kernel bytes at pfn (paddr - 0) / 4096, bss zero, ramdisk at its pfn.
        // (pfn 0x1002 holds the hypercall page, checked below).
        let kernelBytes = elf.segments[0].data
        #expect(memory.read(pfn: 0x1000, offset: 0, count: 0x2000) == Array(kernelBytes[0..<0x2000]))
        #expect(memory.read(pfn: 0x1003, offset: 0, count: 0x2123) == Array(kernelBytes[0x3000..<0x5123]))
        let afterFile = memory.read(pfn: 0x1005, offset: 0x123, count: 4096 - 0x123)
        #expect(afterFile.allSatisfy { $0 == 0 })
        #expect(memory.read(pfn: 0x3400, offset: 0, count: ramdisk.count) == ramdisk)

        // Hypercall page stubs (§2.8) at the HYPERCALL_PAGE pfn, over the kernel's bytes.
        let page = memory.read(pfn: 0x1002)
        #expect(Array(page[0..<14]) == [0x51, 0x41, 0x53, 0xB8, 0, 0, 0, 0, 0x0F, 0x05, 0x41, 0x5B, 0x59, 0xC3])
        #expect(Array(page[32 * 29..<32 * 29 + 8]) == [0x51, 0x41, 0x53, 0xB8, 29, 0, 0, 0])
        #expect(Array(page[32 * 23..<32 * 23 + 11]) == [0x51, 0x41, 0x53, 0x50, 0xB8, 23, 0, 0, 0, 0x0F, 0x05])
        #expect(page[14] == 0xCC && page[32 * 23 + 11] == 0xCC && page[4095] == 0xCC)

        // Console page: zero but for connection = XENCONSOLE_DISCONNECTED; xenstore page zero.
        let console = memory.read(pfn: layout.consolePFN)
        #expect(console[3088] == 1)
        #expect(console.enumerated().allSatisfy { $0.offset == 3088 || $0.element == 0 })
        #expect(memory.isAllZero(pfn: layout.xenstorePFN))
    }

    @Test func buildsAGrubLikeDomainAtVirtualZero() throws {
        let elf = TestELF.grubLike()
        let (state, memory) = try build(elf, pages: 0x2000, commandLine: "")
        #expect(state.rip == 0 && state.rsi == 0x31000 && state.rsp == 0x3A000)
        checkMapping(state, memory)
        let si = memory.read(pfn: 0x31)
        #expect(get64(si, StartInfo64.Offset.mfnList) == 0x21000)
        #expect(get64(si, StartInfo64.Offset.pageTableBase) == 0x34000)
        #expect(get64(si, StartInfo64.Offset.pageTableFrameCount) == 5)
        #expect(get32(si, StartInfo64.Offset.flags) == 0)
        #expect(get64(si, StartInfo64.Offset.firstP2MPFN) == 0 && get64(si, StartInfo64.Offset.moduleStart) == 0)
        #expect(si[128] == 0)
        // The p2m list is inside the mapping, at its VA.
        #expect(get64(memory.read(pfn: 0x21), 8) == memory.machineFrame(of: GuestFrame(1))?.rawValue)
        #expect(memory.read(pfn: 0, offset: 0, count: 0x1_8000) == elf.segments[0].data)
    }

    @Test func mapsARamdiskWhenTheKernelLacksModStartPFN() throws {
        let ramdisk = TestELF.pattern(5000, seed: 9)
        let (state, memory) = try build(.linuxLike(modStartPFN: false), pages: 0x8000, ramdisk: ramdisk)
        #expect(state.startInfo.flags == [])
        #expect(state.startInfo.moduleStart == 0xFFFF_FFFF_8300_0000)
        #expect(state.startInfo.moduleLength == 8192)
        checkMapping(state, memory)
        #expect(memory.read(pfn: 0x3000, offset: 0, count: 5000) == ramdisk)
    }

    @Test func decompressesAGzipRamdiskAsXenDoes() throws {
        let contents = TestELF.pattern(40_000, seed: 4)
        let gz = Compressors.gzip(contents)
        let prepared = try PVDomainBuilder.prepareRamdisk(gz)
        #expect(prepared.contents == contents)
        #expect(prepared.segmentBytes == UInt64(contents.count + 16))
        #expect(try PVDomainBuilder.prepareRamdisk(gz, decompressGzip: false).contents == gz)
        // A gzip magic with a broken body is handed over as is.
        var broken = gz
        broken[20] ^= 0xFF
        broken[21] ^= 0xFF
        #expect(try PVDomainBuilder.prepareRamdisk(broken).contents == broken)
        #expect(throws: BuilderError.emptyRamdisk) { try PVDomainBuilder.prepareRamdisk([]) }
        #expect(throws: BuilderError.ramdiskTooLarge(bytes: 100, limit: 50)) {
            try PVDomainBuilder.prepareRamdisk([UInt8](repeating: 1, count: 100), limit: 50)
        }
        // gzip magic, a trailer claiming 10 bytes, a body that does not inflate: the segment is
        // sized for 26 bytes (under the limit), so the 100-byte file cannot fall back into it.
        var liar = [UInt8](repeating: 0x55, count: 100)
        liar[0] = 0x1F
        liar[1] = 0x8B
        set32(&liar, 96, 10)
        #expect(throws: BuilderError.ramdiskTooLarge(bytes: 100, limit: 50)) {
            try PVDomainBuilder.prepareRamdisk(liar, limit: 50)
        }
    }

    @Test func refusesALongCommandLine() throws {
        let long = String(repeating: "a", count: 1024)
        #expect(throws: BuilderError.commandLineTooLong(bytes: 1024, limit: 1023)) {
            try build(.grubLike(), pages: 0x2000, commandLine: long)
        }
        let (state, memory) = try build(.grubLike(), pages: 0x2000, commandLine: String(long.dropFirst()))
        let si = memory.read(pfn: state.layout.startInfoPFN)
        #expect(si[128 + 1022] == 0x61 && si[128 + 1023] == 0)
    }

    @Test func writesInvalidEntriesForHolesAndRefusesUnpopulatedFrames() throws {
        let kernel = try KernelImage(bytes: TestELF.grubLike().bytes)
        let memory = TestMemory(pages: 0x2000)
        memory.holes = [0x1FFF]
        let state = try PVDomainBuilder.build(kernel: kernel, parameters: parameters(pages: 0x2000), memory: memory)
        #expect(get64(memory.read(pfn: state.layout.p2m.pfn, offset: 0x1FFF * 8, count: 8), 0) == UInt64.max)
        // A hole inside the initial mapping cannot be mapped.
        let holed = TestMemory(pages: 0x2000)
        holed.holes = [0x200]
        #expect(throws: BuilderError.frameNotPopulated(GuestFrame(0x200))) {
            try PVDomainBuilder.build(kernel: kernel, parameters: parameters(pages: 0x2000), memory: holed)
        }
    }

    @Test func buildsIntoPhysicalMemory() throws {
        // The production memory adapter: RAM plus a reversed p2m.
        let ram = try PhysicalMemory(bytes: 40 << 20)
        let pages: UInt64 = 0x2000
        let p2m = (0..<pages).map { Optional(MachineFrame(0x27FF - $0)) }
        let memory = PhysicalBuildMemory(ram: ram, p2m: p2m)
        let state = try PVDomainBuilder.build(kernel: KernelImage(bytes: TestELF.grubLike().bytes),
                                              parameters: parameters(pages: pages), memory: memory)
        #expect(state.topLevelPageTable == MachineFrame(0x27FF - 0x34))
        let magic = ram.read(at: state.startInfoMachineFrame.address, count: 14)
        #expect(magic == Array("xen-3.0-x86_64".utf8))
        // L4 slot 0 → the L3 at pfn 0x35.
        let l4e = ram.load(UInt64.self, at: state.topLevelPageTable.address)
        #expect(l4e == (0x27FF - 0x35) << 12 | 0x067)
    }

    @Test func buildsSurvivorsOfRandomCorruption() {
        // Corrupted images that still parse must build or fail with a BuilderError.
        let good = TestELF.grubLike(fileBytes: 0x400, memorySize: 0x2000).bytes
        var generator = SplitMix(seed: 0xB111D)
        var built = 0
        for _ in 0..<400 {
            var bytes = good
            for _ in 0..<Int(generator.next() % 4 + 1) {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            guard let kernel = try? KernelImage(bytes: bytes) else { continue }
            let memory = TestMemory(pages: 0x1000)
            if (try? PVDomainBuilder.build(kernel: kernel, parameters: parameters(pages: 0x1000), memory: memory)) != nil {
                built += 1
            }
        }
        #expect(built > 0)
    }
}
