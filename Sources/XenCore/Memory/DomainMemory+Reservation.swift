import GuestMemory
import XenABI

/// What a reservation call (increase_reservation, decrease_reservation, populate_physmap)
/// may do once its arguments passed Xen's checks. The hypercall layer walks the extents
/// from `firstExtent` to `extentCount`, copying each extent in or out, and stops at the first
/// extent that throws (or to preempt); the hypercall returns the number of extents done.
public struct ReservationPlan: Equatable, Sendable {
    public var operation: MemoryOp
    public var firstExtent: UInt64
    public var extentCount: UInt64
    public var extentOrder: UInt32
    /// Frames must lie below this machine frame (XENMEMF_address_bits).
    public var frameLimit: UInt64
}

extension DomainMemory {
    /// Xen's checks in do_memory_op / construct_memop_from_reservation and at the start of
    /// increase_reservation, decrease_reservation and populate_physmap. nil means the call
    /// returns `startExtent` at once (nothing done): too many extents to encode a
    /// continuation, start past the end, a target other than the caller, an extent order above
    /// 9, unsatisfiable address bits, or populate-on-demand on oneself.
    public func planReservation(_ r: MemoryReservation, operation: MemoryOp,
                                startExtent: UInt64 = 0) -> ReservationPlan? {
        guard operation == .increaseReservation || operation == .decreaseReservation
            || operation == .populatePhysmap else { return nil }
        guard r.extentCount <= UInt64(UInt32.max) >> MemoryOp.extentShift else { return nil }
        guard startExtent < r.extentCount else { return nil }
        // Xen: rcu_lock_domain_by_any_id + xsm_memory_adjust_reservation (XSM_TARGET).
        guard r.domain == .selfDomain || r.domain == domain else { return nil }
        var limit = machine.frameCount
        let bits = r.addressBits
        if bits != 0 && UInt64(bits) < ordersToCover(machine.frameCount) + 12 {
            guard bits > 12 else { return nil }
            limit = min(limit, 1 << UInt64(bits - 12))
        }
        guard r.extentOrder <= Self.maximumExtentOrder else { return nil }
        // Xen: "Disallow populating PoD pages on oneself."
        if operation == .populatePhysmap && r.memoryFlags & MemoryReservation.populateOnDemand != 0 { return nil }
        return ReservationPlan(operation: operation, firstExtent: startExtent, extentCount: r.extentCount,
                               extentOrder: r.extentOrder, frameLimit: limit)
    }

    /// Xen: get_order_from_pages.
    private func ordersToCover(_ pages: UInt64) -> UInt64 {
        var order: UInt64 = 0
        while order < 63 && (1 << order) < pages { order += 1 }
        return order
    }

    /// Allocates one extent of 2^order frames and records it at `gfn` in the p2m (and, for a PV
    /// guest, in the M2P). Returns the first machine frame (the value a PV guest receives).
    /// Throws -ENOMEM when the reservation is full or no suitable frames are free, -EINVAL
    /// when the guest frames would wrap. Xen: populate_physmap (one extent).
    public func populatePhysmap(gfn: GuestFrame, order: UInt32, frameLimit: UInt64? = nil) throws(XenError) -> MachineFrame {
        guard order <= 20 else { throw .EINVAL }
        let n: UInt64 = 1 << UInt64(order)
        guard gfn.rawValue <= UInt64.max - n else { throw .EINVAL }
        let d = domain.rawValue
        let translated = isTranslated
        let limit = frameLimit ?? machine.frameCount
        let mfn: UInt64? = physmap.withLock { p in
            guard !p.released else { return nil }
            let got: UInt64? = machine.state.withLock { s in
                guard let base = s.allocate(order: order, below: limit, owner: d, counted: true) else { return nil }
                if !translated {
                    for j in 0..<n { s.setMachineToPhys(base + j, gfn.rawValue + j) }
                }
                return base
            }
            guard let got else { return nil }
            for j in 0..<n {
                if let previous = p.p2m[gfn.rawValue + j] { p.reverse[previous] = nil }
                p.p2m[gfn.rawValue + j] = got + j
                p.reverse[got + j] = gfn.rawValue + j
            }
            return got
        }
        guard let mfn else { throw .ENOMEM }
        return MachineFrame(mfn)
    }

    /// `populatePhysmap` for one extent of a checked reservation call.
    public func populatePhysmap(gfn: GuestFrame, plan: ReservationPlan) throws(XenError) -> MachineFrame {
        try populatePhysmap(gfn: gfn, order: plan.extentOrder, frameLimit: plan.frameLimit)
    }

    /// Allocates one extent without placing it in the p2m; a PV guest sets up the M2P and its
    /// own p2m for it. Returns the first machine frame. Xen: increase_reservation (one extent).
    public func increaseReservation(plan: ReservationPlan) throws(XenError) -> MachineFrame {
        let d = domain.rawValue
        let mfn: UInt64? = physmap.withLock { p in
            guard !p.released else { return nil }
            return machine.state.withLock { s in
                s.allocate(order: plan.extentOrder, below: plan.frameLimit, owner: d, counted: true)
            }
        }
        guard let mfn else { throw .ENOMEM }
        return MachineFrame(mfn)
    }

    /// Gives back one extent: `extent` is a machine frame for a PV guest (Xen's gmfn), a guest
    /// frame for a translated one. Each frame loses its pin and its allocation reference; it
    /// is freed once nothing else references it (a frame still mapped stays the domain's until
    /// unmapped). Throws -EINVAL at the first frame that is not the domain's.
    /// Xen: decrease_reservation / guest_remove_page (one extent).
    public func decreaseReservation(extent: UInt64, order: UInt32, actions: inout MMUActions) throws(XenError) {
        guard order <= 20 else { throw .EINVAL }
        let n: UInt64 = 1 << UInt64(order)
        let d = domain.rawValue
        let translated = isTranslated
        let failed: Bool = physmap.withLock { p in
            for j in 0..<n {
                let (frame, overflow) = extent.addingReportingOverflow(j)
                guard !overflow else { return true }
                let mfn: UInt64
                if translated {
                    guard let m = p.p2m[frame] else { return true }
                    mfn = m
                } else {
                    mfn = frame
                }
                do {
                    try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                        try s.removeGuestPage(mfn, owner: d)
                    }
                } catch {
                    return true
                }
                if let g = p.reverse.removeValue(forKey: mfn), p.p2m[g] == mfn { p.p2m[g] = nil }
            }
            return false
        }
        if failed { throw .EINVAL }
    }

    /// `decreaseReservation` for one extent of a checked reservation call.
    public func decreaseReservation(extent: UInt64, plan: ReservationPlan, actions: inout MMUActions) throws(XenError) {
        try decreaseReservation(extent: extent, order: plan.extentOrder, actions: &actions)
    }
}

extension MemoryState {
    /// Xen: guest_remove_page for a frame of `owner`.
    mutating func removeGuestPage(_ mfn: UInt64, owner: UInt16) throws(XenError) {
        guard getPage(mfn, owner: owner) else { throw .EINVAL }
        let i = Int(mfn)
        guard !frames[i].flags.contains(.xenShared) else {
            // Kite refuses to give back a frame it shares (shared_info): it is not the domain's.
            putPage(mfn)
            throw .EINVAL
        }
        if frames[i].flags.contains(.pinned) {
            frames[i].flags.remove(.pinned)
            putPageAndType(mfn)
        }
        if frames[i].flags.contains(.allocated) {
            frames[i].flags.remove(.allocated)
            putPage(mfn)
        }
        setMachineToPhys(mfn, MachineToPhys.invalidEntry)
        putPage(mfn)
    }
}
