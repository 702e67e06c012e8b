import GuestMemory
import X86
import XenABI

/// Descriptor pages (GDT and LDT frames), update_descriptor, and the memory half of
/// writable-page-table emulation.
/// Xen: get_page_and_type(PGT_seg_desc_page) in set_gdt and pv_map_ldt_shadow_page,
/// do_update_descriptor (pv/descriptor-tables.c), ptwr_emulated_update (pv/ro-page-fault.c).
extension PVPageTables {
    /// Takes a descriptor-page type reference on a frame of `domain` (a GDT frame or a page
    /// of the LDT), checking all 512 descriptors with `check` when the frame takes the type.
    /// Fails with -EINVAL if the frame is not the domain's, is in use as something else
    /// (mapped writable, a page table) or holds a descriptor `check` refuses.
    public func acquireDescriptorPage(_ frame: MachineFrame, for domain: DomainID,
                                      check: @escaping DescriptorCheck) throws(XenError) {
        var actions = MMUActions()
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            if s.getPageAndType(frame.rawValue, .segmentDescriptor, owner: domain.rawValue, check: check) != nil {
                throw .EINVAL
            }
        }
    }

    /// Drops a reference `acquireDescriptorPage` took; anything else is ignored.
    public func releaseDescriptorPage(_ frame: MachineFrame, for domain: DomainID, actions: inout MMUActions) {
        try? machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            s.releaseDescriptorPage(frame.rawValue, owner: domain.rawValue)
        }
    }

    /// update_descriptor: writes one checked descriptor at machine address `address` of a
    /// frame of `domain` that is a descriptor page or can be made writable.
    /// Xen: do_update_descriptor.
    public func updateDescriptor(at address: UInt64, descriptor: UInt64, domain: DomainID,
                                 check: @escaping DescriptorCheck, actions: inout MMUActions) throws(XenError) {
        guard address & 7 == 0, check(descriptor) else { throw .EINVAL }
        let mfn = address >> 12
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            guard s.getPage(mfn, owner: domain.rawValue) else { throw .EINVAL }
            defer { s.putPage(mfn) }
            let type: PageType = s.frames[Int(mfn)].type == .segmentDescriptor ? .segmentDescriptor : .writable
            guard s.getPageType(mfn, type, check: check) == nil else { throw .EINVAL }
            s.writeEntry(at: address, descriptor)
            s.putPageType(mfn)
        }
    }

    /// The outcome of an emulated write to an L1 entry.
    public enum L1WriteResult: Equatable, Sendable {
        /// The entry was replaced; `previous` is what it held.
        case written(previous: UInt64)
        /// A compare-exchange found `found` instead of the expected value; nothing changed.
        case compareFailed(found: UInt64)
    }

    /// Writes a whole 8-byte entry of a validated L1 table of `domain` on behalf of a guest
    /// store that faulted on its read-only mapping (VMASST writable_pagetables). The caller
    /// decoded the instruction, merged a partial write into the full entry and passes the
    /// entry's machine address; `expected` makes it a compare-exchange (CMPXCHG, XCHG...).
    /// Throws when Xen would give up and deliver the original #PF: the frame is not an
    /// in-use L1 of `domain`, or the new entry fails validation.
    /// Xen: ptwr_emulated_update.
    public func emulatedL1Write(at address: MachineAddress, value: UInt64, expected: UInt64? = nil,
                                domain: DomainID, actions: inout MMUActions) throws(XenError) -> L1WriteResult {
        let raw = address.rawValue
        guard raw & 7 == 0 else { throw .EINVAL }
        let mfn = raw >> 12
        let owner = domain.rawValue
        return try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) -> L1WriteResult in
            guard mfn < s.frameCount, s.frames[Int(mfn)].owner == owner, s.frames[Int(mfn)].type == .l1,
                  s.isLockable(mfn) else { throw .EINVAL }
            if value & PVEntry.present != 0,
               let e = s.getPageFromL1e(value, l1Owner: owner, pageOwner: owner) { throw e }
            let adjusted = PVAdjust.l1(value)
            let previous: UInt64
            if let expected {
                let found = s.exchangeEntry(at: raw, expected: expected, adjusted)
                guard found == expected else {
                    s.putPageFromL1e(adjusted, l1Owner: owner)
                    return .compareFailed(found: found)
                }
                previous = expected
            } else {
                previous = s.entry(at: raw)
                s.writeEntry(at: raw, adjusted)
            }
            s.putPageFromL1e(previous, l1Owner: owner)
            return .written(previous: previous)
        }
    }
}

extension MemoryState {
    mutating func releaseDescriptorPage(_ mfn: UInt64, owner: UInt16) {
        guard mfn < frameCount else { return }
        let f = frames[Int(mfn)]
        guard f.owner == owner, f.type == .segmentDescriptor, f.typeCount > 0, f.count > 0 else { return }
        putPageAndType(mfn)
    }
}
