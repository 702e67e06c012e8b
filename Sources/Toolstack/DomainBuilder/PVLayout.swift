import XenABI

/// Where everything of a 64-bit PV domain goes in its pseudo-physical memory and initial
/// virtual address space, computed exactly as Xen's builder does (xg_dom_core.c
/// `xc_dom_build_image`, xg_dom_x86.c `alloc_pgtables_pv`, `alloc_p2m_list_x86_64`,
/// `alloc_magic_pages_pv`). Allocation is upward from pfn 0:
///
///     padding · kernel · mapped ramdisk · p2m (without INIT_P2M) · start_info · xenstore ·
///     console · page tables [L4][L3…][L2…][L1…] · boot stack · padding to virt_pgtab_end ·
///     unmapped ramdisk (MOD_START_PFN) · p2m + its page tables (INIT_P2M)
///
/// Every page below `virtPgtabEnd` is mapped at `virtBase + pfn * 4096`.
public struct PVLayout: Equatable, Sendable {
    /// A run of pages. `virtualStart` is where the guest sees it (for the INIT_P2M area,
    /// the INIT_P2M address).
    public struct Segment: Equatable, Sendable {
        public var pfn: UInt64
        public var pages: UInt64
        public var virtualStart: UInt64
        public var pfnEnd: UInt64 { pfn + pages }
    }

    public var totalPages: UInt64
    public var virtBase: UInt64
    public var kernel: Segment
    /// The ramdisk, if any; `ramdiskMapped` tells whether it lies inside the kernel mapping.
    public var ramdisk: Segment?
    public var ramdiskMapped: Bool
    /// The p2m list; with INIT_P2M the segment also holds that mapping's page tables.
    public var p2m: Segment
    /// Pages of the list itself: `totalPages * 8` bytes, rounded up.
    public var p2mListPages: UInt64
    /// The INIT_P2M address in effect (nil when absent or declined).
    public var initP2M: UInt64?
    public var startInfoPFN: UInt64
    public var xenstorePFN: UInt64
    public var consolePFN: UInt64
    public var pageTables: Segment
    public var bootStackPFN: UInt64
    /// End of the kernel mapping (exclusive). Xen: dom->virt_pgtab_end
    public var virtPgtabEnd: UInt64
    /// [0] the kernel mapping, [1] the INIT_P2M mapping when present.
    public var mappings: [PVMapping]
    /// The pfn of the hypercall page, when the kernel asks for one.
    public var hypercallPagePFN: UInt64?
    /// start_info.mod_start / mod_len (a VA, or a pfn with SIF_MOD_START_PFN).
    public var moduleStart: UInt64
    public var moduleLength: UInt64
    /// Pages allocated in all. Xen: dom->pfn_alloc_end
    public var allocatedPages: UInt64

    /// Kernel mapping page-table frames. Xen: start_info.nr_pt_frames
    public var pageTableFrameCount: UInt64 { mappings.first?.pageTableCount ?? 0 }
    public func virtualAddress(ofPFN pfn: UInt64) -> UInt64 { virtBase &+ pfn &* 4096 }
    public var startInfoAddress: UInt64 { virtualAddress(ofPFN: startInfoPFN) }
    /// Top of the boot stack. Xen: vcpu_x86_64's rsp
    public var stackPointer: UInt64 { virtualAddress(ofPFN: bootStackPFN + 1) }

    /// Xen's padding above the page tables: the boot stack plus 512 KiB.
    static let extraPages: UInt64 = 1 + (512 * 1024) / 4096

