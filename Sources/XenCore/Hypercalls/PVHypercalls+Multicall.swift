import XenABI

extension PVHypercalls {
    /// Xen: multicall_entry_t for 64-bit guests — op @0, result @8, args[6] @16.
    static let multicallEntrySize = 64
    /// Entries run per invocation before the multicall yields with a continuation.
    static let multicallEntriesPerInvocation: UInt64 = 64

    /// Xen: do_multicall (common/multicall.c). Entries run in order, each result stored
    /// back; a nested multicall gets -EINVAL; iret or a shutdown ends the batch.
    static func multicall(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let list = args[0]
        let count = args[1] & 0xFFFF_FFFF
        var i: UInt64 = 0
        while i < count {
            if i >= multicallEntriesPerInvocation {
                var next = args
                next[0] = list &+ i &* UInt64(multicallEntrySize)
                next[1] = count - i
                return .preempted(next)
            }
            let entryAddress = list &+ i &* UInt64(multicallEntrySize)
            let e = try vcpu.readGuestStruct(entryAddress, size: multicallEntrySize)
            let op = e.u64(0)
            var entryArgs = HypercallArguments((0..<6).map { e.u64(16 + 8 * $0) })
            var result: UInt64
            if op == Hypercall.multicall.rawValue {
                result = XenError.EINVAL.returnValue
            } else {
                // A preempted entry is simply resumed here until it completes.
                var outcome = vcpu.call(op, entryArgs)
                while case .preempted(let more) = outcome, vcpu.domain.shutdownState == nil {
                    entryArgs = more
                    outcome = vcpu.call(op, entryArgs)
                }
                switch outcome {
                case .value(let v): result = v
                case .registersLoaded, .preempted: return .registersLoaded
                }
            }
            try vcpu.writeGuest(result, at: entryAddress &+ 8)
            if vcpu.domain.shutdownState != nil { return .success }
            i += 1
        }
        return .success
    }
}
