import GuestMemory
import XenABI

extension PVHypercalls {
    /// Xen: MMU_UPDATE_PREEMPTED — set in `count` by a continuation, never by guests.
    static let mmuPreempted: UInt64 = 1 << 31
    /// Requests handled per invocation before the call yields with a continuation.
    static let mmuRequestsPerInvocation: UInt64 = 512

    /// Xen: do_mmu_update (arch/x86/mm.c): `req` array of {ptr, val}, `count`, `done`
    /// pointer (may be 0), `foreigndom`. Stops at the first failing request; `*done` says how
    /// many succeeded.
    static func mmuUpdate(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        guard let tables = vcpu.pageTables else { throw .ENOSYS }
        let owners = try tables.resolveForeignDomain(MMUForeignDomain(rawValue: UInt32(truncatingIfNeeded: args[3])), caller: vcpu.domain.id)
        return try batch(vcpu, args, entrySize: MMUUpdateRequest.size) { (bytes, context, actions) throws(XenError) in
            guard let request = MMUUpdateRequest(bytes: bytes) else { throw .EFAULT }
            try tables.mmuUpdate(request, context: &context, owners: owners, actions: &actions)
        }
    }

    /// Xen: do_mmuext_op (arch/x86/mm.c): `ops` array of mmuext_op_t, `count`, `done`, `foreigndom`.
    static func mmuextOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        guard let tables = vcpu.pageTables else { throw .ENOSYS }
        try tables.checkExtendedForeignDomain(UInt32(truncatingIfNeeded: args[3]), caller: vcpu.domain.id)
        return try batch(vcpu, args, entrySize: MMUExtRequest.size) { (bytes, context, actions) throws(XenError) in
            guard let request = MMUExtRequest(bytes: bytes) else { throw .EFAULT }
            let bitmap = request.command?.takesVCPUBitmap == true ? vcpu.readVCPUBitmap(at: request.arg2) : nil
            try tables.mmuextOp(request, context: &context, vcpuBitmap: bitmap, actions: &actions)
        }
    }

    /// The shared loop of mmu_update and mmuext_op: copy each request once, stop at the first
    /// error, report `*done`, perform the actions, yield every few hundred requests.
    private static func batch(
        _ vcpu: PVVCPU, _ args: HypercallArguments, entrySize: Int,
        _ perform: (ArraySlice<UInt8>, inout MMUContext, inout MMUActions) throws(XenError) -> Void
    ) throws(XenError) -> HypercallOutcome {
        var list = args[0]
        var count = args[1] & 0xFFFF_FFFF
        let donePointer = args[2]
        var done: UInt64 = 0
        if count & mmuPreempted != 0 {
            count &= ~mmuPreempted
            if donePointer != 0 { done = UInt64(try vcpu.readGuest(UInt32.self, at: donePointer)) }
        }
        var context = vcpu.mmuContext
        var actions = MMUActions()
        var failure: XenError?
        var processed: UInt64 = 0
        while processed < count {
            if processed >= mmuRequestsPerInvocation {
                vcpu.apply(context, actions)
                if donePointer != 0 { try vcpu.writeGuest(UInt32(truncatingIfNeeded: done), at: donePointer) }
                var next = args
                next[0] = list
                next[1] = (count - processed) | mmuPreempted
                return .preempted(next)
            }
            do {
                let bytes = try vcpu.copyFromGuest(list, count: entrySize)
                try perform(bytes[...], &context, &actions)
            } catch {
                failure = error
                break
            }
            list &+= UInt64(entrySize)
            processed += 1
            done += 1
        }
        vcpu.apply(context, actions)
        if donePointer != 0 { try vcpu.writeGuest(UInt32(truncatingIfNeeded: done), at: donePointer) }
        if let failure { throw failure }
        return .success
    }

    /// Xen: do_update_va_mapping (arch/x86/mm.c).
    static func updateVAMapping(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        try updateVA(vcpu, va: args[0], value: args[1], flags: args[2], foreign: nil)
    }

    /// Xen: do_update_va_mapping_otherdomain.
    static func updateVAMappingOtherDomain(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        try updateVA(vcpu, va: args[0], value: args[1], flags: args[2], foreign: DomainID(UInt16(truncatingIfNeeded: args[3])))
    }

    private static func updateVA(_ vcpu: PVVCPU, va: UInt64, value: UInt64, flags raw: UInt64, foreign: DomainID?) throws(XenError) -> HypercallOutcome {
        guard let tables = vcpu.pageTables else { throw .ENOSYS }
        let flags = UpdateVAFlags(rawValue: raw)
        var bitmap: VCPUBitmap?
        if case .bitmap(let pointer) = flags.target { bitmap = vcpu.readVCPUBitmap(at: pointer) }
        var actions = MMUActions()
        let context = vcpu.mmuContext
        defer { vcpu.apply(context, actions) }
        try tables.updateVAMapping(
            va: va, value: value, flags: flags, context: context, vcpuBitmap: bitmap, foreignDomain: foreign,
            actions: &actions)
        return .success
    }
}
