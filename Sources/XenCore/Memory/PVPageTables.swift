import GuestMemory
import X86
import XenABI

/// Xen's paravirtual MMU for 64-bit PV guests: validation of guest page tables and every
/// hypercall that changes them (mmu_update, mmuext_op, update_va_mapping), with Xen's checks
/// and errnos (xen/arch/x86/mm.c, pv/mm.c).
///
/// The hypercall layer copies requests out of guest memory, loops over batches (counting
/// `done`, handling multicalls and continuations) and calls one method per request with the
/// calling vCPU's `MMUContext`. Each method either throws the request's errno or returns;
/// either way it appends the actions the caller must perform (TLB flushes, CR3 and LDT
/// changes) to `actions` and leaves `context` as the next request must see it.
///
/// The invariant kept: a PV domain maps only frames it owns (later: frames granted to it) and
/// never holds a writable mapping of a frame in use as a page table or descriptor page;
/// same-level links between tables are allowed read-only as Xen allows them (linear page
/// tables); the L4 slots 256-271 are Kite's.
public struct PVPageTables: Sendable {
    public let machine: MachineMemory
    public init(machine: MachineMemory) { self.machine = machine }

    // MARK: mmu_update

    /// Resolves mmu_update's `foreigndom` once per call, before any request is processed.
    /// Throws -ESRCH for an unknown domain, for the caller's own id given explicitly, and for
    /// reserved ids other than DOMID_SELF, DOMID_IO and DOMID_XEN. Foreign owners that resolve
    /// are refused per request with -EPERM (Kite's PV guests are never privileged).
    /// Xen: the pt_owner / get_pg_owner prologue of do_mmu_update.
    public func resolveForeignDomain(_ fd: MMUForeignDomain, caller: DomainID) throws(XenError) -> MMUOwners {
        var tableOwner = caller
        if let pfd = fd.pageTableOwner {
            guard pfd == caller || machine.domainExists(pfd) else { throw .ESRCH }
            tableOwner = pfd
        }
        let pg = fd.pageOwner
        switch pg {
        case .selfDomain: return MMUOwners(pageTableOwner: tableOwner, pageOwner: caller)
        case caller: throw .ESRCH  // Xen: "Cannot specify itself as foreign domain"
        case .io, .xen: return MMUOwners(pageTableOwner: tableOwner, pageOwner: pg)
        default:
            guard machine.domainExists(pg) else { throw .ESRCH }
            return MMUOwners(pageTableOwner: tableOwner, pageOwner: pg)
        }
    }

    /// One mmu_update request. Xen: the loop body of do_mmu_update.
    public func mmuUpdate(_ request: MMUUpdateRequest, context: inout MMUContext, owners: MMUOwners,
                          actions: inout MMUActions) throws(XenError) {
        let caller = context.domain
        switch request.command {
        case .normalPageTableUpdate, .pageTableUpdatePreserveAD, .pageTableUpdateNoTranslate:
            // Xen: xsm_mmu_update(XSM_TARGET, d, pt_owner, pg_owner) — DOMID_IO is exempt.
            guard owners.pageOwner == caller || owners.pageOwner == .io else { throw .EPERM }
            guard owners.pageTableOwner == caller else { throw .EPERM }
            let address = request.ptr & ~7
            let preserveAD = request.command == .pageTableUpdatePreserveAD
            let value = request.val
            try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                if let e = s.normalUpdate(at: address, value: value, preserveAD: preserveAD,
                                          tableOwner: owners.pageTableOwner.rawValue,
                                          pageOwner: owners.pageOwner.rawValue) { throw e }
            }
        case .machphysUpdate:
            guard owners.pageTableOwner == caller else { throw .EPERM }
            guard owners.pageOwner == caller || owners.pageOwner == .io else { throw .EPERM }
            let mfn = request.ptr >> 12
            let pfn = request.val
            try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                guard s.getPage(mfn, owner: owners.pageOwner.rawValue) else { throw .EINVAL }
                s.setMachineToPhys(mfn, pfn)
                s.putPage(mfn)
            }
        case nil:
            throw .ENOSYS
        }
    }

    // MARK: Base tables

    /// Pins the domain builder's top-level table (validating the whole tree) on behalf of
    /// `domain`, as the toolstack's MMUEXT_PIN_L4_TABLE does. The vCPU that starts on it takes
    /// its own reference with `acquireBaseTable`.
    public func pinInitialTable(l4: MachineFrame, for domain: DomainID) throws(XenError) {
        var actions = MMUActions()
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            try s.pin(l4.rawValue, as: .l4, owner: domain.rawValue)
        }
    }

    /// Takes the L4 type reference a vCPU's base pointer holds (setting a vCPU's initial
    /// context). Xen: arch_set_info_guest's get_page_and_type(cr3_page, PGT_base_page_table).
    public func acquireBaseTable(_ l4: MachineFrame, for domain: DomainID) throws(XenError) {
        var actions = MMUActions()
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            if let e = s.getPageAndType(l4.rawValue, .l4, owner: domain.rawValue) { throw e }
        }
    }

    /// Drops a base pointer's reference (vCPU reset or destruction). Frames that are not an
    /// in-use L4 of `domain` are ignored. Xen: vcpu_destroy_pagetables.
    public func releaseBaseTable(_ l4: MachineFrame, for domain: DomainID, actions: inout MMUActions) {
        try? machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            s.releaseBase(l4.rawValue, owner: domain.rawValue)
        }
    }

    /// True when `frame` is a validated, in-use L4 of `domain`: what a vCPU may run on.
    public func mayLoadAsBase(_ frame: MachineFrame, for domain: DomainID) -> Bool {
        machine.state.withLock { s in
            guard frame.rawValue < s.frameCount else { return false }
            let f = s.frames[Int(frame.rawValue)]
            return f.owner == domain.rawValue && f.type == .l4 && f.typeCount > 0 && f.flags.contains(.validated)
        }
    }
}

extension MemoryState {
    /// Xen: MMUEXT_PIN_L*_TABLE on a frame owned by `owner`.
    mutating func pin(_ mfn: UInt64, as type: PageType, owner: UInt16) throws(XenError) {
        guard getPage(mfn, owner: owner) else { throw .EINVAL }
        if let e = getPageType(mfn, type) {
            putPage(mfn)
            throw e
        }
        guard !frames[Int(mfn)].flags.contains(.pinned) else {
            putPageAndType(mfn)
            throw .EINVAL  // Xen: "already pinned"
        }
        frames[Int(mfn)].flags.insert(.pinned)
    }

    /// Xen: MMUEXT_UNPIN_TABLE.
    mutating func unpin(_ mfn: UInt64, owner: UInt16) throws(XenError) {
        guard getPage(mfn, owner: owner) else { throw .EINVAL }
        guard frames[Int(mfn)].flags.contains(.pinned) else {
            putPage(mfn)
            throw .EINVAL  // Xen: "not pinned"
        }
        frames[Int(mfn)].flags.remove(.pinned)
        putPageAndType(mfn)
        putPage(mfn)
    }

    /// Drops a base pointer's L4 reference if `mfn` is an in-use L4 of `owner`.
    mutating func releaseBase(_ mfn: UInt64, owner: UInt16) {
        guard mfn < frameCount else { return }
        let f = frames[Int(mfn)]
        guard f.owner == owner, f.type == .l4, f.typeCount > 0, f.count > 0 else { return }
        putPageAndType(mfn)
    }
}
