import XenABI

extension PVHypercalls {
    /// Xen: MILLISECS(100) — what a nonsensical deadline is turned into.
    static let hugeTimeoutFallback: UInt64 = 100_000_000

    /// Xen: do_set_timer_op (common/sched/core.c) — a one-shot VIRQ_TIMER at an absolute
    /// system time; 0 cancels. Deadlines that wrapped negative or lie more than 2^50 ns
    /// (about 13 days) ahead are Linux jiffy-wrap artefacts: Xen fires them in 100 ms.
    static func setTimerOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        let timeout = Int64(bitPattern: args[0])
        let domain = vcpu.domain
        let now = domain.clock.systemTime()
        if timeout == 0 {
            domain.setSingleshotTimer(vcpu: vcpu.id.rawValue, deadline: nil)
            return .success
        }
        let offset = timeout &- Int64(bitPattern: now)
        if timeout < 0 || (offset > 0 && (offset >> 50) != 0) {
            domain.setSingleshotTimer(vcpu: vcpu.id.rawValue, deadline: now &+ hugeTimeoutFallback)
        } else {
            domain.setSingleshotTimer(vcpu: vcpu.id.rawValue, deadline: UInt64(timeout))
        }
        return .success
    }
}
