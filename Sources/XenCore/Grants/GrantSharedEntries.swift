import GuestMemory
import XenABI

/// The version-1 entries in a table's shared frames, which the owning guest writes at any
/// time from any vCPU. Kite reads each entry as one 8-byte word and changes its flags only
/// with compare-exchange, as Xen does with guest_cmpxchg on the (flags, domid) pair.
///
/// Callers hold the table's lock and have checked that the frames are still the domain's
/// (not released): then every pointer here is inside RAM.
struct GrantSharedEntries {
    let ram: PhysicalMemory
    let frames: [MachineFrame]

    var count: UInt32 { UInt32(frames.count) * UInt32(GrantEntryV1.perFrame) }

    /// Xen: how often a changing entry is retried before the guest is deemed misbehaving.
    static let statusRetries = 4
    /// Compare-exchanges that failed only because the guest rewrote `frame` (outside the
    /// 32 bits Xen's cmpxchg covers) are retried this many more times.
    static let frameOnlyRetries = 64
    /// Bound on the clear loop a guest hammering its entry could otherwise stretch.
    static let clearRetries = 10_000

    private func address(_ ref: UInt32) -> MachineAddress? {
        let perFrame = UInt32(GrantEntryV1.perFrame)
        let index = Int(ref / perFrame)
        guard index < frames.count else { return nil }
        let offset = UInt64(ref % perFrame) * UInt64(GrantEntryV1.size)
        return MachineAddress(frames[index].address.rawValue + offset)
    }

    private func pointer(_ ref: UInt32) -> (UnsafeMutableRawPointer, MachineAddress)? {
        guard let a = address(ref), let p = ram.pointer(to: a, length: 8) else { return nil }
        return (p, a)
    }

    /// The whole entry, read atomically: flags in bits 0-15, domid 16-31, frame 32-63.
    func load(_ ref: UInt32) -> UInt64 {
        guard let (p, _) = pointer(ref) else { return 0 }
        return PhysicalMemory.compareExchange64(p, expected: 0, desired: 0)
    }

    /// Replaces the whole entry (toolstack seeding, swap) with one aligned 8-byte store,
    /// which the guest's vCPUs see whole. Xen copies the struct the same way.
    func store(_ ref: UInt32, _ value: UInt64) {
        guard let (p, a) = pointer(ref) else { return }
        p.storeBytes(of: value.littleEndian, as: UInt64.self)
        ram.noteWrite(a, length: 8)
    }

    /// Sets GTF_reading (and GTF_writing unless `readOnly`) after checking, when the entry is
    /// not pinned yet, that it permits access to `grantee`; a write pin also needs the entry
    /// not to be GTF_readonly. Returns the frame the entry named at that moment.
    /// `mapping` refuses sub-page entries (v2 only, so never set in a v1 table).
    /// Xen: _set_status_v1.
    func setStatus(_ ref: UInt32, pinned: Bool, readOnly: Bool, mapping: Bool, grantee: UInt16) -> Result<UInt64, GrantStatus> {
        guard let (p, a) = pointer(ref) else { return .failure(.generalError) }
        var mask = GrantEntryFlags.typeMask
        if mapping { mask.formUnion(.subPage) }
        var old = PhysicalMemory.compareExchange64(p, expected: 0, desired: 0)
        var retries = 0
        var frameRetries = 0
        while true {
            let flags = GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: old))
            let domid = UInt16(truncatingIfNeeded: old >> 16)
            if !pinned && (flags.intersection(mask) != .permitAccess || domid != grantee) {
                return .failure(.generalError)
            }
            var updated = flags.union(.reading)
            if !readOnly {
                updated.formUnion(.writing)
                if flags.contains(.readOnly) { return .failure(.generalError) }
            }
            let new = (old & ~0xFFFF) | UInt64(updated.rawValue)
            let seen = PhysicalMemory.compareExchange64(p, expected: old, desired: new)
            if seen == old {
                if new != old { ram.noteWrite(a, length: 8) }
                return .success(old >> 32)
            }
            if seen & 0xFFFF_FFFF == old & 0xFFFF_FFFF && frameRetries < Self.frameOnlyRetries {
                frameRetries += 1
            } else {
                if retries == Self.statusRetries { return .failure(.generalError) }  // "unstable"
                retries += 1
            }
            old = seen
        }
    }

    /// Atomically clears `flags` in the entry. Xen: gnttab_clear_flags.
    func clearFlags(_ ref: UInt32, _ flags: GrantEntryFlags) {
        guard !flags.isEmpty, let (p, a) = pointer(ref) else { return }
        let mask = ~UInt64(flags.rawValue)
        var old = p.load(as: UInt64.self)
        for _ in 0..<Self.clearRetries {
            let new = old & mask
            if new == old { return }
            let seen = PhysicalMemory.compareExchange64(p, expected: old, desired: new)
            if seen == old {
                ram.noteWrite(a, length: 8)
                return
            }
            old = seen
        }
    }

    /// Clears what the pin no longer needs: GTF_writing once no writable pin is left (after a
    /// writable use), GTF_reading once nothing pins the entry. Xen: reduce_status_for_pin.
    func reduceStatus(_ ref: UInt32, for active: ActiveGrantEntry, readOnly: Bool) {
        var clear: GrantEntryFlags = active.isPinned ? [] : .reading
        if !readOnly && !active.hasWritablePins { clear.formUnion(.writing) }
        clearFlags(ref, clear)
    }
}
