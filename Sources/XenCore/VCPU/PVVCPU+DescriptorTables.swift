import GuestMemory
import X86
import XenABI

/// The GDT and LDT a 64-bit PV vCPU's CPU sees. As in Xen, each vCPU's descriptor tables live
/// in the per-domain area (supervisor-only, reachable by the CPU's implicit descriptor
/// loads, not by guest code): 14 pages of the guest's own GDT frames (set_gdt), then the page
/// of Xen's reserved descriptors (selectors 0xe000+), then 16 pages of lazily mapped LDT.
/// Xen: pv_set_gdt / pv_destroy_gdt, pv_map_ldt_shadow_page.
extension PVVCPU {
    static let pagesPerVCPU: UInt64 = 32
    static let ldtFirstPage: UInt64 = 16
    static let guestGDTPages = FlatSelector.firstReservedGDTPage

    var descriptorAreaFirstPage: UInt64 { UInt64(id.rawValue) * Self.pagesPerVCPU }

    /// Maps the guest's GDT frames (unused pages read as zeroes) and Xen's reserved page, and
    /// points GDTR at them.
    func installGDT(frames: [MachineFrame], entries: Int) throws(XenError) {
        guard let memory = domain.memory, let pages = domain.descriptorPages else { throw .ENOSYS }
        for page in 0..<Self.guestGDTPages {
            let index = descriptorAreaFirstPage + UInt64(page)
            if page < frames.count {
                try memory.mapPerDomainPage(index, to: frames[page], writable: true)
            } else {
                try memory.mapPerDomainPage(index, to: pages.zero, writable: false)
            }
        }
        try memory.mapPerDomainPage(descriptorAreaFirstPage + UInt64(Self.guestGDTPages), to: pages.reserved, writable: false)
        var s = engine.state
        // The limit covers Xen's reserved entries (0xe000–0xefff) and nothing beyond.
        s.gdtr = DescriptorTableRegister(base: DomainMemory.perDomainAddress(page: descriptorAreaFirstPage), limit: 0xEFFF)
        engine.state = s
        engine.flushTLB(.all)
        pv.gdtFrames = frames
        pv.gdtEntries = entries
    }

    /// Xen: pv_set_gdt — takes a descriptor-page reference on every frame (checking each
    /// descriptor), then drops the old frames' references.
    func setGDT(frames: [MachineFrame], entries: Int) throws(XenError) {
        guard let tables = pageTables else { throw .ENOSYS }
        var acquired: [MachineFrame] = []
        for frame in frames {
            guard domain.machine.contains(frame) else {
                releaseDescriptorFrames(acquired)
                throw .EINVAL
            }
            fixUpDescriptors(in: frame)
            do {
                try tables.acquireDescriptorPage(frame, for: domain.id) { SegmentDescriptors.check($0) != nil }
            } catch {
                releaseDescriptorFrames(acquired)
                throw error
            }
            acquired.append(frame)
        }
        let old = pv.gdtFrames
        try installGDT(frames: acquired, entries: entries)
        releaseDescriptorFrames(old)
    }

    /// Xen's check_descriptor rewrites what it accepts (DPL raised to 3, call-gate DPL moved
    /// into the selector): apply that to the frame before it takes its type.
    private func fixUpDescriptors(in frame: MachineFrame) {
        let memory = domain.machine
        for i in 0..<512 {
            let address = MachineAddress(frame.address.rawValue + UInt64(i * 8))
            guard let d = memory.load(UInt64.self, at: address), let fixed = SegmentDescriptors.check(d), fixed != d else { continue }
            memory.store(fixed, at: address)
        }
    }

    func releaseDescriptorFrames(_ frames: [MachineFrame]) {
        guard let tables = pageTables else { return }
        var actions = MMUActions()
        for f in frames { tables.releaseDescriptorPage(f, for: domain.id, actions: &actions) }
    }

    /// MMUEXT_SET_LDT took effect: drop the shadow LDT and point LDTR at the (lazily
    /// mapped) LDT area, or make it null for an empty LDT.
    func loadLDT() {
        dropLDTShadow()
        var s = engine.state
        if pv.ldtEntries == 0 {
            s.ldtr = .null()
        } else {
            let base = DomainMemory.perDomainAddress(page: descriptorAreaFirstPage + Self.ldtFirstPage)
            s.ldtr = Segment(selector: 0, base: base, limit: pv.ldtEntries * 8 - 1, attributes: 0x82)
        }
        engine.state = s
    }

    func dropLDTShadow() {
        guard !pv.ldtShadow.isEmpty, let memory = domain.memory else { return }
        for (page, _) in pv.ldtShadow {
            memory.unmapPerDomainPage(descriptorAreaFirstPage + Self.ldtFirstPage + UInt64(page))
        }
        releaseDescriptorFrames(Array(pv.ldtShadow.values))
        pv.ldtShadow = [:]
        engine.flushTLB(.all)
    }

    /// The guest LDT address behind a shadow-LDT address of this vCPU, if it is one.
    func guestLDTAddress(forShadow address: UInt64) -> UInt64? {
        let area = DomainMemory.perDomainAddress(page: descriptorAreaFirstPage + Self.ldtFirstPage)
        guard address >= area, address - area < 16 * 4096 else { return nil }
        return pv.ldtBase &+ (address - area)
    }

    /// A #PF inside this vCPU's LDT area: map the guest's LDT page there, as Xen's
    /// pv_map_ldt_shadow_page does, and let the instruction run again.
    func mapLDTShadowPage(faultAddress: UInt64) -> Bool {
        let area = DomainMemory.perDomainAddress(page: descriptorAreaFirstPage + Self.ldtFirstPage)
        guard pv.ldtEntries > 0, faultAddress >= area, faultAddress - area < UInt64(pv.ldtEntries) * 8,
            let memory = domain.memory, let tables = pageTables
        else { return false }
        let page = Int((faultAddress - area) >> 12)
        guard pv.ldtShadow[page] == nil,
            case .success(let address) = engine.translate(pv.ldtBase &+ UInt64(page) << 12, for: .read, asUser: true)
        else { return false }
        let frame = address.frame
        fixUpDescriptors(in: frame)
        do {
            try tables.acquireDescriptorPage(frame, for: domain.id) { SegmentDescriptors.check($0) != nil }
            try memory.mapPerDomainPage(descriptorAreaFirstPage + Self.ldtFirstPage + UInt64(page), to: frame, writable: true)
        } catch {
            return false
        }
        pv.ldtShadow[page] = frame
        return true
    }
}

extension Domain {
    /// Kite frames behind every vCPU's descriptor area: Xen's reserved descriptors, and a
    /// zero page for GDT pages the guest did not supply.
    struct DescriptorPages: Sendable {
        var reserved: MachineFrame
        var zero: MachineFrame
    }
}
