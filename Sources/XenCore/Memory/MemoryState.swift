import GuestMemory
import XenABI

/// One domain's share of machine memory, as the frame allocator sees it.
/// Xen: the page-accounting fields of `struct domain` (tot_pages, max_pages, xenheap_pages).
struct DomainAccount {
    /// Xen: max_pages — the reservation limit.
    var maximumPages: UInt64
    /// Xen: tot_pages — frames owned and counted (allocated, or removed but still referenced).
    var totalPages: UInt64 = 0
    /// Xen: xenheap_pages — Kite frames shared with the domain (shared_info).
    var xenPages: UInt64 = 0
    /// Xen: is_dying — no more allocations; the account goes when its last frame does.
    var dying = false
    /// Kite's per-domain L3 table, installed in L4 slot 260 of every validated L4.
    var perDomainL3: UInt64?
}

/// Makes every vCPU of a domain drop its cached translations before returning.
/// See `MachineMemory.setTLBShootdown`.
public typealias TLBShootdown = @Sendable (DomainID) -> Void

/// What an operation did that its caller must act on (TLB flushes, LDT shadows).
struct OperationEffects {
    /// A frame changed type or was freed and no shootdown hook is installed: stale
    /// translations in the owner's vCPUs must go (reported as an action instead).
    var flushDomainTLBs = false
    /// Domains already shot down during this operation.
    var shotDown: Set<UInt16> = []
    /// Owners of frames freed during this operation (shot down before the lock is released,
    /// so nobody can reuse a frame another vCPU still has cached).
    var freedOwners: Set<UInt16> = []
    /// A mapping of a live descriptor page was removed. Xen: put_page_from_l1e's
    /// "blow the entire shadow LDT" (CONFIG_PV_LDT_PAGING).
    var invalidateLDTShadows = false
    var freedFrames: UInt64 = 0
}

/// The frame table, allocator, domain accounts and M2P location: everything guarded by
/// `MachineMemory`'s lock. All page-type logic runs on this value inside the lock.
struct MemoryState {
    let ram: PhysicalMemory
    var frames: [FrameInfo]
    var allocator: FrameAllocator
    var accounts: [UInt16: DomainAccount] = [:]
    /// First of the contiguous Kite frames holding the M2P (8 bytes per machine frame).
    let m2pBase: UInt64
    let m2pFrameCount: UInt64
    /// Kite's L3 table mapping the M2P read-only at 0xFFFF800000000000 (L4 slot 256).
    let m2pL3: UInt64
    var effects = OperationEffects()
    /// Xen's synchronous flush_tlb_mask on type changes, supplied by the vCPU owner.
    var shootdown: TLBShootdown?

    var frameCount: UInt64 { UInt64(frames.count) }

    // MARK: TLB coherence

    /// A frame of `owner` is about to take a new type: no vCPU of the owner may keep a
    /// translation cached before now (a writable one could write into a table being
    /// validated). Xen: the flush_tlb_mask in _get_page_type.
    mutating func typeWillChange(owner: UInt16) {
        guard let shootdown else {
            effects.flushDomainTLBs = true
            return
        }
        guard owner < DomainID.firstReserved.rawValue, !effects.shotDown.contains(owner) else { return }
        effects.shotDown.insert(owner)
        shootdown(DomainID(owner))
    }

    /// End of an operation, still under the lock: shoot down the owners of freed frames.
    mutating func finishOperation() {
        if let shootdown {
            for owner in effects.freedOwners.sorted() { shootdown(DomainID(owner)) }
        }
        effects.freedOwners = []
        effects.shotDown = []
    }

    // MARK: Raw entries

    /// The 8-byte entry at a machine address inside RAM (callers derive it from valid frames).
    @inline(__always) func entry(at address: UInt64) -> UInt64 {
        ram.load(UInt64.self, at: MachineAddress(address)) ?? 0
    }

