import GuestMemory
import X86
import XenABI

/// update_va_mapping and update_va_mapping_otherdomain.
/// Xen: __do_update_va_mapping, map_guest_l1e (xen/arch/x86/mm.c, pv/mm.c).
extension PVPageTables {
    /// Sets the L1 entry mapping `va` in the calling vCPU's current tables (`context.kernelBase`;
    /// hypercalls come from guest kernel mode) to `value`, as MMU_NORMAL_PT_UPDATE would,
    /// then asks for the flush `flags` requests. When `flags` names a vCPU bitmap
    /// (`UpdateVAFlags.needsVCPUBitmap`) the caller passes it, or nil if it could not be read:
    /// the entry is still updated and the call fails with -EFAULT, as in Xen.
    ///
    /// `foreignDomain` is update_va_mapping_otherdomain's domid (nil for update_va_mapping):
    /// unknown domains give -ESRCH, other domains -EPERM.
    public func updateVAMapping(va: UInt64, value: UInt64, flags: UpdateVAFlags, context: MMUContext,
                                vcpuBitmap: VCPUBitmap? = nil, foreignDomain: DomainID? = nil,
                                actions: inout MMUActions) throws(XenError) {
        let caller = context.domain
        if let fd = foreignDomain {
            switch fd {
            case .selfDomain: break
            case caller: throw .ESRCH  // Xen: get_pg_owner refuses the caller's own id
            case .io, .xen: throw .EPERM
            default: throw machine.domainExists(fd) ? .EPERM : .ESRCH
            }
        }
        let base = context.kernelBase?.rawValue
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            guard let base, let (l1, address) = s.findL1Entry(for: va, base: base) else { throw .EINVAL }
            guard s.getPage(l1, owner: caller.rawValue) else { throw .EINVAL }
            defer { s.putPage(l1) }
            guard s.isLockable(l1), s.frames[Int(l1)].type == .l1 else { throw .EINVAL }
            if let e = s.modifyEntry(at: address, in: l1, level: .l1, new: value, preserveAD: false,
                                     pageOwner: caller.rawValue) { throw e }
        }
        let kind: TLBFlush
        switch flags.flushKind {
        case .none: return
        case .tlb: kind = .all
        case .invlpg:
            // Xen: paging_invlpg / INVLPG ignore non-canonical addresses.
            guard pvIsCanonical(va) else { return }
            kind = .address(va)
        }
        switch flags.target {
        case .local: actions.append(.flushTLB(.currentVCPU, kind))
        case .all: actions.append(.flushTLB(.allVCPUs, kind))
        case .bitmap:
            guard let vcpuBitmap else { throw .EFAULT }
            actions.append(.flushTLB(.vcpus(vcpuBitmap), kind))
        }
    }

    /// The machine address of the L1 entry that maps `va` under the top-level table `base`,
    /// or nil where Xen's map_guest_l1e fails (address in Xen's range, an L4 or L3 entry not
    /// present, an L2 entry not present or a superpage).
    public func l1EntryAddress(for va: UInt64, base: MachineFrame) -> MachineAddress? {
        machine.state.withLock { s in
            s.findL1Entry(for: va, base: base.rawValue).map { MachineAddress($0.1) }
        }
    }
}

extension MemoryState {
    /// Walks machine memory from `base` to the L1 entry for `va`: (L1 frame, entry address).
    /// Xen: map_guest_l1e, which reads the L2 entry through the linear page table.
    func findL1Entry(for va: UInt64, base: UInt64) -> (UInt64, UInt64)? {
        guard pvAddressOK(va), base < frameCount else { return nil }
        var table = base
        for level in stride(from: 4, through: 2, by: -1) {
            let index = (va >> UInt64(12 + 9 * (level - 1))) & 511
            let e = entry(at: (table << 12) + index * 8)
            guard e & PVEntry.present != 0 else { return nil }
            if level != 4 && e & PVEntry.pageSize != 0 { return nil }
            table = PVEntry.frame(e)
            guard table < frameCount else { return nil }
        }
        return (table, (table << 12) + ((va >> 12) & 511) * 8)
    }
}
