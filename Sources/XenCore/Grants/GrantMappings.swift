import GuestMemory
import Synchronization
import XenABI

/// An unmap whose first half is done (the mapping is gone from the mapper's maptrack and
/// tables) and whose second half — unpin, drop the references — must follow once the
/// mapper's TLBs are flushed. Xen: struct gnttab_unmap_common between unmap_common and
/// unmap_common_complete.
struct PendingUnmap {
    let granter: GrantTable
    let ref: UInt32
    let frame: UInt64
    /// The parts removed (device and/or host, with GNTMAP_readonly if the mapping was).
    let done: GrantMapFlags
}

/// Map and unmap for any mapper — a PV guest (host mappings are PTEs in its tables) or Kite
/// itself as domain 0 (host mappings are pointers, no PTE).
/// Xen: map_grant_ref, unmap_common, unmap_common_complete (common/grant_table.c).
enum GrantMappings {
    /// The mapper's page tables, for PV host mappings.
    struct PTEContext {
        /// The mapping domain (owner of the L1 tables).
        var mapper: DomainID
        /// The vCPU's current top-level table (linear host addresses are looked up in it).
        var base: MachineFrame?
    }

    /// Maps `ref` of `granter` for `grantee`; returns the handle and the frame.
    /// `pte` is nil for Kite's own mappings. Xen: map_grant_ref after the domain lookup.
    static func map(
        into maptrack: borrowing Mutex<Maptrack>, grantee: DomainID, granter: GrantTable, ref: UInt32,
        flags: GrantMapFlags, hostAddress: UInt64, pte: PTEContext?, actions: inout MMUActions
    ) -> Result<(handle: UInt32, frame: UInt64), GrantStatus> {
        guard flags.contains(.deviceMap) || flags.contains(.hostMap) else { return .failure(.badGrantReference) }
        // Xen: "Failed to obtain maptrack handle".
        guard let handle = maptrack.withLock({ $0.allocate() }) else { return .failure(.noDeviceSpace) }
        let pinned: PinnedGrant
        switch granter.pinForMap(ref, grantee: grantee, flags: flags) {
        case .failure(let status):
            maptrack.withLock { $0.release(handle) }
            return .failure(status)
        case .success(let p): pinned = p
        }
        let location = pte.flatMap { context -> GrantPTELocation? in
            flags.contains(.hostMap)
                ? GrantPTELocation(address: hostAddress, flags: flags, base: context.base?.rawValue) : nil
        }
        let granterID = granter.domain.rawValue
        let status = granter.memory.machine.grantOperation(&actions) { s in
            s.establishGrantMapping(
                frame: pinned.frame, granter: granterID, referenceHeld: pinned.referenceHeld, flags: flags,
                pte: location, mapper: grantee.rawValue)
        }
        guard status == .okay else {
            granter.unpin(ref, flags: flags)
            maptrack.withLock { $0.release(handle) }
            return .failure(status)
        }
        maptrack.withLock {
            $0.record(handle, MaptrackEntry(ref: ref, kind: MappingKind(flags), granter: granter))
        }
        return .success((handle, pinned.frame))
    }

