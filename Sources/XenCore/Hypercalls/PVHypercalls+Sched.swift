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
        case .poll:
            let p = try vcpu.readGuestStruct(args[1], size: SchedPollLayout.size)
            try vcpu.poll(
                ports: p.u64(SchedPollLayout.ports), count: p.u32(SchedPollLayout.portCount),
                timeout: p.u64(SchedPollLayout.timeout))
            return .success
        case .remoteShutdown, .pinOverride:
            throw .EPERM
        case .watchdog:
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
    /// Xen: vcpu_block_enable_events() — enable events, then sleep until one is pending
    /// (an upcall, possibly raised by this vCPU's own timer), the vCPU is taken down or the
    /// domain shuts down.
    func block() {
        upcallMask = 0
        guard upcallPending == 0 else { return }
        forgetStaleWake()
        sleep(until: { $0.upcallPending != 0 }, timeout: nil)
    }

    /// Xen: do_poll() — sleeps until one of `count` ports at `ports` becomes pending (any
    /// newly pending port when there are several or none), an upcall is raised, or the
    /// absolute system time `timeout` (0: none) passes. Events stay masked.
    func poll(ports: UInt64, count: UInt32, timeout: UInt64) throws(XenError) {
        guard count <= SchedPollLayout.maxPorts else { throw .EINVAL }
        guard Self.accessOK(ports, count: UInt64(count) * 4) else { throw .EFAULT }
        let ev = eventState
        forgetStaleWake()
        // Register before looking at the ports, so an event raised meanwhile ends the poll.
        ev.poll.withLock { $0 = PollState(target: .anyPort, woken: false) }
        domain.events.pollerCount.add(1, ordering: .relaxed)
        defer { stopPolling(ev) }
        if upcallPending != 0 && upcallMask == 0 { return }
        var port: UInt32 = 0
        for i in 0..<UInt64(count) {
            port = try readGuest(UInt32.self, at: ports &+ i &* 4)
            if try domain.pollPort(port) { return }
        }
        if count == 1 {
            ev.poll.withLock { if $0.target != nil { $0.target = .port(port) } }
        }
        sleep(until: { $0.eventState.poll.withLock { $0.woken } }, timeout: timeout == 0 ? nil : timeout)
    }

    private func stopPolling(_ ev: VCPUEventState) {
        let wasPolling = ev.poll.withLock { poll -> Bool in
            defer { poll = PollState() }
            return poll.target != nil
        }
        if wasPolling { domain.events.pollerCount.subtract(1, ordering: .relaxed) }
    }

    /// Sleeps in the blocked runstate until `done`, the system-time `timeout`, the vCPU
    /// going offline or the domain shutting down; this vCPU's timers keep firing meanwhile.
    private func sleep(until done: (PVVCPU) -> Bool, timeout: UInt64?) {
        pv.eventLocal.sleeping = true
        changeRunstate(to: .blocked)
        while !done(self) && domain.shutdownState == nil && isOnline {
            if let timeout, domain.clock.systemTime() >= timeout { break }
            var deadline = nextTimerDeadline()
            if let timeout, let t = domain.clock.hostTime(ofSystemTime: timeout) {
                deadline = min(deadline ?? t, t)
            }
            waitForWake(deadline: deadline)
            checkTimers()
        }
        pv.eventLocal.sleeping = false
        if isOnline { changeRunstate(to: .running) }
    }

    /// Drops a wake-up left over from before this sleep (a kick that found the vCPU
    /// running): what it announced is re-checked by the caller after this point.
    private func forgetStaleWake() {
        wakeCondition.lock()
        wakeRequested = false
        wakeHint.store(false, ordering: .releasing)
        wakeCondition.unlock()
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
