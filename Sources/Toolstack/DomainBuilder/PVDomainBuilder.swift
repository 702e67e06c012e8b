import GuestMemory
import XenABI

/// Builds a 64-bit PV domain's initial memory image — what Xen's libxenguest does between
/// `xc_dom_parse_image` and `xc_dom_boot_image` — touching nothing but the memory it is
/// given. The caller populates the domain first (so `machineFrame(of:)` answers), then
/// pins the L4 and starts vCPU 0 with the returned state.
public enum PVDomainBuilder {
    /// The ramdisk as it will be placed, and the size of the segment that holds it.
    public struct PreparedModule: Equatable, Sendable {
        public var contents: [UInt8]
        public var segmentBytes: UInt64
    }

    /// Xen's handling of module 0 (xc_dom_build_module): a gzip ramdisk whose trailer size
    /// is sane is decompressed into a segment of `max(trailer size + 16, file size)` bytes;
    /// if that fails, the file is placed as is.
    public static func prepareRamdisk(_ bytes: [UInt8], decompressGzip: Bool = true,
                                      limit: Int = Decompressor.defaultLimit) throws(BuilderError) -> PreparedModule {
        guard !bytes.isEmpty else { throw .emptyRamdisk }
        let size = UInt64(bytes.count)
        let limit64 = UInt64(max(limit, 0))
        var unzipped: UInt64 = 0
        if decompressGzip, bytes.count >= 6, bytes[0] == 0x1F, bytes[1] == 0x8B,
           let trailer = bytes.readLE(UInt32.self, at: size - 4), UInt64(trailer) <= UInt64(Decompressor.defaultLimit) {
            unzipped = UInt64(trailer) + 16
        }
        var segmentBytes = max(unzipped, size)
        if unzipped > 0 && segmentBytes > limit64 {
            segmentBytes = min(unzipped, size)
            if unzipped > segmentBytes { unzipped = 0 }
        }
        guard segmentBytes <= limit64 else { throw .ramdiskTooLarge(bytes: bytes.count, limit: limit) }
        if unzipped > 0, let contents = try? Decompressor.gunzip(bytes[...], limit: Int(unzipped)) {
            return PreparedModule(contents: contents, segmentBytes: segmentBytes)
        }
        // Xen fails here too: the raw file does not fit the segment sized for its contents.
        guard size <= segmentBytes else { throw .ramdiskTooLarge(bytes: bytes.count, limit: limit) }
        return PreparedModule(contents: bytes, segmentBytes: segmentBytes)
    }

