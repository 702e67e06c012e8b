import GuestMemory
import Synchronization
import XenABI

/// One domain's grant table, version 1: the shared frames the guest writes its entries into
/// (Kite frames shared writable with the domain, like shared_info), the active entries that
/// shadow entries in use, and the maptrack of the mappings this domain holds of others'
/// grants. Xen: `struct grant_table` (common/grant_table.c).
///
/// Version 2 is not offered (Xen built or booted with gnttab=max-ver:1): set_version(2)
/// answers -ENOSYS and guests stay on version 1.
///
/// Locking: `state` guards the frames, limits and active entries, and is held while the
/// shared entries are read or changed; `maptrack` guards this domain's own mappings. Order:
/// a mapper's `maptrack`, then a granter's `state`, then the domain memory's physmap lock,
/// then MachineMemory's lock. Two `state` locks are never held at once.
public final class GrantTable: Sendable {
    public let domain: DomainID
    let memory: DomainMemory

    struct State {
        /// Xen: nr_grant_frames — the shared frames, in table order.
        var frames: [MachineFrame] = []
        /// One per entry of `frames`.
        var active: [ActiveGrantEntry] = []
        /// Xen: max_grant_frames.
        var maximumFrames: UInt32 = GrantTableLimits.defaultMaximumFrames
        /// Xen: gt_version (always 1 here).
        var version: UInt32 = 1

        var entryCount: UInt32 { UInt32(frames.count) * UInt32(GrantEntryV1.perFrame) }
    }
    let state: Mutex<State>
    let maptrack: Mutex<Maptrack>

    /// Creates the table of `memory`'s domain with its initial frame (none if machine memory
    /// is exhausted; setup_table retries). Xen: grant_table_init.
    init(memory: DomainMemory, maximumMaptrackFrames: UInt32 = GrantTableLimits.defaultMaximumMaptrackFrames) {
        domain = memory.domain
        self.memory = memory
        state = Mutex(State())
        maptrack = Mutex(Maptrack(maximumFrames: maximumMaptrackFrames))
        _ = state.withLock { s in grow(&s, to: GrantTableLimits.initialFrames) }
    }

    // MARK: Toolstack view

    /// Xen: nr_grant_frames.
    public var frameCount: UInt32 { state.withLock { UInt32($0.frames.count) } }

    /// The shared frames, in table order (what setup_table returns to a PV guest).
    public var frames: [MachineFrame] { state.withLock { $0.frames } }

    /// Xen: max_grant_frames.
    public var maximumFrames: UInt32 { state.withLock { $0.maximumFrames } }

    /// Xen: max_maptrack_frames.
    public var maximumMaptrackFrames: UInt32 { maptrack.withLock { $0.maximumFrames } }

    /// Mappings of other domains' grants this domain holds now.
    public var mappingCount: Int { maptrack.withLock { $0.inUse } }

    /// Xen: the toolstack's max_grant_frames / max_maptrack_frames (xl.cfg, domctl at
    /// creation). The frame limit cannot go below the frames in use nor below 1.
    public func setLimits(maximumFrames: UInt32, maximumMaptrackFrames: UInt32) {
        state.withLock { s in
            s.maximumFrames = max(maximumFrames, UInt32(s.frames.count), GrantTableLimits.initialFrames)
        }
        maptrack.withLock { $0.maximumFrames = maximumMaptrackFrames }
    }

    /// The entry `ref` as the guest wrote it (flags, domid, frame), nil beyond the table.
    public func entry(_ ref: GrantReference) -> (flags: GrantEntryFlags, domain: DomainID, frame: UInt32)? {
        withEntries { s, entries -> (GrantEntryFlags, DomainID, UInt32)? in
            guard ref.rawValue < s.entryCount else { return nil }
            let e = entries.load(ref.rawValue)
            return (GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: e)), DomainID(UInt16(truncatingIfNeeded: e >> 16)),
                    UInt32(truncatingIfNeeded: e >> 32))
        } ?? nil
    }

    /// The pin count of entry `ref` (0 when unused). Xen: act->pin.
    func pin(_ ref: UInt32) -> UInt32 {
        state.withLock { s in ref < UInt32(s.active.count) ? s.active[Int(ref)].pin : 0 }
    }

    // MARK: Shared entries

    /// Runs `body` with the table locked and its shared entries reachable, unless the
    /// domain's memory was released (the frames may belong to someone else by then): nil.
    func withEntries<R>(_ body: (inout State, GrantSharedEntries) -> R) -> R? {
        state.withLock { s in
            memory.physmap.withLock { p -> R? in
                guard !p.released else { return nil }
                return body(&s, GrantSharedEntries(ram: memory.machine.memory, frames: s.frames))
            }
        }
    }

    /// Shared-entry work that must happen whether or not the frames are still live (unpins
    /// after the granter died): `body` gets nil entries once the memory is released.
    func withState<R>(_ body: (inout State, GrantSharedEntries?) -> R) -> R {
        state.withLock { s in
            memory.physmap.withLock { p -> R in
                body(&s, p.released ? nil : GrantSharedEntries(ram: memory.machine.memory, frames: s.frames))
            }
        }
    }

    // MARK: Growth

    /// Adds shared frames (and their active entries) up to `frames`; either all or none.
    /// Xen: gnttab_grow_table (which also refuses to grow past max_grant_frames).
    func grow(_ s: inout State, to frames: UInt32) -> Bool {
        let target = max(frames, GrantTableLimits.initialFrames)
        guard target > UInt32(s.frames.count) else { return true }
        guard target <= s.maximumFrames else { return false }
        var added: [MachineFrame] = []
        for _ in UInt32(s.frames.count)..<target {
            guard let f = try? memory.shareKiteFrame(writable: true) else {
                for f in added { memory.machine.unshareKiteFrame(f, from: domain) }
                return false
            }
            added.append(f)
        }
        s.frames += added
        s.active += repeatElement(ActiveGrantEntry(), count: added.count * GrantEntryV1.perFrame)
        return true
    }
}
