import XenABI

/// Validation and de-validation of page tables, and the per-entry reference rules.
/// Xen: promote_l{1,2,3,4}_table, demote_l{1,2,3,4}_table, get_page_from_l{1,2,3,4}e,
/// put_page_from_l{1,2,3,4}e and define_get_linear_pagetable (xen/arch/x86/mm.c).
extension MemoryState {
    /// Checks the contents of a frame whose type count rose from zero.
    /// Xen: validate_page.
    mutating func validate(_ mfn: UInt64, as type: PageType, check: DescriptorCheck?) -> XenError? {
        switch type {
        case .l1: return promoteL1(mfn)
        case .l2, .l3, .l4: return promoteUpper(mfn, as: type)
        case .segmentDescriptor:
            guard let check else { return .EINVAL }
            let base = mfn << 12
            for slot in 0..<UInt64(512) where !check(entry(at: base + slot * 8)) { return .EINVAL }
            return nil
        case .none, .writable: return nil
        }
    }

    /// Drops every reference a table's entries hold. Xen: devalidate_page / demote_l*_table.
    mutating func devalidate(_ mfn: UInt64, as type: PageType) {
        let base = mfn << 12
        let owner = frames[Int(mfn)].owner
        for slot in 0..<512 {
            if type == .l4 && !XenL4Slots.isGuestSlot(slot) { continue }
            let e = entry(at: base + UInt64(slot) * 8)
            if type == .l1 {
                putPageFromL1e(e, l1Owner: owner)
            } else if type.isPageTable {
                putPageFromUpper(e, container: mfn)
            }
        }
    }

    // MARK: L1

    /// Xen: promote_l1_table.
    private mutating func promoteL1(_ mfn: UInt64) -> XenError? {
        let owner = frames[Int(mfn)].owner
        let base = mfn << 12
        for slot in 0..<UInt64(512) {
            let e = entry(at: base + slot * 8)
            guard e & PVEntry.present != 0 else { continue }
            if let error = getPageFromL1e(e, l1Owner: owner, pageOwner: owner) {
                for earlier in 0..<slot { putPageFromL1e(entry(at: base + earlier * 8), l1Owner: owner) }
                return error
            }
            let adjusted = PVAdjust.l1(e)
            if adjusted != e { writeEntry(at: base + slot * 8, adjusted) }
        }
        return nil
    }

    /// References for a present L1 entry: a general reference on the frame, plus a writable
    /// type reference for RW mappings (which fails for page tables and descriptor pages).
    /// Xen: get_page_from_l1e(l1e, l1e_owner, pg_owner).
    mutating func getPageFromL1e(_ e: UInt64, l1Owner: UInt16, pageOwner: UInt16) -> XenError? {
        guard e & PVEntry.l1Disallow == 0 else { return .EINVAL }
        let mfn = PVEntry.frame(e)
        guard mfn < frameCount else {
            // Not RAM: the I/O path, and no Kite guest has I/O memory rights.
            return mfn == PVEntry.invalidFrameInEntry ? .EINVAL : .EPERM
        }
        // Xen: page_get_owner_and_reference — fails for free frames (no owner).
        let f = frames[Int(mfn)]
        guard f.count != 0, f.count < UInt32.max - 1, !f.isFree else { return .EBUSY }
        frames[Int(mfn)].count += 1
        // Issue 4 seam: a frame another domain granted is mapped through the grant code,
        // which takes these same references; here a foreign frame is refused (Xen:
        // could_not_pin, -EBUSY) unless a privileged mapper is involved, which Kite's PV
        // guests never are.
        guard f.owner == pageOwner else {
            putPage(mfn)
            return .EBUSY
        }
        if e & PVEntry.writable != 0, getPageType(mfn, .writable) != nil {
            putPage(mfn)
            return .EBUSY
        }
        return nil
    }

    /// Xen: put_page_from_l1e.
    mutating func putPageFromL1e(_ e: UInt64, l1Owner: UInt16) {
        guard e & PVEntry.present != 0 else { return }
        let mfn = PVEntry.frame(e)
        guard mfn < frameCount else { return }  // Xen: is_iomem_page
        // Issue 4 seam: a foreign frame is a grant mapping the mapper removed itself; its
        // vCPUs drop the translation before the references go (Xen: the page's TLB-flush
        // timestamp makes the next type change or reuse flush every CPU that may hold it).
        if frames[Int(mfn)].owner != l1Owner { typeWillChange(owner: l1Owner) }
        if e & PVEntry.writable != 0 {
            putPageType(mfn)
        } else {
            let f = frames[Int(mfn)]
            if f.type == .segmentDescriptor && f.typeCount > 0 && f.owner == l1Owner {
                effects.invalidateLDTShadows = true
            }
        }
        putPage(mfn)
    }