    /// Computes the layout. `ramdiskBytes` is the size of the ramdisk as it will be placed
    /// (0 for none).
    public static func compute(kernel info: XenKernelInfo, memoryPages: UInt64,
                               ramdiskBytes: UInt64) throws(BuilderError) -> PVLayout {
        guard memoryPages > 0 else { throw .noMemory }
        guard memoryPages <= UInt64.max / 4096 / 8 else { throw .addressSpaceOverflow(what: "the domain's memory") }
        var alloc = Allocator(totalPages: memoryPages, virtAllocEnd: info.virtBase)
        guard PageMath.isAligned(info.virtBase) else {
            throw .misalignedAddress(what: "VIRT_BASE", address: info.virtBase)
        }

        // Kernel, preceded by padding from virt_base (Xen: alloc_segment with a start).
        let kernelBytes = info.kernelEnd - info.kernelStart  // kstart <= kend, checked by parse
        let kernel = try alloc.segment("kernel", start: info.kernelStart, bytes: kernelBytes)

        let unmapped = info.modStartPFN
        var ramdisk: Segment?
        var moduleStart: UInt64 = 0
        var moduleLength: UInt64 = 0
        if ramdiskBytes > 0 && !unmapped {
            let segment = try alloc.segment("ramdisk", start: 0, bytes: ramdiskBytes)
            ramdisk = segment
            moduleStart = segment.virtualStart
            moduleLength = segment.pages * 4096
        }

        // INIT_P2M is honoured only below virt_base and page-aligned (xc_dom_build_image).
        var initP2M = info.initP2M
        if let base = initP2M, base >= info.virtBase || !PageMath.isAligned(base) { initP2M = nil }
        let p2mListBytes = memoryPages * 8
        let p2mListPages = PageMath.pages(forBytes: p2mListBytes)
        var p2m: Segment?
        if initP2M == nil {
            p2m = try alloc.segment("p2m list", start: 0, bytes: p2mListPages * 4096)
        }

        let startInfoPFN = try alloc.page("start_info")
        let xenstorePFN = try alloc.page("xenstore ring")
        let consolePFN = try alloc.page("console ring")

        // Page tables for [virt_base, try_end], growing try_end until tables, boot stack and
        // 512 KiB of slack fit below it, rounded to 4 MiB (alloc_pgtables_pv).
        var pages = extraPages
        var kernelMapping: PVMapping
        var tryEnd: UInt64
        var rounds = 0
        while true {
            rounds += 1
            guard rounds <= 64 else { throw .addressSpaceOverflow(what: "the page-table sizing") }
            let wanted = try alloc.virtualAddress(afterPages: pages, what: "the kernel mapping")
            tryEnd = wanted | ((1 << 22) - 1)
            guard tryEnd != UInt64.max else { throw .addressSpaceOverflow(what: "the kernel mapping") }
            kernelMapping = try PVMapping.count(from: info.virtBase, to: tryEnd, pfn: 0,
                                                tablesStart: alloc.pfnAllocEnd, existing: [],
                                                totalPages: memoryPages)
            pages = kernelMapping.pageTableCount + extraPages
            if try alloc.virtualAddress(afterPages: pages, what: "the kernel mapping") <= tryEnd + 1 { break }
        }
        let virtPgtabEnd = tryEnd + 1
        try checkRange("the kernel mapping", start: info.virtBase, end: virtPgtabEnd)
        let pageTables = try alloc.segment("page tables", start: 0, bytes: kernelMapping.pageTableCount * 4096)
        let bootStackPFN = try alloc.page("boot stack")
        try alloc.pad(to: virtPgtabEnd, what: "the kernel mapping's padding")

        if ramdiskBytes > 0 && unmapped {
            let segment = try alloc.segment("ramdisk", start: 0, bytes: ramdiskBytes)
            ramdisk = segment
            moduleStart = segment.pfn
            moduleLength = segment.pages * 4096
        }

        var mappings = [kernelMapping]
        if let base = initP2M {
            // The p2m list at INIT_P2M, followed by the tables mapping it (sharing the L4).
            let (last, overflow) = base.addingReportingOverflow(p2mListPages * 4096 - 1)
            guard !overflow else { throw .addressSpaceOverflow(what: "the INIT_P2M area") }
            try checkRange("the INIT_P2M area", start: base, end: last &+ 1)
            var mapping = try PVMapping.count(from: base, to: last, pfn: alloc.pfnAllocEnd,
                                              tablesStart: alloc.pfnAllocEnd + p2mListPages,
                                              existing: mappings, totalPages: memoryPages)
            mapping.pfn = alloc.pfnAllocEnd
            let bytes = (p2mListPages + mapping.pageTableCount) * 4096
            var segment = try alloc.segment("p2m list", start: 0, bytes: bytes)
            segment.virtualStart = base
            p2m = segment
            mappings.append(mapping)
        }

        var hypercallPagePFN: UInt64?
        if let address = info.hypercallPage {
            guard address >= info.virtBase, (address - info.virtBase) >> 12 < memoryPages else {
                throw .hypercallPageOutsideMemory(address: address)
            }
            hypercallPagePFN = (address - info.virtBase) >> 12
        }

        guard let p2m else { throw .addressSpaceOverflow(what: "the p2m list") }  // always set above
        return PVLayout(
            totalPages: memoryPages, virtBase: info.virtBase, kernel: kernel, ramdisk: ramdisk,
            ramdiskMapped: ramdisk != nil && !unmapped, p2m: p2m, p2mListPages: p2mListPages,
            initP2M: initP2M, startInfoPFN: startInfoPFN, xenstorePFN: xenstorePFN,
            consolePFN: consolePFN, pageTables: pageTables, bootStackPFN: bootStackPFN,
            virtPgtabEnd: virtPgtabEnd, mappings: mappings, hypercallPagePFN: hypercallPagePFN,
            moduleStart: moduleStart, moduleLength: moduleLength, allocatedPages: alloc.pfnAllocEnd)
    }

