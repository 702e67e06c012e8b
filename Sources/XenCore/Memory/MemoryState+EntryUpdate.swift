import XenABI

/// Updates of single entries in validated tables: references for the new entry are taken
/// before it is installed, those of the old entry dropped after.
/// Xen: mod_l1_entry, mod_l2_entry, mod_l3_entry, mod_l4_entry (xen/arch/x86/mm.c).
extension MemoryState {
    /// Writes `new` into the entry at `address` of table `table` (whose type is `level`),
    /// moving references. `pageOwner` is the domain whose frames an L1 entry may name.
    mutating func modifyEntry(at address: UInt64, in table: UInt64, level: PageType, new: UInt64,
                              preserveAD: Bool, pageOwner: UInt16) -> XenError? {
        let owner = frames[Int(table)].owner
        if level == .l4 {
            // Xen: "L4 update in Xen-private area".
            let slot = Int((address & 0xFFF) >> 3)
            guard XenL4Slots.isGuestSlot(slot) else { return .EINVAL }
        }
        let old = entry(at: address)
        if new & PVEntry.present != 0 {
            let disallow = level == .l1 ? PVEntry.l1Disallow : PVEntry.upperDisallow
            guard new & disallow == 0 else { return .EINVAL }
            let adjusted = adjust(new, level: level)
            // Fast path: same frame and same reference-relevant flags — nothing to revalidate.
            if (old ^ new) & PVEntry.revalidateMask == 0 {
                writeEntry(at: address, adjusted, preserveAD: preserveAD)
                return nil
            }
            let error = level == .l1
                ? getPageFromL1e(new, l1Owner: owner, pageOwner: pageOwner)
                : getPageFromUpper(new, level: level, container: table)
            if let error { return error }
            writeEntry(at: address, adjusted, preserveAD: preserveAD)
        } else {
            writeEntry(at: address, new, preserveAD: preserveAD)
        }
        if level == .l1 {
            putPageFromL1e(old, l1Owner: owner)
        } else {
            putPageFromUpper(old, container: table)
        }
        return nil
    }

    private func adjust(_ e: UInt64, level: PageType) -> UInt64 {
        switch level {
        case .l1: PVAdjust.l1(e)
        case .l4: PVAdjust.l4(e)
        default: PVAdjust.l2or3(e)
        }
    }

    /// True when a frame may be used through `page_lock`: owned, typed, validated, in use.
    func isLockable(_ mfn: UInt64) -> Bool {
        guard mfn < frameCount else { return false }
        let f = frames[Int(mfn)]
        return f.flags.contains(.validated) && f.typeCount > 0 && f.typeCount < UInt32.max
    }

    /// One MMU_NORMAL_PT_UPDATE / MMU_PT_UPDATE_PRESERVE_AD / MMU_PT_UPDATE_NO_TRANSLATE on
    /// an entry at `address` (8-byte aligned) in a frame owned by `tableOwner`.
    /// Xen: the page-table arm of do_mmu_update.
    mutating func normalUpdate(at address: UInt64, value: UInt64, preserveAD: Bool,
                               tableOwner: UInt16, pageOwner: UInt16) -> XenError? {
        let mfn = address >> 12
        guard getPage(mfn, owner: tableOwner) else { return .EINVAL }
        defer { putPage(mfn) }
        if isLockable(mfn) {
            let type = frames[Int(mfn)].type
            switch type {
            case .l1:
                return modifyEntry(at: address, in: mfn, level: .l1, new: value, preserveAD: preserveAD,
                                   pageOwner: pageOwner)
            case .l2, .l3, .l4:
                // Upper levels may only name the page-table owner's own frames.
                guard pageOwner == tableOwner else { return .EINVAL }
                return modifyEntry(at: address, in: mfn, level: type, new: value, preserveAD: preserveAD,
                                   pageOwner: pageOwner)
            case .writable:
                writeEntry(at: address, value)
                return nil
            case .none, .segmentDescriptor:
                return .EINVAL
            }
        }
        // Not in use as anything: a plain write under a temporary writable type.
        guard getPageType(mfn, .writable) == nil else { return .EINVAL }
        writeEntry(at: address, value)
        putPageType(mfn)
        return nil
    }
}