    /// Replaces an entry atomically; the engine may be setting A/D bits concurrently.
    /// With `preserveAD` the accessed/dirty bits present at the moment of the swap are kept.
    /// Xen: update_intpte.
    mutating func writeEntry(at address: UInt64, _ new: UInt64, preserveAD: Bool = false) {
        guard let p = ram.pointer(to: MachineAddress(address), length: 8), address & 7 == 0 else { return }
        var old = p.load(as: UInt64.self)
        while true {
            let desired = preserveAD ? new | (old & (PVEntry.accessed | PVEntry.dirty)) : new
            let seen = PhysicalMemory.compareExchange64(p, expected: old, desired: desired)
            if seen == old { break }
            old = seen
        }
        ram.noteWrite(MachineAddress(address), length: 8)
    }

    /// Compare-and-exchange of an entry; returns the value found (== expected on success).
    mutating func exchangeEntry(at address: UInt64, expected: UInt64, _ new: UInt64) -> UInt64 {
        guard let p = ram.pointer(to: MachineAddress(address), length: 8), address & 7 == 0 else { return ~expected }
        let seen = PhysicalMemory.compareExchange64(p, expected: expected, desired: new)
        if seen == expected { ram.noteWrite(MachineAddress(address), length: 8) }
        return seen
    }

    // MARK: Machine-to-phys

    /// Xen: get_gpfn_from_mfn.
    func machineToPhys(_ mfn: UInt64) -> UInt64 {
        guard mfn < frameCount else { return MachineToPhys.invalidEntry }
        return entry(at: (m2pBase << 12) + mfn * 8)
    }

    /// Xen: set_gpfn_from_mfn.
    mutating func setMachineToPhys(_ mfn: UInt64, _ value: UInt64) {
        guard mfn < frameCount else { return }
        ram.store(value, at: MachineAddress((m2pBase << 12) + mfn * 8))
    }

    // MARK: Allocation and freeing

    /// Allocates 2^order frames below `limit` for `owner` (or for Kite when `owner` is
    /// DOMID_XEN) with one allocation reference each. Xen: alloc_domheap_pages + assign_pages,
    /// which refuses to exceed max_pages.
    mutating func allocate(order: UInt32, below limit: UInt64, owner: UInt16, counted: Bool) -> UInt64? {
        let n: UInt64 = 1 << UInt64(min(order, 63))
        if counted {
            guard var a = accounts[owner], !a.dying else { return nil }
            let (total, overflow) = a.totalPages.addingReportingOverflow(n)
            guard !overflow, total <= a.maximumPages else { return nil }
            guard let base = allocator.allocate(order: order, below: limit) else { return nil }
            a.totalPages = total
            accounts[owner] = a
            claim(base, count: n, owner: owner)
            return base
        }
        guard let base = allocator.allocate(order: order, below: limit) else { return nil }
        claim(base, count: n, owner: owner)
        return base
    }

    private mutating func claim(_ base: UInt64, count n: UInt64, owner: UInt16) {
        for f in base..<(base + n) {
            frames[Int(f)] = FrameInfo(count: 1, typeCount: 0, owner: owner, type: .none, flags: .allocated)
            setMachineToPhys(f, MachineToPhys.invalidEntry)
        }
    }

    /// Returns a frame whose last reference went: scrubbed, M2P invalid, back in the pool.
    /// Xen: free_domheap_page (with scrubbing).
    mutating func free(_ mfn: UInt64) {
        let i = Int(mfn)
        let f = frames[i]
        if var a = accounts[f.owner] {
            if f.flags.contains(.xenShared) {
                a.xenPages -= a.xenPages > 0 ? 1 : 0
            } else {
                a.totalPages -= a.totalPages > 0 ? 1 : 0
            }
            if a.dying && a.totalPages == 0 && a.xenPages == 0 {
                accounts[f.owner] = nil
            } else {
                accounts[f.owner] = a
            }
        }
        frames[i] = FrameInfo()
        setMachineToPhys(mfn, MachineToPhys.invalidEntry)
        ram.zero(MachineFrame(mfn))
        allocator.release(mfn)
        if f.owner < DomainID.firstReserved.rawValue {
            effects.freedOwners.insert(f.owner)
            if shootdown == nil { effects.flushDomainTLBs = true }
        }
        effects.freedFrames += 1
    }

    // MARK: Domains

    /// True when `id` names a live domain with memory (Xen: rcu_lock_domain_by_id succeeds).
    func domainExists(_ id: DomainID) -> Bool {
        guard let a = accounts[id.rawValue] else { return false }
        return !a.dying
    }
}