    // MARK: L2, L3, L4

    /// Xen: promote_l2_table / promote_l3_table / promote_l4_table (64-bit guest).
    private mutating func promoteUpper(_ mfn: UInt64, as type: PageType) -> XenError? {
        let base = mfn << 12
        for slot in 0..<512 {
            if type == .l4 && !XenL4Slots.isGuestSlot(slot) { continue }
            let address = base + UInt64(slot) * 8
            let e = entry(at: address)
            guard e & PVEntry.present != 0 else { continue }
            if let error = getPageFromUpper(e, level: type, container: mfn) {
                for earlier in 0..<slot where type != .l4 || XenL4Slots.isGuestSlot(earlier) {
                    putPageFromUpper(entry(at: base + UInt64(earlier) * 8), container: mfn)
                }
                return error
            }
            let adjusted = type == .l4 ? PVAdjust.l4(e) : PVAdjust.l2or3(e)
            if adjusted != e { writeEntry(at: address, adjusted) }
        }
        if type == .l4 { installKiteSlots(in: mfn) }
        return nil
    }

    /// References for a present L2/L3/L4 entry: the next level's type, or a read-only link to
    /// a validated table of the same level (a linear page table).
    /// Xen: get_page_from_l2e / get_page_from_l3e / get_page_from_l4e.
    mutating func getPageFromUpper(_ e: UInt64, level: PageType, container: UInt64) -> XenError? {
        guard e & PVEntry.upperDisallow == 0 else { return .EINVAL }
        guard let child = level.childType else { return .EINVAL }
        let target = PVEntry.frame(e)
        let error = getPageAndType(target, child, owner: frames[Int(container)].owner)
        if error == .EINVAL && getLinearPageTable(e, level: level, container: container) { return nil }
        return error
    }

    /// Xen: define_get_linear_pagetable(l2/l3/l4). The entry must be read-only. Pointing at
    /// the containing table itself takes no references; pointing at another table needs it to
    /// be a validated table of the same level owned by the same domain, with no linear
    /// entries of its own, in a container that is not itself a linear target.
    private mutating func getLinearPageTable(_ e: UInt64, level: PageType, container: UInt64) -> Bool {
        guard e & PVEntry.writable == 0 else { return false }
        let target = PVEntry.frame(e)
        if target == container { return true }
        let owner = frames[Int(container)].owner
        guard getPage(target, owner: owner) else { return false }
        guard incrementLinearEntries(container) else {
            putPage(target)
            return false
        }
        guard incrementLinearUses(target) else {
            decrementLinearEntries(container)
            putPage(target)
            return false
        }
        let f = frames[Int(target)]
        guard f.typeCount < UInt32.max, f.type == level, f.flags.contains(.validated) else {
            decrementLinearUses(target)
            decrementLinearEntries(container)
            putPage(target)
            return false
        }
        frames[Int(target)].typeCount += 1
        return true
    }

    /// Xen: put_page_from_l2e / put_page_from_l3e / put_page_from_l4e — a self-link holds
    /// nothing; any other entry holds a general and a type reference.
    mutating func putPageFromUpper(_ e: UInt64, container: UInt64) {
        guard e & PVEntry.present != 0 else { return }
        let target = PVEntry.frame(e)
        guard target != container, target < frameCount else { return }
        putPageType(target, container: container)
        putPage(target)
    }

    // MARK: Kite's slots

    /// The value of L4 slot 256 in every validated table: Kite's M2P L3, present, user,
    /// read-only. Xen: idle_pg_table[l4_table_offset(RO_MPT_VIRT_START)].
    var machineToPhysL4Entry: UInt64 {
        (m2pL3 << 12) | PVEntry.present | PVEntry.user | PVEntry.accessed
    }

    /// Writes Kite's entries into slots 256-271 of a newly validated L4, clobbering whatever
    /// the guest left there. Xen: init_xen_l4_slots.
    mutating func installKiteSlots(in l4: UInt64) {
        let base = l4 << 12
        let perDomain = accounts[frames[Int(l4)].owner]?.perDomainL3
        for slot in XenL4Slots.first...XenL4Slots.last {
            var value: UInt64 = 0
            if slot == XenL4Slots.machineToPhys {
                value = machineToPhysL4Entry
            } else if slot == XenL4Slots.perDomain, let perDomain {
                value = (perDomain << 12) | PVEntry.present | PVEntry.writable | PVEntry.accessed | PVEntry.dirty
            }
            writeEntry(at: base + UInt64(slot) * 8, value)
        }
    }
}