    /// Refuses a range `[start, end)` that is not canonical or touches the hypervisor's
    /// reserved L4 slots 256–271.
    static func checkRange(_ what: String, start: UInt64, end: UInt64) throws(BuilderError) {
        let lowTop: UInt64 = 0x0000_8000_0000_0000
        let holeStart: UInt64 = 0xFFFF_8000_0000_0000
        let holeEnd: UInt64 = 0xFFFF_8800_0000_0000
        guard end > start else { throw .addressSpaceOverflow(what: what) }
        if start >= holeStart {
            if start < holeEnd { throw .overlapsHypervisorHole(what: what, start: start, end: end) }
            return
        }
        guard end <= lowTop else { throw .nonCanonical(what: what, start: start, end: end) }
    }
}

/// Xen's upward allocator: `pfn_alloc_end` and `virt_alloc_end` move together
/// (xc_dom_chk_alloc_pages, xc_dom_alloc_pad, xc_dom_alloc_segment, xc_dom_alloc_page).
private struct Allocator {
    let totalPages: UInt64
    var pfnAllocEnd: UInt64 = 0
    var virtAllocEnd: UInt64

    init(totalPages: UInt64, virtAllocEnd: UInt64) {
        self.totalPages = totalPages
        self.virtAllocEnd = virtAllocEnd
    }

    func virtualAddress(afterPages pages: UInt64, what: String) throws(BuilderError) -> UInt64 {
        let (bytes, o1) = pages.multipliedReportingOverflow(by: 4096)
        let (end, o2) = virtAllocEnd.addingReportingOverflow(bytes)
        guard !o1, !o2 else { throw .addressSpaceOverflow(what: what) }
        return end
    }

    mutating func take(_ name: String, pages: UInt64) throws(BuilderError) {
        guard pages <= totalPages, pfnAllocEnd <= totalPages, pages <= totalPages - pfnAllocEnd else {
            throw .outOfMemory(segment: name, pages: pages, totalPages: totalPages, used: pfnAllocEnd)
        }
        virtAllocEnd = try virtualAddress(afterPages: pages, what: name)
        pfnAllocEnd += pages
    }

    mutating func pad(to boundary: UInt64, what: String) throws(BuilderError) {
        guard PageMath.isAligned(boundary) else { throw .misalignedAddress(what: "the start of \(what)", address: boundary) }
        guard boundary >= virtAllocEnd else {
            throw .addressesOutOfBounds("\(what) starts at 0x\(String(boundary, radix: 16)), below what is already placed")
        }
        try take(what, pages: (boundary - virtAllocEnd) / 4096)
    }

    mutating func segment(_ name: String, start: UInt64, bytes: UInt64) throws(BuilderError) -> PVLayout.Segment {
        if start != 0 { try pad(to: start, what: name) }
        let pages = PageMath.pages(forBytes: bytes)
        let pfn = pfnAllocEnd
        let virtualStart = virtAllocEnd
        try take(name, pages: pages)
        return PVLayout.Segment(pfn: pfn, pages: pages, virtualStart: virtualStart)
    }

    mutating func page(_ name: String) throws(BuilderError) -> UInt64 {
        let pfn = pfnAllocEnd
        try take(name, pages: 1)
        return pfn
    }
}
