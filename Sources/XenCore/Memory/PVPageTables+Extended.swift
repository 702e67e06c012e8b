import GuestMemory
import X86
import XenABI

/// mmuext_op. Xen: do_mmuext_op (xen/arch/x86/mm.c).
extension PVPageTables {
    /// The most LDT entries MMUEXT_SET_LDT accepts. Xen: the `ents > 8192` check.
    public static let maximumLDTEntries: UInt32 = 8192

    /// Checks mmuext_op's `foreigndom` once per call: only the caller itself passes (unknown
    /// domains and the caller's explicit id: -ESRCH; anyone else: -EPERM).
    /// Xen: get_pg_owner + xsm_mmuext_op in do_mmuext_op's prologue.
    public func checkExtendedForeignDomain(_ foreignDomain: UInt32, caller: DomainID) throws(XenError) {
        let id = DomainID(UInt16(truncatingIfNeeded: foreignDomain))
        switch id {
        case .selfDomain: return
        case caller: throw .ESRCH
        case .io, .xen: throw .EPERM
        default: throw machine.domainExists(id) ? .EPERM : .ESRCH
        }
    }

    /// One mmuext_op request for the calling vCPU. For TLB_FLUSH_MULTI and INVLPG_MULTI the
    /// caller reads the vCPU bitmap arg2 points at (`VCPUBitmap.wordCount(maxVCPUs:)` words)
    /// and passes it, or nil when it could not be read (-EINVAL, as Xen).
    public func mmuextOp(_ request: MMUExtRequest, context: inout MMUContext, vcpuBitmap: VCPUBitmap? = nil,
                         actions: inout MMUActions) throws(XenError) {
        guard let command = request.command else { throw .ENOSYS }
        let owner = context.domain.rawValue
        let mfn = request.arg1
        switch command {
        case .pinL1Table, .pinL2Table, .pinL3Table, .pinL4Table:
            let type: PageType = [.l1, .l2, .l3, .l4][Int(command.rawValue)]
            try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                try s.pin(mfn, as: type, owner: owner)
            }
        case .unpinTable:
            try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                try s.unpin(mfn, owner: owner)
            }
        case .newBaseptr:
            try newBase(mfn, context: &context, actions: &actions)
        case .newUserBaseptr:
            try newUserBase(mfn, context: &context, actions: &actions)
        case .tlbFlushLocal:
            actions.append(.flushTLB(.currentVCPU, .all))
        case .invlpgLocal:
            // Xen: paging_invlpg ignores non-canonical addresses.
            if pvIsCanonical(mfn) { actions.append(.flushTLB(.currentVCPU, .address(mfn))) }
        case .tlbFlushMulti, .invlpgMulti:
            guard let vcpuBitmap else { throw .EINVAL }
            if command == .tlbFlushMulti {
                actions.append(.flushTLB(.vcpus(vcpuBitmap), .all))
            } else if pvAddressOK(mfn) && pvIsCanonical(mfn) {
                actions.append(.flushTLB(.vcpus(vcpuBitmap), .address(mfn)))
            }
        case .tlbFlushAll:
            actions.append(.flushTLB(.allVCPUs, .all))
        case .invlpgAll:
            if pvAddressOK(mfn) && pvIsCanonical(mfn) { actions.append(.flushTLB(.allVCPUs, .address(mfn))) }
        case .flushCache:
            throw .EACCES  // Xen: !cache_flush_permitted (no Kite guest has I/O rights)
        case .flushCacheGlobal:
            throw .EINVAL
        case .setLDT:
            // Xen reads the nr_ents member of the arg2 union: its low 32 bits.
            let entries = UInt32(truncatingIfNeeded: request.arg2)
            let base = entries != 0 ? request.arg1 : 0
            guard base & 0xFFF == 0, pvAddressOK(base), entries <= Self.maximumLDTEntries else { throw .EINVAL }
            actions.append(.setLDT(base: base, entries: entries))
        case .clearPage:
            try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                guard s.getPage(mfn, owner: owner) else { throw .EINVAL }
                guard s.getPageType(mfn, .writable) == nil else {
                    s.putPage(mfn)
                    throw .EINVAL
                }
                s.ram.zero(MachineFrame(mfn))
                s.putPageAndType(mfn)
            }
        case .copyPage:
            let source = request.arg2
            try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                guard s.getPage(source, owner: owner) else { throw .EINVAL }
                guard s.getPage(mfn, owner: owner) else {
                    s.putPage(source)
                    throw .EINVAL
                }
                guard s.getPageType(mfn, .writable) == nil else {
                    s.putPage(source)
                    s.putPage(mfn)
                    throw .EINVAL
                }
                if let from = s.ram.pointer(to: MachineFrame(source)), let to = s.ram.pointer(to: MachineFrame(mfn)) {
                    to.copyMemory(from: UnsafeRawPointer(from), byteCount: Int(pageSize))
                    s.ram.noteWrite(MachineFrame(mfn).address, length: pageSize)
                }
                s.putPageAndType(mfn)
                s.putPage(source)
            }
        case .markSuper, .unmarkSuper:
            throw .EOPNOTSUPP
        }
    }

    /// Xen: new_guest_cr3 for a 64-bit guest.
    private func newBase(_ mfn: UInt64, context: inout MMUContext, actions: inout MMUActions) throws(XenError) {
        if context.kernelBase?.rawValue == mfn {
            // Xen reloads CR3 and returns; no reference changes.
            actions.append(.setKernelBase(MachineFrame(mfn)))
            actions.append(.flushTLB(.currentVCPU, .all))
            return
        }
        let owner = context.domain.rawValue
        let old = context.kernelBase?.rawValue
        let strict = context.m2pStrict
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            if let e = s.getPageAndType(mfn, .l4, owner: owner) { throw e }
            if !strict { s.fillMachineToPhysSlot(mfn) }
            if let old { s.releaseBase(old, owner: owner) }
        }
        context.kernelBase = MachineFrame(mfn)
        actions.append(.invalidateLDTShadow(.currentVCPU))
        actions.append(.setKernelBase(MachineFrame(mfn)))
        actions.append(.flushTLB(.currentVCPU, .all))
    }

    /// Xen: the MMUEXT_NEW_USER_BASEPTR arm of do_mmuext_op.
    private func newUserBase(_ mfn: UInt64, context: inout MMUContext, actions: inout MMUActions) throws(XenError) {
        let old = context.userBase?.rawValue ?? 0
        guard old != mfn else { return }
        let owner = context.domain.rawValue
        let strict = context.m2pStrict
        try machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
            if mfn != 0 {
                if let e = s.getPageAndType(mfn, .l4, owner: owner) { throw e }
                if strict { s.zapMachineToPhysSlot(mfn) }
            }
            if old != 0 { s.releaseBase(old, owner: owner) }
        }
        context.userBase = mfn == 0 ? nil : MachineFrame(mfn)
        actions.append(.setUserBase(context.userBase))
    }
}

extension MemoryState {
    /// Xen: fill_ro_mpt — put the M2P back into slot 256 if it was taken out.
    mutating func fillMachineToPhysSlot(_ l4: UInt64) {
        let address = (l4 << 12) + UInt64(XenL4Slots.machineToPhys) * 8
        if entry(at: address) == 0 { writeEntry(at: address, machineToPhysL4Entry) }
    }

    /// Xen: zap_ro_mpt — m2p_strict hides the M2P from user-mode tables.
    mutating func zapMachineToPhysSlot(_ l4: UInt64) {
        writeEntry(at: (l4 << 12) + UInt64(XenL4Slots.machineToPhys) * 8, 0)
    }
}
