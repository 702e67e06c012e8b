import GuestMemory
import XenABI

/// Where a PV guest wants a grant mapped: a linear address in its current tables, or the
/// machine address of an L1 entry (GNTMAP_contains_pte).
enum GrantPTELocation: Equatable {
    /// `base` is the vCPU's current top-level table (nil: none, so no L1 can be found).
    case linear(UInt64, base: UInt64?)
    case machine(UInt64)

    init(address: UInt64, flags: GrantMapFlags, base: UInt64?) {
        self = flags.contains(.containsPTE) ? .machine(address) : .linear(address, base: base)
    }
}

/// The frame-table side of grant mappings: the references a mapping holds on the granted
/// frame and the PTEs of PV host mappings. Runs under MachineMemory's lock.
///
/// A PV host mapping's PTE owns the mapping's references (one general reference, plus a
/// writable type reference unless read-only), exactly like an ordinary L1 entry: unmapping
/// through the grant interface zaps the PTE and the grant code drops them; a guest that
/// zaps the PTE itself (mmu_update) drops them through put_page_from_l1e, as in Xen.
/// Xen: map_grant_ref / unmap_common_complete (common/grant_table.c), create_grant_pv_mapping,
/// replace_grant_pv_mapping and steal_linear_address (arch/x86/pv/grant_table.c).
extension MemoryState {
    /// A general reference on `frame` and its owner, or nil for a frame nobody owns.
    /// Xen: page_get_owner_and_reference.
    mutating func getPageAndOwner(_ frame: UInt64) -> UInt16? {
        guard frame < frameCount else { return nil }
        let f = frames[Int(frame)]
        guard !f.isFree, f.count != 0, f.count < UInt32.max - 1 else { return nil }
        frames[Int(frame)].count += 1
        return f.owner
    }

    /// True when `domain` has no live account (destroyed or being destroyed). Xen: is_dying.
    func isDying(_ domain: UInt16) -> Bool { accounts[domain]?.dying ?? true }

    /// Takes the references a new mapping holds and installs a PV host mapping's PTE.
    /// `referenceHeld`: the first pin already took the general reference (get_paged_frame).
    /// Any failure undoes everything and is GNTST_general_error. Xen: the middle of
    /// map_grant_ref, after the active entry was pinned.
    mutating func establishGrantMapping(
        frame: UInt64, granter: UInt16, referenceHeld: Bool, flags: GrantMapFlags,
        pte: GrantPTELocation?, mapper: UInt16
    ) -> GrantStatus {
        var references = 0
        var types = 0
        func undo(_ s: inout MemoryState) -> GrantStatus {
            for _ in 0..<types { s.putPageType(frame) }
            for _ in 0..<references { s.putPage(frame) }
            return .generalError
        }
        let readOnly = flags.contains(.readOnly)
        let owner: UInt16?
        if referenceHeld {
            owner = frame < frameCount ? frames[Int(frame)].owner : nil
        } else {
            owner = getPageAndOwner(frame)
        }
        if owner != nil { references += 1 }
        // A frame nobody owns would be I/O memory, which no Kite domain may grant.
        guard let owner, owner == granter else { return undo(&self) }
        if flags.contains(.deviceMap) && !readOnly {
            guard getPageType(frame, .writable) == nil else { return undo(&self) }
            types += 1
        }
        if flags.contains(.hostMap) {
            if flags.contains(.deviceMap) {
                guard getPage(frame, owner: granter) else { return undo(&self) }
                references += 1
            }
            if !readOnly {
                guard getPageType(frame, .writable) == nil else { return undo(&self) }
                types += 1
            }
            if let pte, !installGrantPTE(pte, frame: frame, flags: flags, mapper: mapper) {
                return undo(&self)
            }
        }
        return .okay
    }

    /// Drops what a mapping's device and host parts held. A PV host part whose PTE the
    /// domain's own tables still own is left to them (`hostReferencesInPTE`, domain death).
    /// Xen: unmap_common_complete / gnttab_release_mappings.
    mutating func releaseGrantMapping(frame: UInt64, device: Bool, host: Bool, readOnly: Bool) {
        if device {
            if readOnly { putPage(frame) } else { putPageAndType(frame) }
        }
        if host {
            if !readOnly { putPageType(frame) }
            putPage(frame)
        }
    }

    // MARK: PV host mappings

    /// Xen: grant_to_pte_flags with the 64-bit PV adjustments — P, A, D, NX, RW unless
    /// read-only, US for GNTMAP_application_map, the guest's available bits from flags 16+.
    static func grantPTEFlags(_ flags: GrantMapFlags) -> UInt64 {
        var f = PVEntry.present | PVEntry.accessed | PVEntry.dirty | PVEntry.noExecute
        if flags.contains(.applicationMap) { f |= PVEntry.user }
        if !flags.contains(.readOnly) { f |= PVEntry.writable }
        f |= (UInt64(flags.rawValue >> GrantMapFlags.guestAvailableShift) << 9) & PVEntry.available
        return f
    }

