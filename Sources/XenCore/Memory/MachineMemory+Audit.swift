import XenABI

extension MachineMemory {
    /// Checks the frame table's invariants and returns one line per violation (empty when
    /// consistent): free frames carry no state and are in the free pool with an invalid M2P
    /// entry; used frames are out of the pool, referenced, owned by Kite or a domain with an
    /// account; every type reference comes with a general one; a pinned frame is an in-use
    /// page table; in-use page tables are validated and unused ones are not; linear counts
    /// vanish with the type count; each domain's page counts match the frames it owns.
    public func audit() -> [String] {
        state.withLock { s in
            var problems: [String] = []
            var total: [UInt16: UInt64] = [:]
            var shared: [UInt16: UInt64] = [:]
            func report(_ i: Int, _ what: String) {
                guard problems.count < 100 else { return }
                problems.append("mfn 0x\(String(i, radix: 16)): \(what) [\(FrameState(s.frames[i]))]")
            }
            for i in 0..<s.frames.count {
                let f = s.frames[i]
                let mfn = UInt64(i)
                if f.isFree {
                    if f.count != 0 || f.typeCount != 0 || f.type != .none || f.flags != [] || f.linear != 0 {
                        report(i, "free frame with state")
                    }
                    if !s.allocator.isFree(mfn) { report(i, "free frame missing from the pool") }
                    if s.machineToPhys(mfn) != MachineToPhys.invalidEntry { report(i, "free frame with an M2P entry") }
                    continue
                }
                if s.allocator.isFree(mfn) { report(i, "owned frame in the free pool") }
                if f.count == 0 { report(i, "owned frame without references") }
                if f.typeCount > f.count { report(i, "more type than general references") }
                if f.flags.contains(.pinned) && !(f.type.isPageTable && f.typeCount > 0) {
                    report(i, "pinned but not an in-use page table")
                }
                let dying = s.accounts[f.owner]?.dying ?? false  // forcibly de-validated tables
                if f.type.isPageTable && (f.typeCount > 0) != f.flags.contains(.validated) && !dying {
                    report(i, f.typeCount > 0 ? "in-use page table not validated" : "unused page table still validated")
                }
                if f.typeCount == 0 && f.linear != 0 { report(i, "linear count without type references") }
                if f.owner == DomainID.xen.rawValue { continue }
                guard s.accounts[f.owner] != nil else {
                    report(i, "owner has no account")
                    continue
                }
                if f.flags.contains(.xenShared) {
                    shared[f.owner, default: 0] += 1
                } else {
                    total[f.owner, default: 0] += 1
                }
            }
            for (owner, a) in s.accounts {
                if a.totalPages != total[owner, default: 0] {
                    problems.append("d\(owner): tot_pages \(a.totalPages) but owns \(total[owner, default: 0]) frames")
                }
                if a.xenPages != shared[owner, default: 0] {
                    problems.append(
                        "d\(owner): xenheap_pages \(a.xenPages) but has \(shared[owner, default: 0]) shared frames")
                }
            }
            var freeFrames: UInt64 = 0
            for i in 0..<s.frames.count where s.frames[i].isFree { freeFrames += 1 }
            if freeFrames != s.allocator.freeCount {
                problems.append("allocator counts \(s.allocator.freeCount) free frames, table \(freeFrames)")
            }
            return problems
        }
    }
}
