import GuestMemory
import XenABI

/// A domain named in a grant operation, as Xen's lookups see it.
enum GrantPeer {
    /// The calling domain itself.
    case caller
    /// Another guest domain.
    case guest(Domain)
    /// Domain 0: Kite itself, which exists but has no grant table a guest may use.
    case controlDomain
}

/// The table-level grant operations of a domain, and the toolstack's hooks.
/// Xen: gnttab_setup_table, gnttab_query_size, gnttab_set_version, gnttab_get_version,
/// gnttab_get_status_frames, swap_grant_ref (common/grant_table.c).
extension Domain {
    /// Xen: rcu_lock_domain_by_any_id — DOMID_SELF or any existing domain; nil for unknown
    /// and reserved ids.
    func grantPeer(anyID id: DomainID) -> GrantPeer? {
        if id == .selfDomain || id == self.id { return .caller }
        return grantPeer(id: id)
    }

    /// Xen: rcu_lock_domain_by_id — DOMID_SELF is not an id here.
    func grantPeer(id: DomainID) -> GrantPeer? {
        if id == self.id { return .caller }
        switch events.hub?.endpoint(id) {
        case .guest(let d)?: return .guest(d)
        case .host?: return .controlDomain
        case nil: return nil
        }
    }

    /// The table of a peer, when there is one.
    func grantTable(of peer: GrantPeer) -> GrantTable? {
        switch peer {
        case .caller: grants
        case .guest(let d): d.grants
        case .controlDomain: nil
        }
    }

    /// The checks of setup_table, query_size and get_status_frames on `dom`: only the
    /// caller's own table (XSM_TARGET for an unprivileged domain).
    private func ownTable(_ dom: DomainID) -> Result<GrantTable, GrantStatus> {
        guard let peer = grantPeer(anyID: dom) else { return .failure(.badDomain) }
        guard case .caller = peer, let grants else { return .failure(.permissionDenied) }
        return .success(grants)
    }

    /// Grows the table to `frames` frames if needed and returns the first `frames` of them.
    /// Xen: gnttab_setup_table (PV: the frames are machine frames the guest maps).
    func setupGrantTable(dom: DomainID, frames: UInt32) -> Result<[MachineFrame], GrantStatus> {
        let table: GrantTable
        switch ownTable(dom) {
        case .failure(let s): return .failure(s)
        case .success(let t): table = t
        }
        return table.state.withLock { s in
            // Xen: "d%d is limited to %u grant-table frames".
            guard frames <= s.maximumFrames else { return .failure(.generalError) }
            guard table.grow(&s, to: frames) else { return .failure(.generalError) }
            return .success(Array(s.frames.prefix(Int(frames))))
        }
    }

    /// (nr_frames, max_nr_frames). Xen: gnttab_query_size.
    func queryGrantTableSize(dom: DomainID) -> Result<(UInt32, UInt32), GrantStatus> {
        switch ownTable(dom) {
        case .failure(let s): return .failure(s)
        case .success(let t): return .success(t.state.withLock { (UInt32($0.frames.count), $0.maximumFrames) })
        }
    }

    /// Xen: gnttab_get_status_frames — a version-1 table has no status frames, so any
    /// request for one is GNTST_general_error and a request for none succeeds.
    func grantStatusFrames(dom: DomainID, count: UInt32) -> GrantStatus {
        switch ownTable(dom) {
        case .failure(let s): return s
        case .success: return count > 0 ? .generalError : .okay
        }
    }

    /// Xen: gnttab_get_version — -ESRCH for an unknown domain, -EPERM for another one.
    func grantTableVersion(dom: DomainID) throws(XenError) -> UInt32 {
        guard let peer = grantPeer(anyID: dom) else { throw .ESRCH }
        guard case .caller = peer, let grants else { throw .EPERM }
        return grants.state.withLock { $0.version }
    }

    /// Xen: gnttab_set_version with version 2 disabled: 1 is accepted (already in force),
    /// 2 is -ENOSYS ("as before set_version was introduced"), anything else -EINVAL. The
    /// version in force is written back whatever the outcome.
    func setGrantTableVersion(_ version: UInt32) -> (error: XenError?, current: UInt32) {
        let current = grants?.state.withLock { $0.version } ?? 1
        switch version {
        case current: return (nil, current)
        case 1, 2: return (.ENOSYS, current)
        default: return (.EINVAL, current)
        }
    }

    /// Exchanges two entries of the caller's table unless either is in use.
    /// Xen: swap_grant_ref.
    func swapGrantReferences(_ a: UInt32, _ b: UInt32) -> GrantStatus {
        guard let grants else { return .generalError }
        let status = grants.withEntries { s, entries -> GrantStatus in
            guard a < s.entryCount else { return .badGrantReference }
            guard b < s.entryCount else { return .badGrantReference }
            if a == b { return .okay }
            guard !s.active[Int(a)].isPinned, !s.active[Int(b)].isPinned else { return .eagain }
            let ea = entries.load(a)
            entries.store(a, entries.load(b))
            entries.store(b, ea)
            return .okay
        }
        return status ?? .generalError
    }

    // MARK: Toolstack

    /// Writes the toolstack's reserved entries before the domain starts: ref 0 grants the
    /// console ring page, ref 1 the xenstore ring page, both to `backend` (Kite as domain 0)
    /// with GTF_permit_access. Frame first, then domid, then flags, as a guest would.
    /// Xen: xc_dom_gnttab_seed (libxenguest) on behalf of libxl.
    public func seedToolstackGrants(console: MachineFrame?, xenstore: MachineFrame?, backend: DomainID = .controlDomain) throws(XenError) {
        guard let grants else { throw .ENOSYS }
        guard grants.state.withLock({ grants.grow(&$0, to: GrantTableLimits.initialFrames) }) else { throw .ENOMEM }
        let seeded = grants.withEntries { s, entries -> Bool in
            guard s.entryCount >= GrantTableLimits.reservedEntries else { return false }
            for (ref, frame) in [(GrantTableLimits.consoleReference, console), (GrantTableLimits.xenstoreReference, xenstore)] {
                guard let frame else { continue }
                guard frame.rawValue <= UInt64(UInt32.max) else { return false }
                let value = (frame.rawValue << 32) | (UInt64(backend.rawValue) << 16)
                entries.store(ref.rawValue, value)
                entries.store(ref.rawValue, value | UInt64(GrantEntryFlags.permitAccess.rawValue))
            }
            return true
        }
        // nil: the domain is being destroyed.
        guard let seeded else { throw .ESRCH }
        guard seeded else { throw .EINVAL }
    }

    /// Gives back everything this domain maps of other domains' grants; call when it is
    /// destroyed, after its vCPUs stopped. Pins in the granters' tables go and their
    /// GTF_reading/GTF_writing flags clear; the references its PTEs hold are dropped when
    /// its page tables are released. Xen: gnttab_release_mappings (domain_relinquish_resources).
    public func releaseGrantMappings() {
        guard let grants else { return }
        var actions = MMUActions()
        GrantMappings.releaseAll(grants.maptrack, hostReferencesInPTEs: true, actions: &actions)
    }
}
