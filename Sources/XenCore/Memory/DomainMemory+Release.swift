import GuestMemory
import XenABI

/// What destroying a domain's memory achieved.
public struct ReleaseReport: Equatable, Sendable {
    /// Frames returned to the free pool (the domain's, its shared Kite frames, its Kite tables).
    public var freedFrames: UInt64
    /// Frames still referenced from elsewhere; they stay owned by the dying domain and are
    /// freed by their last reference. Empty unless another domain maps them (issue 4) or a
    /// caller kept a base or descriptor reference it did not pass in.
    public var remainingFrames: [MachineFrame]
}

extension DomainMemory {
    /// Releases all of the domain's memory once its vCPUs are stopped for good: drops the
    /// vCPUs' base-pointer and descriptor-page references passed in, unpins every table,
    /// forcibly de-validates top-level tables still validated (Xen's way of breaking
    /// reference loops), drops every allocation reference and frees Kite's per-domain
    /// tables. The domain can allocate nothing afterwards.
    /// Xen: domain_relinquish_resources / relinquish_memory, vcpu_destroy_pagetables.
    public func release(vcpuBases: [MachineFrame] = [], descriptorPages: [MachineFrame] = []) -> ReleaseReport {
        let d = domain.rawValue
        return physmap.withLock { p in
            p.released = true
            p.p2m = [:]
            p.reverse = [:]
            return machine.state.withLock { s in
                let freedBefore = s.effects.freedFrames
                s.accounts[d]?.dying = true
                let perDomainL3 = s.accounts[d]?.perDomainL3
                s.accounts[d]?.perDomainL3 = nil
                for b in vcpuBases { s.releaseBase(b.rawValue, owner: d) }
                for g in descriptorPages { s.releaseDescriptorPage(g.rawValue, owner: d) }
                // Unpin everything (Xen: relinquish_memory's PGT_pinned pass).
                for i in 0..<s.frames.count where s.frames[i].owner == d && s.frames[i].flags.contains(.pinned) {
                    s.frames[i].flags.remove(.pinned)
                    s.putPageAndType(UInt64(i))
                }
                // Top-most tables still validated are held only by references nobody will drop.
                for type in [PageType.l4, .l3, .l2] {
                    for i in 0..<s.frames.count where s.frames[i].owner == d && s.frames[i].type == type
                        && s.frames[i].flags.contains(.validated) && s.frames[i].typeCount > 0 {
                        s.frames[i].flags.remove(.validated)
                        s.devalidate(UInt64(i), as: type)
                    }
                }
                // Allocation references last: frames nothing else holds are freed here.
                for i in 0..<s.frames.count where s.frames[i].owner == d && s.frames[i].flags.contains(.allocated) {
                    if s.frames[i].flags.contains(.xenShared) {
                        s.putPageType(UInt64(i))  // the share's own type reference
                    }
                    s.frames[i].flags.remove(.allocated)
                    s.putPage(UInt64(i))
                }
                if let perDomainL3 { s.freeKiteTree(perDomainL3, level: 3) }
                var remaining: [MachineFrame] = []
                for i in 0..<s.frames.count where s.frames[i].owner == d { remaining.append(MachineFrame(UInt64(i))) }
                if remaining.isEmpty { s.accounts[d] = nil }
                let freed = s.effects.freedFrames - freedBefore
                s.effects = OperationEffects()
                return ReleaseReport(freedFrames: freed, remainingFrames: remaining)
            }
        }
    }
}

extension MemoryState {
    /// Frees a Kite-owned table and the Kite tables below it (not the frames leaves map).
    mutating func freeKiteTree(_ table: UInt64, level: Int) {
        guard table < frameCount, frames[Int(table)].owner == DomainID.xen.rawValue else { return }
        if level > 1 {
            for slot in 0..<UInt64(512) {
                let e = entry(at: (table << 12) + slot * 8)
                if e & PVEntry.present != 0 { freeKiteTree(PVEntry.frame(e), level: level - 1) }
            }
        }
        putPage(table)
    }
}
