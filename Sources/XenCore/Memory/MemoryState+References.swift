import XenABI

/// A check of one 8-byte segment descriptor (the lead's check_descriptor): true if a PV
/// guest may have it in a GDT or LDT page.
public typealias DescriptorCheck = (UInt64) -> Bool

/// General and type references. Xen: get_page, put_page, _get_page_type, _put_page_type,
/// get_page_and_type_from_mfn (xen/arch/x86/mm.c). Reference counts never underflow here:
/// a put without a matching get is ignored rather than trapping.
extension MemoryState {
    /// Takes a general reference on a frame owned by `owner`. Fails for frames that are free,
    /// owned by someone else, out of range, or whose count would overflow.
    /// Xen: get_page(page, d) / get_page_from_mfn.
    mutating func getPage(_ mfn: UInt64, owner: UInt16) -> Bool {
        guard mfn < frameCount else { return false }
        let f = frames[Int(mfn)]
        guard f.count != 0, f.count < UInt32.max - 1, f.owner == owner, !f.isFree else { return false }
        frames[Int(mfn)].count += 1
        return true
    }

    /// Drops a general reference; the last one frees the frame. Xen: put_page.
    mutating func putPage(_ mfn: UInt64) {
        guard mfn < frameCount, frames[Int(mfn)].count > 0 else { return }
        frames[Int(mfn)].count -= 1
        if frames[Int(mfn)].count == 0 { free(mfn) }
    }

    /// Takes a reference to `type`, changing the frame's type if nothing uses the current one
    /// and validating page tables and descriptor pages whose count rises from zero.
    /// Returns the errno Xen's _get_page_type would (the validation's own error included).
    mutating func getPageType(_ mfn: UInt64, _ type: PageType, check: DescriptorCheck? = nil) -> XenError? {
        guard mfn < frameCount else { return .EINVAL }
        let i = Int(mfn)
        var f = frames[i]
        guard f.typeCount < UInt32.max else { return .EINVAL }  // Xen: "Type count overflow"
        if f.typeCount == 0 {
            if f.type != type {
                // Stale translations through (or to) the old use must not survive the change.
                if f.type != .none { typeWillChange(owner: f.owner) }
                f.type = type
                f.flags.remove(.validated)
                if type == .writable { f.flags.insert(.validated) }
            }
        } else if f.type != type {
            return .EINVAL
        } else if !f.flags.contains(.validated) {
            // Xen waits here for another CPU's validation; under Kite's single lock the only
            // way to meet an unvalidated in-use table is a table reaching itself mid-validation.
            return .EINVAL
        }
        f.typeCount += 1
        frames[i] = f
        guard !f.flags.contains(.validated) else { return nil }
        frames[i].linear = 0
        if let error = validate(mfn, as: type, check: check) {
            // Xen: validate_page failure resets type_info to 0.
            frames[i].type = .none
            frames[i].typeCount = 0
            frames[i].flags.remove(.validated)
            frames[i].linear = 0
            return error
        }
        frames[i].flags.insert(.validated)
        return nil
    }

    /// Drops a type reference. The last reference to a validated page table de-validates it
    /// (dropping every reference its entries hold). `container` is the table whose entry held
    /// the reference: when it has the same type the reference was a linear one.
    /// Xen: _put_page_type(page, flags, ptpg) / _put_final_page_type.
    mutating func putPageType(_ mfn: UInt64, container: UInt64? = nil) {
        guard mfn < frameCount else { return }
        let i = Int(mfn)
        let f = frames[i]
        guard f.typeCount > 0 else { return }
        var isLinear = false
        if let c = container, c < frameCount, frames[Int(c)].type == f.type { isLinear = true }
        if f.typeCount == 1 && f.type.isPageTable && f.flags.contains(.validated) {
            frames[i].flags.remove(.validated)
            devalidate(mfn, as: f.type)
        }
        if isLinear, let c = container {
            decrementLinearUses(mfn)
            decrementLinearEntries(c)
        }
        frames[i].typeCount -= 1
    }

    /// Xen: get_page_and_type_from_mfn — a general and a type reference, or neither.
    mutating func getPageAndType(_ mfn: UInt64, _ type: PageType, owner: UInt16,
                                 check: DescriptorCheck? = nil) -> XenError? {
        guard getPage(mfn, owner: owner) else { return .EINVAL }
        if let error = getPageType(mfn, type, check: check) {
            putPage(mfn)
            return error
        }
        return nil
    }

    /// Xen: put_page_and_type.
    mutating func putPageAndType(_ mfn: UInt64) {
        putPageType(mfn)
        putPage(mfn)
    }

    // MARK: Linear page-table accounting (Xen: CONFIG_PV_LINEAR_PT)

    /// The table gains a linear entry; refused if it is itself a linear target.
    /// Xen: inc_linear_entries.
    mutating func incrementLinearEntries(_ mfn: UInt64) -> Bool {
        let l = frames[Int(mfn)].linear
        guard l >= 0, l < Int16.max else { return false }
        frames[Int(mfn)].linear = l + 1
        return true
    }

    /// Xen: dec_linear_entries.
    mutating func decrementLinearEntries(_ mfn: UInt64) {
        guard mfn < frameCount, frames[Int(mfn)].linear > 0 else { return }
        frames[Int(mfn)].linear -= 1
    }

    /// The table becomes the target of one more linear entry; refused if it has linear
    /// entries itself. Xen: inc_linear_uses.
    mutating func incrementLinearUses(_ mfn: UInt64) -> Bool {
        let l = frames[Int(mfn)].linear
        guard l <= 0, l > Int16.min else { return false }
        frames[Int(mfn)].linear = l - 1
        return true
    }

    /// Xen: dec_linear_uses.
    mutating func decrementLinearUses(_ mfn: UInt64) {
        guard mfn < frameCount, frames[Int(mfn)].linear < 0 else { return }
        frames[Int(mfn)].linear += 1
    }
}