    /// Lays out and writes the domain: kernel segments (bss zeroed), ramdisk, p2m list,
    /// start_info, xenstore and console pages, page tables, hypercall page.
    public static func build(kernel: KernelImage, parameters: PVBuildParameters,
                             memory: some PVBuildMemory) throws(BuilderError) -> PVBootState {
        let commandLine = Array(parameters.commandLine.utf8)
        guard commandLine.count < StartInfo64.maxCommandLine else {
            throw .commandLineTooLong(bytes: commandLine.count, limit: StartInfo64.maxCommandLine - 1)
        }
        let module = try parameters.ramdisk.map { (bytes) throws(BuilderError) -> PreparedModule in
            try prepareRamdisk(bytes, decompressGzip: parameters.decompressGzipRamdisk, limit: parameters.maxModuleSize)
        }
        let info = kernel.info
        let layout = try PVLayout.compute(kernel: info, memoryPages: parameters.memoryPages,
                                          ramdiskBytes: module?.segmentBytes ?? 0)

        // Kernel: the segment is zeroed (bss included), then each PT_LOAD copied to
        // p_paddr - pstart within it (elf_load_binary).
        try zero(layout.kernel, in: memory)
        for segment in kernel.elf.loadableSegments {
            try memory.write(kernel.elf.fileBytes(of: segment), startingAt: GuestFrame(layout.kernel.pfn),
                             offset: segment.physicalAddress - info.physicalStart)
        }

        if let module, let segment = layout.ramdisk {
            try zero(segment, in: memory)
            try memory.write(module.contents[...], startingAt: GuestFrame(segment.pfn), offset: 0)
        }

        // p2m list: entry i is the machine frame of pfn i, ~0 for a hole.
        try zero(layout.p2m, in: memory)
        var list = [UInt8](repeating: 0, count: Int(layout.totalPages) * 8)
        list.withUnsafeMutableBytes { raw in
            for pfn in 0..<layout.totalPages {
                let entry = memory.machineFrame(of: GuestFrame(pfn))?.rawValue ?? UInt64.max
                raw.storeBytes(of: entry.littleEndian, toByteOffset: Int(pfn) * 8, as: UInt64.self)
            }
        }
        try memory.write(list[...], startingAt: GuestFrame(layout.p2m.pfn), offset: 0)

        for pfn in [layout.startInfoPFN, layout.xenstorePFN, layout.consolePFN, layout.bootStackPFN] {
            try memory.zero(GuestFrame(pfn))
        }
        // The console starts disconnected; the console backend flips it to connected.
        try memory.write([ConsoleRing.disconnected][...], startingAt: GuestFrame(layout.consolePFN),
                         offset: UInt64(ConsoleRing.connectionOffset))

        try zero(layout.pageTables, in: memory)
        try PVPageTables.write(layout, to: memory)

        let storeMFN = try memory.requireMachineFrame(of: GuestFrame(layout.xenstorePFN))
        let consoleMFN = try memory.requireMachineFrame(of: GuestFrame(layout.consolePFN))
        let startInfoMFN = try memory.requireMachineFrame(of: GuestFrame(layout.startInfoPFN))
        var startInfo = StartInfo64()
        startInfo.pageCount = layout.totalPages
        startInfo.sharedInfo = parameters.sharedInfo.rawValue
        startInfo.flags = parameters.flags
        if layout.ramdisk != nil && !layout.ramdiskMapped { startInfo.flags.insert(.modStartPFN) }
        startInfo.storeMFN = storeMFN.rawValue
        startInfo.storeEventChannel = parameters.storeEventChannel.rawValue
        startInfo.consoleMFN = consoleMFN.rawValue
        startInfo.consoleEventChannel = parameters.consoleEventChannel.rawValue
        startInfo.pageTableBase = layout.pageTables.virtualStart
        startInfo.pageTableFrameCount = layout.pageTableFrameCount
        startInfo.mfnList = layout.p2m.virtualStart
        if layout.initP2M != nil {
            startInfo.firstP2MPFN = layout.p2m.pfn
            startInfo.p2mFrameCount = layout.p2m.pages
        }
        if layout.ramdisk != nil {
            startInfo.moduleStart = layout.moduleStart
            startInfo.moduleLength = layout.moduleLength
        }
        startInfo.commandLine = commandLine
        try memory.write(startInfo.encoded(), to: GuestFrame(layout.startInfoPFN))

        // Xen writes the stubs on XEN_DOMCTL_hypercall_init, after the kernel is loaded.
        if let pfn = layout.hypercallPagePFN {
            try memory.write(HypercallPage.pv64(), to: GuestFrame(pfn))
        }

        let l4 = try memory.requireMachineFrame(of: GuestFrame(layout.pageTables.pfn))
        return PVBootState(
            rip: info.entry, rsp: layout.stackPointer, rsi: layout.startInfoAddress,
            kernelSP: layout.stackPointer, topLevelPageTable: l4,
            startInfoFrame: GuestFrame(layout.startInfoPFN), startInfoMachineFrame: startInfoMFN,
            xenstoreFrame: GuestFrame(layout.xenstorePFN), xenstoreMachineFrame: storeMFN,
            consoleFrame: GuestFrame(layout.consolePFN), consoleMachineFrame: consoleMFN,
            startInfo: startInfo, layout: layout)
    }

    private static func zero(_ segment: PVLayout.Segment, in memory: some PVBuildMemory) throws(BuilderError) {
        for pfn in segment.pfn..<segment.pfnEnd { try memory.zero(GuestFrame(pfn)) }
    }
}

/// The console ring page's connection flag. Xen: `xencons_interface.connection`
/// (public/io/console.h), set to XENCONSOLE_DISCONNECTED when a domain is built.
enum ConsoleRing {
    /// Offset of `connection` in the page.
    static let connectionOffset = 3088
    /// Xen: XENCONSOLE_DISCONNECTED
    static let disconnected: UInt8 = 1
    /// Xen: XENCONSOLE_CONNECTED
    static let connected: UInt8 = 0
}
