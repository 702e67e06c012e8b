import XenABI
import XenControl

extension PVHypercalls {
    /// Xen: do_sched_op (common/sched/core.c).
    static func schedOp(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        guard let op = SchedOp(rawValue: args[0] & 0xFFFF_FFFF) else { throw .ENOSYS }
        switch op {
        case .yield:
            return .success
        case .block:
            vcpu.block()
            return .success
        case .shutdown:
            let reason = try vcpu.readGuest(UInt32.self, at: args[1])
            vcpu.domain.shutdown(code: reason)
            return .success
        case .shutdownCode:
            let reason = try vcpu.readGuest(UInt32.self, at: args[1])
            vcpu.domain.recordShutdownCode(reason)
            return .success
        case .remoteShutdown, .pinOverride:
            throw .EPERM
        case .poll, .watchdog:
            throw .ENOSYS
        }
    }

    /// Xen: do_sched_op_compat — the same commands with a scalar argument.
    static func schedOpCompat(_ vcpu: PVVCPU, _ args: HypercallArguments) throws(XenError) -> HypercallOutcome {
        switch SchedOp(rawValue: args[0] & 0xFFFF_FFFF) {
        case .yield: return .success
        case .block:
            vcpu.block()
            return .success
        case .shutdown:
            vcpu.domain.shutdown(code: UInt32(truncatingIfNeeded: args[1]))
            return .success
        default:
            throw .ENOSYS
        }
    }
}

extension PVVCPU {
    /// Xen: vcpu_block_enable_events() — enable events, then sleep unless one is pending.
    func block() {
        upcallMask = 0
        while upcallPending == 0 && domain.shutdownState == nil {
            waitForWake(deadline: nextTimerDeadline())
            checkTimers()
        }
    }
}

extension Domain {
    /// SCHEDOP_shutdown with the guest's raw reason: unknown reasons are kept as the code
    /// and treated as a crash.
    func shutdown(code: UInt32) {
        let reason = ShutdownReason(rawValue: code) ?? .crash
        lifecycle.withLock { life in
            if life.pendingShutdownCode == nil { life.pendingShutdownCode = code }
        }
        shutdown(reason)
    }

    func recordShutdownCode(_ code: UInt32) {
        lifecycle.withLock { $0.pendingShutdownCode = code }
    }
}