    /// The L1 table and entry address for a host mapping, with a general reference on the
    /// L1 (the caller drops it), or nil unless it is an in-use L1 of `mapper`.
    private mutating func lockGrantL1(_ location: GrantPTELocation, mapper: UInt16) -> (UInt64, UInt64)? {
        let l1: UInt64
        let address: UInt64
        switch location {
        case .machine(let a):
            // Xen: "Misaligned PTE address".
            guard a & 7 == 0 else { return nil }
            l1 = a >> 12
            address = a
        case .linear(let va, let base):
            guard let base, let found = findL1Entry(for: va, base: base) else { return nil }
            (l1, address) = found
        }
        guard getPage(l1, owner: mapper) else { return nil }
        guard isLockable(l1), frames[Int(l1)].type == .l1 else {
            putPage(l1)
            return nil
        }
        return (l1, address)
    }

    /// Swaps in `new`, returning the entry it replaced.
    private mutating func exchangeEntry(at address: UInt64, _ new: UInt64) -> UInt64 {
        var old = entry(at: address)
        while true {
            let seen = exchangeEntry(at: address, expected: old, new)
            if seen == old { return old }
            old = seen
        }
    }

    /// Writes the grant PTE (its references already taken) and drops the references of the
    /// entry it replaces. Xen: create_grant_pv_mapping.
    mutating func installGrantPTE(_ location: GrantPTELocation, frame: UInt64, flags: GrantMapFlags, mapper: UInt16) -> Bool {
        guard let (l1, address) = lockGrantL1(location, mapper: mapper) else { return false }
        let new = PVAdjust.l1((frame << 12) | Self.grantPTEFlags(flags))
        let old = exchangeEntry(at: address, new)
        putPage(l1)
        putPageFromL1e(old, l1Owner: mapper)
        return true
    }

    /// Removes a grant PTE after checking it still maps `frame` with the mapping's P and RW
    /// bits; with a `replacement` (a stolen entry) that entry takes its place. The grant's
    /// references are the caller's to drop. Xen: replace_grant_pv_mapping.
    mutating func removeGrantPTE(
        _ location: GrantPTELocation, frame: UInt64, flags: GrantMapFlags, replacement: UInt64, mapper: UInt16
    ) -> Bool {
        guard let (l1, address) = lockGrantL1(location, mapper: mapper) else { return false }
        defer { putPage(l1) }
        var expected = Self.grantPTEFlags(MappingKind(flags).flags)
        expected |= expected & PVEntry.user != 0 ? PVEntry.global : PVEntry.guestKernel | PVEntry.user
        // Only the CPU's accessed/dirty updates race with this (the grant PTE has both set).
        for _ in 0..<4 {
            let old = entry(at: address)
            guard PVEntry.frame(old) == frame, (old ^ expected) & (PVEntry.present | PVEntry.writable) == 0 else {
                return false
            }
            if exchangeEntry(at: address, expected: old, replacement) == old { return true }
        }
        return false
    }

    /// Zaps the L1 entry mapping `va` and returns it with its references (the caller now
    /// owns them). Xen: steal_linear_address.
    mutating func stealLinearPTE(_ va: UInt64, base: UInt64?, mapper: UInt16) -> UInt64? {
        guard let (l1, address) = lockGrantL1(.linear(va, base: base), mapper: mapper) else { return nil }
        defer { putPage(l1) }
        return exchangeEntry(at: address, 0)
    }
}

extension MachineMemory {
    /// Takes back a frame `DomainMemory.shareKiteFrame` shared with `domain` and nobody
    /// uses (a grant-table growth that failed half-way). Xen: free_xenheap_page.
    func unshareKiteFrame(_ frame: MachineFrame, from domain: DomainID) {
        var actions = MMUActions()
        grantOperation(&actions) { s in
            let f = frame.rawValue
            guard f < s.frameCount else { return }
            let info = s.frames[Int(f)]
            guard info.owner == domain.rawValue, info.flags.contains(.xenShared), info.flags.contains(.allocated) else {
                return
            }
            s.putPageType(f)
            s.frames[Int(f)].flags.remove(.allocated)
            s.putPage(f)
        }
    }

    /// Runs grant work under the lock as every frame-table operation runs (freed frames shot
    /// down before the lock is released); flushes it could not do itself go to `actions`.
    /// (`operate` without the errno.)
    @discardableResult
    func grantOperation<R: Sendable>(_ actions: inout MMUActions, _ body: (inout MemoryState) -> R) -> R {
        let (result, effects) = state.withLock { s in
            s.effects = OperationEffects()
            let r = body(&s)
            s.finishOperation()
            let e = s.effects
            s.effects = OperationEffects()
            return (r, e)
        }
        if effects.flushDomainTLBs { actions.append(.flushTLB(.allVCPUs, .all)) }
        if effects.invalidateLDTShadows { actions.append(.invalidateLDTShadow(.allVCPUs)) }
        return result
    }
}
