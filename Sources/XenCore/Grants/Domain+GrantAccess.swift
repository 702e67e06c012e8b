import GuestMemory
import XenABI

/// One side of a guest's GNTTABOP_copy. Xen: struct gnttab_copy_ptr.
struct GrantCopyPointer: Equatable {
    /// A grant reference (low 32 bits) or, for DOMID_SELF, a frame (xen_pfn_t).
    var refOrFrame: UInt64
    var domain: DomainID
    var offset: UInt16
}

/// A PV guest mapping, unmapping and copying other domains' grants.
/// Xen: map_grant_ref, unmap_common, gnttab_copy_one (common/grant_table.c).
extension Domain {
    /// Maps `ref` of `dom` for this domain: a PTE at `hostAddress` (a linear address in the
    /// tables `base`, or an L1 entry's machine address with GNTMAP_contains_pte) for
    /// GNTMAP_host_map, references only for GNTMAP_device_map. Returns the handle and the
    /// frame (dev_bus_addr >> 12).
    func mapGrant(
        hostAddress: UInt64, flags: GrantMapFlags, ref: UInt32, dom: DomainID, base: MachineFrame?,
        actions: inout MMUActions
    ) -> Result<(handle: UInt32, frame: UInt64), GrantStatus> {
        guard let grants else { return .failure(.generalError) }
        // Xen: "Bad flags in grant map op".
        guard flags.contains(.deviceMap) || flags.contains(.hostMap) else { return .failure(.badGrantReference) }
        guard let peer = grantPeer(id: dom) else { return .failure(.badDomain) }
        guard let granter = grantTable(of: peer) else {
            // Kite's domain 0 grants nothing: its table has no entries.
            return grants.maptrack.withLock { $0.hasRoom } ? .failure(.badGrantReference) : .failure(.noDeviceSpace)
        }
        return GrantMappings.map(
            into: grants.maptrack, grantee: id, granter: granter, ref: ref, flags: flags, hostAddress: hostAddress,
            pte: GrantMappings.PTEContext(mapper: id, base: base), actions: &actions)
    }

    /// The first half of unmap_grant_ref / unmap_and_replace for `handle`; the caller
    /// flushes this domain's TLBs, then completes the returned unmap.
    func beginGrantUnmap(
        handle: UInt32, hostAddress: UInt64, busAddress: UInt64, newAddress: UInt64, base: MachineFrame?,
        actions: inout MMUActions
    ) -> (GrantStatus, PendingUnmap?) {
        guard let grants else { return (.badHandle, nil) }
        return GrantMappings.beginUnmap(
            from: grants.maptrack, handle: handle, hostAddress: hostAddress, busAddress: busAddress,
            newAddress: newAddress, pte: GrantMappings.PTEContext(mapper: id, base: base), actions: &actions)
    }

    /// One GNTTABOP_copy: each side a grant of any domain (GNTCOPY_*_gref) or a frame of
    /// the caller (DOMID_SELF only). Xen: gnttab_copy_lock_domains, gnttab_copy_claim_buf
    /// (source, then destination), gnttab_copy_buf, gnttab_copy_release_buf.
    func copyGrant(source: GrantCopyPointer, destination: GrantCopyPointer, length: UInt16, flags: GrantCopyFlags) -> GrantStatus {
        guard let machine = memory?.machine else { return .generalError }
        // Xen: "Only DOMID_SELF may reference via frame", then the domain lookups.
        if source.domain != .selfDomain && !flags.contains(.sourceGrantReference) { return .permissionDenied }
        guard let sourcePeer = grantPeer(anyID: source.domain) else { return .badDomain }
        if destination.domain != .selfDomain && !flags.contains(.destinationGrantReference) { return .permissionDenied }
        guard let destinationPeer = grantPeer(anyID: destination.domain) else { return .badDomain }

        let src: ClaimedCopyBuffer
        switch claim(source, peer: sourcePeer, byReference: flags.contains(.sourceGrantReference), readOnly: true, machine: machine) {
        case .failure(let status): return status
        case .success(let b): src = b
        }
        let dst: ClaimedCopyBuffer
        switch claim(destination, peer: destinationPeer, byReference: flags.contains(.destinationGrantReference),
                     readOnly: false, machine: machine) {
        case .failure(let status):
            GrantCopyEngine.release(src, machine: machine)
            return status
        case .success(let b): dst = b
        }
        let status = GrantCopyEngine.copy(
            from: src, offset: Int(source.offset), to: dst, offset: Int(destination.offset), length: Int(length),
            ram: machine.memory)
        GrantCopyEngine.release(src, machine: machine)
        GrantCopyEngine.release(dst, machine: machine)
        return status
    }

    private func claim(
        _ pointer: GrantCopyPointer, peer: GrantPeer, byReference: Bool, readOnly: Bool, machine: MachineMemory
    ) -> Result<ClaimedCopyBuffer, GrantStatus> {
        guard byReference else {
            return GrantCopyEngine.claimOwnFrame(pointer.refOrFrame, owner: id, readOnly: readOnly, machine: machine)
        }
        // Kite's domain 0 has no entries to copy through.
        guard let table = grantTable(of: peer) else { return .failure(.badGrantReference) }
        return GrantCopyEngine.claimGrant(
            table, ref: UInt32(truncatingIfNeeded: pointer.refOrFrame), grantee: id, readOnly: readOnly)
    }
}

extension Maptrack {
    /// A handle could be had now (a free one, or room to grow).
    var hasRoom: Bool {
        UInt64(limit) < UInt64(maximumFrames) * UInt64(GrantTableLimits.maptrackEntriesPerFrame) || inUse < Int(limit)
    }
}
