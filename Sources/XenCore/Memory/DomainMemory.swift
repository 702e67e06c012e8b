import GuestMemory
import Synchronization
import XenABI

/// One domain's memory: its reservation (current and maximum pages), Kite's p2m record of
/// its pseudo-physical layout, its E820 map, the Kite frames it shares (shared_info), Kite's
/// per-domain table, and `release()` for destruction.
///
/// For a PV guest the frame table (who owns each machine frame) is what Xen enforces; the
/// guest keeps its own p2m and may rearrange the M2P with MMU_MACHPHYS_UPDATE. The p2m here
/// records what the domain builder and populate_physmap assigned (gfn → mfn) so the builder,
/// save/restore and later PVH translation have it. A translated (PVH/HVM) domain would use
/// it as the authoritative p2m; `isTranslated` is the seam.
///
/// Issue 4 seam (grants): a frame of this domain mapped by another holds references the other
/// domain's tables own; `release()` drops only this domain's own references and reports any
/// frame still referenced, which stays owned by the dying domain until its last reference
/// goes (Xen: a dying domain's pages are freed by the final put_page).
///
/// Locking: `physmap` (p2m, E820) is taken before `MachineMemory`'s lock, never after.
public final class DomainMemory: Sendable {
    public let domain: DomainID
    public let machine: MachineMemory
    /// False for PV guests: reservation hypercalls name machine frames where Xen says gmfn.
    public let isTranslated: Bool

    struct Physmap {
        var p2m: [UInt64: UInt64] = [:]
        var reverse: [UInt64: UInt64] = [:]
        var memoryMap: [E820Entry]
        var released = false
    }
    let physmap: Mutex<Physmap>

    /// Xen: CONFIG_DOMU_MAX_ORDER — the largest extent order a domU may ask for.
    public static let maximumExtentOrder: UInt32 = 9
    /// Xen: PERDOMAIN_VIRT_START — where `mapPerDomainPage` places frames (supervisor only).
    public static let perDomainAreaStart: UInt64 = 0xFFFF_8200_0000_0000
    /// Pages in the per-domain area (one L4 slot: 512 GiB).
    public static let perDomainAreaPages: UInt64 = 1 << 27

    /// Registers `domain` with machine memory, allowed up to `maximumPages` frames, with an
    /// E820 map of one RAM entry covering them (the builder may replace it).
    public init(machine: MachineMemory, domain: DomainID, maximumPages: UInt64,
                isTranslated: Bool = false) throws(MachineMemoryError) {
        guard domain < .firstReserved else { throw .invalidDomain(domain) }
        self.domain = domain
        self.machine = machine
        self.isTranslated = isTranslated
        let (bytes, overflow) = maximumPages.multipliedReportingOverflow(by: pageSize)
        let ram = E820Entry(address: 0, length: overflow ? UInt64.max & ~(pageSize - 1) : bytes, type: E820Entry.ram)
        physmap = Mutex(Physmap(memoryMap: [ram]))
        let result: MachineMemoryError? = machine.state.withLock { s in
            guard s.accounts[domain.rawValue] == nil else { return .domainExists(domain) }
            guard let l3 = s.allocate(order: 0, below: s.frameCount, owner: DomainID.xen.rawValue, counted: false) else {
                return .outOfFrames
            }
            s.accounts[domain.rawValue] = DomainAccount(maximumPages: maximumPages, perDomainL3: l3)
            return nil
        }
        if let result { throw result }
    }

    // MARK: Reservation

    /// Xen: d->tot_pages (XENMEM_current_reservation).
    public var currentPages: UInt64 {
        machine.state.withLock { s in s.accounts[domain.rawValue]?.totalPages ?? 0 }
    }

    /// Xen: d->max_pages (XENMEM_maximum_reservation).
    public var maximumPages: UInt64 {
        machine.state.withLock { s in s.accounts[domain.rawValue]?.maximumPages ?? 0 }
    }

    /// Xen: XEN_DOMCTL_max_mem. Lowering below the current count stops further growth only.
    public func setMaximumPages(_ pages: UInt64) {
        machine.state.withLock { s in s.accounts[domain.rawValue]?.maximumPages = pages }
    }

    /// Xen's XENMEM_current_reservation / XENMEM_maximum_reservation answer for `target` asked
    /// by this domain: (current, maximum). Another domain: -EPERM if it exists, else -ESRCH.
    public func reservation(of target: DomainID) throws(XenError) -> (current: UInt64, maximum: UInt64) {
        guard target == .selfDomain || target == domain else {
            throw machine.domainExists(target) ? .EPERM : .ESRCH
        }
        return machine.state.withLock { s in
            let a = s.accounts[domain.rawValue]
            return (a?.totalPages ?? 0, a?.maximumPages ?? 0)
        }
    }

    // MARK: p2m and memory map

    /// The machine frame Kite's p2m records for `gfn`.
    public func machineFrame(for gfn: GuestFrame) -> MachineFrame? {
        physmap.withLock { p in p.p2m[gfn.rawValue].map { MachineFrame($0) } }
    }

    /// The guest frame Kite's p2m records for `mfn`.
    public func guestFrame(for mfn: MachineFrame) -> GuestFrame? {
        physmap.withLock { p in p.reverse[mfn.rawValue].map { GuestFrame($0) } }
    }

    /// Number of entries in Kite's p2m.
    public var populatedFrameCount: Int { physmap.withLock { p in p.p2m.count } }

    /// The E820 map XENMEM_memory_map returns. The caller copies `min(capacity, count)`
    /// entries to the guest and writes the count back.
    public var memoryMap: [E820Entry] { physmap.withLock { p in p.memoryMap } }

    /// Xen: XENMEM_set_memory_map — more than E820MAX entries: -EINVAL.
    public func setMemoryMap(_ entries: [E820Entry]) throws(XenError) {
        guard entries.count <= E820Entry.maximumEntries else { throw .EINVAL }
        physmap.withLock { p in p.memoryMap = entries }
    }

    // MARK: Xen-shared frames

    /// A zeroed Kite frame shared with this domain (its shared_info page): owned by the domain
    /// for mapping purposes, not counted in its reservation, M2P invalid, and typed so that it
    /// can never become a page table — writable (`writable`) or read-only.
    /// Xen: alloc_xenheap_page + share_xen_page_with_guest(page, d, SHARE_rw / SHARE_ro).
    public func shareKiteFrame(writable: Bool = true) throws(XenError) -> MachineFrame {
        let d = domain.rawValue
        let f: UInt64? = machine.state.withLock { s in
            guard var a = s.accounts[d], !a.dying else { return nil }
            guard let mfn = s.allocate(order: 0, below: s.frameCount, owner: d, counted: false) else { return nil }
            a.xenPages += 1
            s.accounts[d] = a
            s.frames[Int(mfn)].flags = [.allocated, .xenShared, .validated]
            s.frames[Int(mfn)].type = writable ? .writable : .none
            s.frames[Int(mfn)].typeCount = 1
            return mfn
        }
        guard let f else { throw .ENOMEM }
        return MachineFrame(f)
    }
}
