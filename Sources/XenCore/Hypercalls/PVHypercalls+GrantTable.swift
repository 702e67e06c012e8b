import GuestMemory
import XenABI

extension PVHypercalls {
    /// Operations of a batch handled per invocation before the call yields with a
    /// continuation (a multiple of the unmap batch).
    static let grantOperationsPerInvocation: UInt32 = 256
    /// Xen: GNTTAB_UNMAP_BATCH_SIZE — unmaps between two TLB flushes.
    static let grantUnmapBatch: UInt32 = 32

    /// Xen: do_grant_table_op (common/grant_table.c): `cmd` (low 12 bits; the bits above
    /// only for cache_flush's continuation), `uop` array, `count`. Each element carries its
    /// own GNTST status; the call itself returns 0 unless it fails as a whole.
    static func grantTableOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let raw = UInt32(truncatingIfNeeded: args[0])
        let uop = args[1]
        let count = UInt32(truncatingIfNeeded: args[2])
        // Xen: "(int)count < 0".
        guard count <= UInt32(Int32.max) else { throw .EINVAL }
        let command = raw & GrantTableOp.commandMask
        if command != GrantTableOp.cacheFlush.rawValue && raw & ~GrantTableOp.commandMask != 0 { throw .EINVAL }
        guard let op = GrantTableOp(rawValue: command), vcpu.domain.grants != nil else { throw .ENOSYS }
        switch op {
        case .setupTable: return try grantSetupTable(vcpu, uop, count)
        case .querySize: return try grantQuerySize(vcpu, uop, count)
        case .setVersion: return try grantSetVersion(vcpu, uop)
        case .getVersion: return try grantGetVersion(vcpu, uop)
        case .getStatusFrames: return try grantGetStatusFrames(vcpu, uop, count)
        // Xen dropped dump_table, and cache_flush on x86 (4.21): both unknown commands now.
        case .dumpTable, .cacheFlush: throw .ENOSYS
        case .mapGrantRef, .copy, .swapGrantRef, .transfer:
            return try grantBatch(vcpu, args, op: op, uop: uop, count: count)
        case .unmapGrantRef, .unmapAndReplace:
            return try grantUnmapBatch(vcpu, args, op: op, uop: uop, count: count)
        }
    }

    // MARK: Batches

    /// The continuation of a batch stopped after `done` elements. Xen:
    /// hypercall_create_continuation(__HYPERVISOR_grant_table_op, "ihi", cmd, uop + done, count - done).
    private static func grantContinuation(_ args: HypercallArguments, op: GrantTableOp, uop: UInt64, count: UInt32, done: UInt32) -> HypercallOutcome {
        var next = args
        next[1] = uop &+ UInt64(done) * UInt64(op.argumentSize)
        next[2] = UInt64(count - done)
        return .preempted(next)
    }

    /// map_grant_ref, copy, swap_grant_ref and transfer: one element at a time, copied in,
    /// performed, its result copied out. Xen: gnttab_map_grant_ref, gnttab_copy,
    /// gnttab_swap_grant_ref, gnttab_transfer.
    private static func grantBatch(_ vcpu: PVVCPU, _ args: HypercallArguments, op: GrantTableOp, uop: UInt64, count: UInt32) throws(XenError) -> HypercallOutcome {
        let size = op.argumentSize
        // Xen: guest_handle_okay(uop, count).
        guard PVVCPU.accessOK(uop, count: UInt64(count) * UInt64(size)) else { throw .EFAULT }
        let domain = vcpu.domain
        var actions = MMUActions()
        defer { vcpu.apply(vcpu.mmuContext, actions) }
        var i: UInt32 = 0
        while i < count {
            if i >= grantOperationsPerInvocation { return grantContinuation(args, op: op, uop: uop, count: count, done: i) }
            let address = uop &+ UInt64(i) * UInt64(size)
            var a = try vcpu.readGuestStruct(address, size: size)
            typealias A = GrantTableArgs
            switch op {
            case .mapGrantRef:
                let result = domain.mapGrant(
                    hostAddress: a.u64(A.Map.hostAddress), flags: GrantMapFlags(rawValue: a.u32(A.Map.flags)),
                    ref: a.u32(A.Map.ref), dom: DomainID(a.u16(A.Map.dom)), base: vcpu.mmuContext.kernelBase,
                    actions: &actions)
                switch result {
                case .success(let (handle, frame)):
                    a.set(A.Map.status, 2, 0)
                    a.set(A.Map.handle, 4, UInt64(handle))
                    a.set(A.Map.deviceBusAddress, 8, frame << 12)
                case .failure(let status):
                    a.set(A.Map.status, 2, UInt64(UInt16(bitPattern: status.rawValue)))
                }
                // Xen copies the whole element back.
                try vcpu.copyToGuest(a.bytes, at: address)
            case .copy:
                func pointer(_ base: Int) -> GrantCopyPointer {
                    GrantCopyPointer(
                        refOrFrame: a.u64(base + A.Copy.pointerRefOrFrame), domain: DomainID(a.u16(base + A.Copy.pointerDomain)),
                        offset: a.u16(base + A.Copy.pointerOffset))
                }
                let status = domain.copyGrant(
                    source: pointer(A.Copy.source), destination: pointer(A.Copy.destination), length: a.u16(A.Copy.length),
                    flags: GrantCopyFlags(rawValue: a.u16(A.Copy.flags)))
                try vcpu.writeGuest(UInt16(bitPattern: status.rawValue), at: address &+ UInt64(A.Copy.status))
            case .swapGrantRef:
                let status = domain.swapGrantReferences(a.u32(A.Swap.refA), a.u32(A.Swap.refB))
                try vcpu.writeGuest(UInt16(bitPattern: status.rawValue), at: address &+ UInt64(A.Swap.status))
            case .transfer:
                // Kite never takes a page from a PV guest: GNTST_bad_page is the one status
                // that tells the guest the page is still its own (Xen's answer when
                // steal_page refuses a page).
                try vcpu.writeGuest(UInt16(bitPattern: GrantStatus.badPage.rawValue), at: address &+ UInt64(A.Transfer.status))
            default:
                throw .ENOSYS
            }
            i += 1
        }
        return .success
    }

    /// unmap_grant_ref and unmap_and_replace: batches of 32 take the mappings out of the
    /// caller's tables, the caller's vCPUs flush their TLBs, then the pins and references go.
    /// Xen: gnttab_unmap_grant_ref, gnttab_unmap_and_replace.
    private static func grantUnmapBatch(_ vcpu: PVVCPU, _ args: HypercallArguments, op: GrantTableOp, uop: UInt64, count: UInt32) throws(XenError) -> HypercallOutcome {
        let size = op.argumentSize
        guard PVVCPU.accessOK(uop, count: UInt64(count) * UInt64(size)) else { throw .EFAULT }
        let domain = vcpu.domain
        let base = vcpu.mmuContext.kernelBase
        var actions = MMUActions()
        defer { vcpu.apply(vcpu.mmuContext, actions) }
        var done: UInt32 = 0
        while done < count {
            if done >= grantOperationsPerInvocation { return grantContinuation(args, op: op, uop: uop, count: count, done: done) }
            let batch = min(count - done, grantUnmapBatch)
            var pending: [PendingUnmap] = []
            var fault: XenError?
            for j in 0..<batch {
                let address = uop &+ UInt64(done + j) * UInt64(size)
                let a: GuestStruct
                do { a = try vcpu.readGuestStruct(address, size: size) } catch {
                    fault = error
                    break
                }
                typealias U = GrantTableArgs.Unmap
                typealias R = GrantTableArgs.UnmapAndReplace
                let replace = op == .unmapAndReplace
                let (status, unmap) = domain.beginGrantUnmap(
                    handle: a.u32(replace ? R.handle : U.handle), hostAddress: a.u64(replace ? R.hostAddress : U.hostAddress),
                    busAddress: replace ? 0 : a.u64(U.deviceBusAddress), newAddress: replace ? a.u64(R.newAddress) : 0,
                    base: base, actions: &actions)
                if let unmap { pending.append(unmap) }
                do {
                    try vcpu.writeGuest(UInt16(bitPattern: status.rawValue), at: address &+ UInt64(replace ? R.status : U.status))
                } catch {
                    fault = error
                    break
                }
            }
            // Xen: gnttab_flush_tlb(current->domain), then unmap_common_complete.
            if !pending.isEmpty { domain.shootdownTLBs() }
            for p in pending { GrantMappings.completeUnmap(p, actions: &actions) }
            if let fault { throw fault }
            done += batch
        }
        return .success
    }

    // MARK: Single operations

    /// Xen: gnttab_setup_table — count must be 1; the frame list is checked as a whole
    /// (-EFAULT), each frame written is GNTST_bad_virt_addr if it faults.
    private static func grantSetupTable(_ vcpu: PVVCPU, _ uop: UInt64, _ count: UInt32) throws(XenError) -> HypercallOutcome {
        guard count == 1 else { throw .EINVAL }
        typealias A = GrantTableArgs.SetupTable
        let a = try vcpu.readGuestStruct(uop, size: A.size)
        let frameCount = a.u32(A.frameCount)
        let list = a.u64(A.frameList)
        guard PVVCPU.accessOK(list, count: UInt64(frameCount) * 8) else { throw .EFAULT }
        var status = GrantStatus.okay
        switch vcpu.domain.setupGrantTable(dom: DomainID(a.u16(A.dom)), frames: frameCount) {
        case .failure(let s): status = s
        case .success(let frames):
            for (i, f) in frames.enumerated() {
                do { try vcpu.writeGuest(f.rawValue, at: list &+ UInt64(i) * 8) } catch { status = .badVirtualAddress }
            }
        }
        try vcpu.writeGuest(UInt16(bitPattern: status.rawValue), at: uop &+ UInt64(A.status))
        return .success
    }

    /// Xen: gnttab_query_size — the whole structure is copied back.
    private static func grantQuerySize(_ vcpu: PVVCPU, _ uop: UInt64, _ count: UInt32) throws(XenError) -> HypercallOutcome {
        guard count == 1 else { throw .EINVAL }
        typealias A = GrantTableArgs.QuerySize
        var a = try vcpu.readGuestStruct(uop, size: A.size)
        switch vcpu.domain.queryGrantTableSize(dom: DomainID(a.u16(A.dom))) {
        case .failure(let s):
            a.set(A.status, 2, UInt64(UInt16(bitPattern: s.rawValue)))
        case .success(let (frames, maximum)):
            a.set(A.frameCount, 4, UInt64(frames))
            a.set(A.maximumFrameCount, 4, UInt64(maximum))
            a.set(A.status, 2, 0)
        }
        try vcpu.copyToGuest(a.bytes, at: uop)
        return .success
    }

    /// Xen: gnttab_set_version — the version in force is written back in every case.
    private static func grantSetVersion(_ vcpu: PVVCPU, _ uop: UInt64) throws(XenError) -> HypercallOutcome {
        let requested = try vcpu.readGuest(UInt32.self, at: uop)
        let (error, current) = vcpu.domain.setGrantTableVersion(requested)
        try vcpu.writeGuest(current, at: uop)
        if let error { throw error }
        return .success
    }

    /// Xen: gnttab_get_version — -ESRCH / -EPERM for other domains.
    private static func grantGetVersion(_ vcpu: PVVCPU, _ uop: UInt64) throws(XenError) -> HypercallOutcome {
        typealias A = GrantTableArgs.GetVersion
        let a = try vcpu.readGuestStruct(uop, size: A.size)
        let version = try vcpu.domain.grantTableVersion(dom: DomainID(a.u16(A.dom)))
        try vcpu.writeGuest(version, at: uop &+ UInt64(A.version))
        return .success
    }

    /// Xen: gnttab_get_status_frames — version 1 has none.
    private static func grantGetStatusFrames(_ vcpu: PVVCPU, _ uop: UInt64, _ count: UInt32) throws(XenError) -> HypercallOutcome {
        guard count == 1 else { throw .EINVAL }
        typealias A = GrantTableArgs.GetStatusFrames
        let a = try vcpu.readGuestStruct(uop, size: A.size)
        let status = vcpu.domain.grantStatusFrames(dom: DomainID(a.u16(A.dom)), count: a.u32(A.frameCount))
        try vcpu.writeGuest(UInt16(bitPattern: status.rawValue), at: uop &+ UInt64(A.status))
        return .success
    }
}
