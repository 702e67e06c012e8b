import GuestMemory
import XenABI

/// A grant pinned for a mapping: the frame it uses, and whether pinning already took the
/// mapping's first general reference (the first pin of an entry does, as Xen's
/// get_paged_frame does).
struct PinnedGrant: Sendable {
    var frame: UInt64
    var referenceHeld: Bool
}

/// A grant acquired for a copy: the frame to copy (the pinned one) and the frame the
/// acquisition holds a general reference on (the entry's current frame when the pin was
/// raised to writable, as in Xen).
struct AcquiredGrant: Sendable {
    var frame: UInt64
    var referencedFrame: UInt64
}

/// The granting side of maps and copies: pins on active entries and the GTF_reading /
/// GTF_writing flags they keep set in the guest's entry.
/// Xen: map_grant_ref, unmap_common_complete, acquire_grant_for_copy, release_grant_for_copy.
extension GrantTable {
    /// Pins entry `ref` for a mapping by `grantee` with `flags` (device and/or host,
    /// read-only or not). Xen: the granting-table part of map_grant_ref.
    func pinForMap(_ ref: UInt32, grantee: DomainID, flags: GrantMapFlags) -> Result<PinnedGrant, GrantStatus> {
        let machine = memory.machine
        let owner = domain.rawValue
        let readOnly = flags.contains(.readOnly)
        let outcome = withEntries { (s, entries) -> Result<PinnedGrant, GrantStatus> in
            guard ref < s.entryCount, Int(ref) < s.active.count else { return .failure(.badGrantReference) }
            var act = s.active[Int(ref)]
            // Pinned for someone else, or one more pin could overflow a count.
            if act.isPinned && (act.grantee != grantee.rawValue || act.isNearOverflow) {
                return .failure(.generalError)
            }
            var held = false
            if !act.isPinned || (!readOnly && !act.hasWritablePins) {
                let frame: UInt64
                switch entries.setStatus(ref, pinned: act.isPinned, readOnly: readOnly, mapping: true, grantee: grantee.rawValue) {
                case .failure(let status): return .failure(status)
                case .success(let f): frame = f
                }
                if !act.isPinned {
                    // Xen: get_paged_frame — for PV the entry names a machine frame, which
                    // the granting domain must own.
                    var actions = MMUActions()
                    guard machine.grantOperation(&actions, { $0.getPage(frame, owner: owner) }) else {
                        entries.reduceStatus(ref, for: act, readOnly: readOnly)
                        return .failure(.badPage)
                    }
                    act.grantee = grantee.rawValue
                    act.frame = frame
                    held = true
                }
            }
            act.pin &+= GrantPin.increment(for: flags)
            s.active[Int(ref)] = act
            return .success(PinnedGrant(frame: act.frame, referenceHeld: held))
        }
        // The domain's memory is gone: it is being destroyed.
        return outcome ?? .failure(.badDomain)
    }

    /// Drops the pins one mapping's `flags` parts held and clears the GTF flags no longer
    /// needed. Works after the granter died (its entries are then left alone).
    /// Xen: the pin half of unmap_common_complete, map_grant_ref's undo path.
    func unpin(_ ref: UInt32, flags: GrantMapFlags) {
        withState { s, entries in
            guard Int(ref) < s.active.count else { return }
            s.active[Int(ref)].pin = GrantPin.remove(GrantPin.increment(for: flags), from: s.active[Int(ref)].pin)
            entries?.reduceStatus(ref, for: s.active[Int(ref)], readOnly: flags.contains(.readOnly))
        }
    }

    /// The frame an active entry uses (nil beyond the table). Xen: act->mfn.
    func activeFrame(_ ref: UInt32) -> UInt64? {
        state.withLock { s in Int(ref) < s.active.count ? s.active[Int(ref)].frame : nil }
    }

    /// Pins entry `ref` for one copy by `grantee` and takes a general reference on the page.
    /// Xen: acquire_grant_for_copy (version 1, no transitive grants).
    func acquireForCopy(_ ref: UInt32, grantee: DomainID, readOnly: Bool) -> Result<AcquiredGrant, GrantStatus> {
        let machine = memory.machine
        let owner = domain.rawValue
        let outcome = withEntries { (s, entries) -> Result<AcquiredGrant, GrantStatus> in
            guard ref < s.entryCount, Int(ref) < s.active.count else { return .failure(.badGrantReference) }
            var act = s.active[Int(ref)]
            if act.isPinned && (act.grantee != grantee.rawValue || act.isNearOverflow) {
                return .failure(.generalError)
            }
            var actions = MMUActions()
            let referenced: UInt64
            if !act.isPinned || (!readOnly && !act.hasWritablePins) {
                let frame: UInt64
                switch entries.setStatus(ref, pinned: act.isPinned, readOnly: readOnly, mapping: false, grantee: grantee.rawValue) {
                case .failure(let status): return .failure(status)
                case .success(let f): frame = f
                }
                guard machine.grantOperation(&actions, { $0.getPage(frame, owner: owner) }) else {
                    entries.reduceStatus(ref, for: act, readOnly: readOnly)
                    return .failure(.badPage)
                }
                referenced = frame
                if !act.isPinned {
                    act.grantee = grantee.rawValue
                    act.frame = frame
                }
            } else {
                // Already pinned as needed: the pinned frame must still be the granter's.
                let pinned = act.frame
                let ok = machine.grantOperation(&actions) { m -> Bool in
                    let found = m.getPageAndOwner(pinned)
                    guard found == owner, !m.isDying(owner) else {
                        if found != nil { m.putPage(pinned) }
                        return false
                    }
                    return true
                }
                guard ok else {
                    entries.reduceStatus(ref, for: act, readOnly: readOnly)
                    return .failure(.badDomain)
                }
                referenced = pinned
            }
            act.pin &+= readOnly ? GrantPin.hostReadOnly : GrantPin.hostWritable
            s.active[Int(ref)] = act
            return .success(AcquiredGrant(frame: act.frame, referencedFrame: referenced))
        }
        return outcome ?? .failure(.badDomain)
    }

    /// Undoes `acquireForCopy`'s pin (not its page reference). Xen: release_grant_for_copy.
    func releaseForCopy(_ ref: UInt32, readOnly: Bool) {
        withState { s, entries in
            guard Int(ref) < s.active.count else { return }
            let pin = readOnly ? GrantPin.hostReadOnly : GrantPin.hostWritable
            s.active[Int(ref)].pin = GrantPin.remove(pin, from: s.active[Int(ref)].pin)
            entries?.reduceStatus(ref, for: s.active[Int(ref)], readOnly: readOnly)
        }
    }
}

extension GrantPin {
    /// `pin` less `amount`, field by field, never borrowing across fields.
    static func remove(_ amount: UInt32, from pin: UInt32) -> UInt32 {
        var result: UInt32 = 0
        for shift in stride(from: UInt32(0), to: 32, by: 8) {
            let have = (pin >> shift) & 0xFF
            let take = (amount >> shift) & 0xFF
            result |= (have >= take ? have - take : 0) << shift
        }
        return result
    }
}
