import GuestMemory
import XenABI

/// Kite's per-domain area: L4 slot 260 (0xFFFF820000000000) of every validated L4 of the
/// domain points at one Kite L3, under which Kite maps frames supervisor-only — for the
/// shadow GDT/LDT a vCPU's descriptor-table registers point at, as Xen's per-domain area
/// does. The guest kernel runs at CPL 3 and cannot reach it; the CPU's implicit supervisor
/// accesses (descriptor loads) can. Xen: create_perdomain_mapping, PERDOMAIN_VIRT_START.
///
/// Mapping a frame here takes no reference on it: the caller holds one (a descriptor-page
/// reference for a GDT frame, say) for as long as the mapping exists, and flushes the TLBs
/// of the vCPUs that may have used an entry it removes.
extension DomainMemory {
    /// The linear address of page `index` of the per-domain area.
    public static func perDomainAddress(page index: UInt64) -> UInt64 {
        perDomainAreaStart &+ (index &<< 12)
    }

    /// Maps `frame` at page `index` of the per-domain area, read-only unless `writable`.
    /// Throws -EINVAL for an index outside the area or a released domain, -ENOMEM when no
    /// frame is left for a table.
    public func mapPerDomainPage(_ index: UInt64, to frame: MachineFrame, writable: Bool) throws(XenError) {
        guard index < Self.perDomainAreaPages, frame.rawValue < machine.frameCount else { throw .EINVAL }
        let d = domain.rawValue
        let leaf = (frame.rawValue << 12) | PVEntry.present | PVEntry.accessed | PVEntry.dirty | PVEntry.noExecute
            | (writable ? PVEntry.writable : 0)
        let result: XenError? = machine.state.withLock { s in
            guard let l3 = s.accounts[d]?.perDomainL3 else { return .EINVAL }
            guard let address = s.perDomainEntryAddress(l3: l3, index: index, create: true) else { return .ENOMEM }
            s.writeEntry(at: address, leaf)
            return nil
        }
        if let result { throw result }
    }

    /// Removes the mapping at page `index` (if any).
    public func unmapPerDomainPage(_ index: UInt64) {
        guard index < Self.perDomainAreaPages else { return }
        let d = domain.rawValue
        machine.state.withLock { s in
            guard let l3 = s.accounts[d]?.perDomainL3,
                  let address = s.perDomainEntryAddress(l3: l3, index: index, create: false) else { return }
            s.writeEntry(at: address, 0)
        }
    }
}

extension MemoryState {
    /// The machine address of the L1 entry for per-domain page `index`, creating Kite's L2 and
    /// L1 tables on the way when `create` is set.
    mutating func perDomainEntryAddress(l3: UInt64, index: UInt64, create: Bool) -> UInt64? {
        var table = l3
        for shift in [UInt64(18), 9] {
            let address = (table << 12) + ((index >> shift) & 511) * 8
            let e = entry(at: address)
            if e & PVEntry.present != 0 {
                table = PVEntry.frame(e)
                continue
            }
            guard create,
                  let t = allocate(order: 0, below: frameCount, owner: DomainID.xen.rawValue, counted: false)
            else { return nil }
            writeEntry(at: address, (t << 12) | PVEntry.present | PVEntry.writable | PVEntry.accessed | PVEntry.dirty)
            table = t
        }
        return (table << 12) + (index & 511) * 8
    }
}