    /// The first half of an unmap: checks the handle, removes the host part (zapping the PTE,
    /// or putting the stolen entry at `newAddress` in its place) if `hostAddress` is set and
    /// the device part if `busAddress` is, and frees the handle once nothing is left.
    /// `expect` (Kite's own unmaps) must match the handle's granter and ref.
    /// Xen: unmap_common (with replace_grant_host_mapping).
    static func beginUnmap(
        from maptrack: borrowing Mutex<Maptrack>, handle: UInt32, hostAddress: UInt64, busAddress: UInt64, newAddress: UInt64,
        pte: PTEContext?, expect: (DomainID, UInt32)? = nil, actions: inout MMUActions
    ) -> (GrantStatus, PendingUnmap?) {
        maptrack.withLock { mt -> (GrantStatus, PendingUnmap?) in
            guard handle < mt.limit, let entry = mt[handle], entry.kind.isMapped else { return (.badHandle, nil) }
            if let expect, entry.granter.domain != expect.0 || entry.ref != expect.1 { return (.badHandle, nil) }
            // Xen: "Unstable handle" — the ref no longer fits the granter's table.
            guard let frame = entry.granter.activeFrame(entry.ref) else { return (.badHandle, nil) }
            // Xen: "Bus address doesn't match gntref".
            if busAddress != 0 && busAddress != frame << 12 { return (.generalError, nil) }
            var kind = entry.kind
            var done: GrantMapFlags = []
            if hostAddress != 0 && kind.host {
                if let pte {
                    let flags = kind.flags
                    let mapper = pte.mapper.rawValue
                    let location = GrantPTELocation(address: hostAddress, flags: flags, base: pte.base?.rawValue)
                    let removed = entry.granter.memory.machine.grantOperation(&actions) { s -> Bool in
                        var replacement: UInt64 = 0
                        if newAddress != 0 {
                            // Xen: replace is not available in the PTE-address mode.
                            guard !flags.contains(.containsPTE),
                                  let stolen = s.stealLinearPTE(newAddress, base: pte.base?.rawValue, mapper: mapper)
                            else { return false }
                            replacement = stolen
                        }
                        guard s.removeGrantPTE(location, frame: frame, flags: flags, replacement: replacement, mapper: mapper)
                        else {
                            // Still responsible for the stolen entry's references.
                            s.putPageFromL1e(replacement, l1Owner: mapper)
                            return false
                        }
                        return true
                    }
                    guard removed else { return (.generalError, nil) }
                }
                kind.flags.remove(.hostMap)
                done.insert(.hostMap)
            }
            if busAddress != 0 && kind.device {
                kind.flags.remove(.deviceMap)
                done.insert(.deviceMap)
            }
            if !done.isEmpty && kind.isReadOnly { done.insert(.readOnly) }
            if kind.isMapped { mt.setKind(handle, kind) } else { mt.release(handle) }
            let pending = done.isEmpty ? nil : PendingUnmap(granter: entry.granter, ref: entry.ref, frame: frame, done: done)
            return (.okay, pending)
        }
    }

    /// The second half, after the mapper's TLBs were flushed: unpin and drop the references
    /// (the last one frees a frame whose domain died meanwhile). A writable mapping marks the
    /// page written. Xen: unmap_common_complete (with gnttab_mark_dirty).
    static func completeUnmap(_ p: PendingUnmap, actions: inout MMUActions) {
        p.granter.unpin(p.ref, flags: p.done)
        let readOnly = p.done.contains(.readOnly)
        let machine = p.granter.memory.machine
        if !readOnly { machine.memory.noteWrite(MachineFrame(p.frame).address, length: pageSize) }
        machine.grantOperation(&actions) { s in
            s.releaseGrantMapping(
                frame: p.frame, device: p.done.contains(.deviceMap), host: p.done.contains(.hostMap), readOnly: readOnly)
        }
    }

    /// Drops every mapping `maptrack` holds when its domain dies: pins go, device parts give
    /// their references back; PV host parts leave theirs to the PTEs, which the domain's page
    /// tables drop as they are torn down. Xen: gnttab_release_mappings.
    static func releaseAll(_ maptrack: borrowing Mutex<Maptrack>, hostReferencesInPTEs: Bool, actions: inout MMUActions) {
        let all = maptrack.withLock { $0.takeAll() }
        for (_, entry) in all {
            let kind = entry.kind
            guard kind.isMapped, let frame = entry.granter.activeFrame(entry.ref) else { continue }
            entry.granter.unpin(entry.ref, flags: kind.flags)
            let readOnly = kind.isReadOnly
            entry.granter.memory.machine.grantOperation(&actions) { s in
                s.releaseGrantMapping(
                    frame: frame, device: kind.device, host: kind.host && !hostReferencesInPTEs, readOnly: readOnly)
            }
        }
    }
}
