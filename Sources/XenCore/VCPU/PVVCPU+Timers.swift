import GuestMemory
import XenABI

/// What only the vCPU's own thread reads and writes (kept in `PVState`).
struct VCPUEventLocal {
    /// The shared per-vCPU state, looked up once.
    var state: VCPUEventState?
    /// The owner last left the runstate at running.
    var runstateRunning = false
    /// Inside SCHEDOP_block/poll: the loop must not mark the vCPU running.
    var sleeping = false
}

/// The vCPU's timers (Xen: singleshot_timer, periodic_timer) and the per-loop bookkeeping
/// of its event state. `checkTimers` runs before each return to the guest.
extension PVVCPU {
    /// This vCPU's shared event state (own thread; other threads use `domain.eventState`).
    var eventState: VCPUEventState {
        if let s = pv.eventLocal.state { return s }
        // Always found for a vCPU of its domain; a detached state keeps a vCPU that is not
        // (yet) in `domain.vcpus` working without ever being reachable by events.
        let s = domain.eventState(id.rawValue)
            ?? VCPUEventState(id: id, vcpuInfo: pv.vcpuInfo?.rawValue, now: domain.clock.systemTime())
        pv.eventLocal.state = s
        return s
    }

    /// Fires expired timers (raises VIRQ_TIMER) and applies what other threads asked of
    /// this vCPU (a moved vcpu_info, a runstate change); called before each return to the
    /// guest. The common case is two atomic loads and a clock read.
    func checkTimers() {
        let ev = eventState
        if !pv.eventLocal.runstateRunning || ev.ownerWork.load(ordering: .relaxed) != 0 {
            performOwnerWork(ev)
        }
        let now = domain.clock.systemTime()
        guard now >= ev.nextDeadline.load(ordering: .relaxed) else { return }
        let fire = ev.timers.withLock { timers -> Bool in
            let fire = timers.expire(now: now)
            ev.nextDeadline.store(timers.nextDeadline, ordering: .relaxed)
            return fire
        }
        // Xen: send_timer_event() — nothing happens while VIRQ_TIMER is unbound.
        if fire { domain.sendVCPUVIRQ(VIRQ.timer, vcpu: id.rawValue) }
    }

    /// Host monotonic ns of the next timer of this vCPU; nil while none is armed.
    func nextTimerDeadline() -> UInt64? {
        domain.clock.hostTime(ofSystemTime: eventState.nextDeadline.load(ordering: .relaxed))
    }

    private func performOwnerWork(_ ev: VCPUEventState) {
        let work = ev.ownerWork.exchange(0, ordering: .acquiring)
        if work & VCPUEventState.OwnerWork.vcpuInfoMoved != 0 {
            pv.vcpuInfo = ev.vcpuInfo.map { MachineAddress($0) }
        }
        ev.initialised.store(true, ordering: .relaxed)
        let state = ev.runstate.withLock { $0.state }
        if state != .running && isOnline && !pv.eventLocal.sleeping {
            changeRunstate(to: .running)
        } else if work & VCPUEventState.OwnerWork.runstateChanged != 0 {
            publishRunstate()
        }
        pv.eventLocal.runstateRunning = ev.runstate.withLock { $0.state } == .running
    }
}

extension Domain {
    /// Xen: vcpu_set_periodic_timer() — 0 stops it. A period that has already elapsed
    /// since the last tick fires at once, as in Xen.
    func setPeriodicTimer(vcpu: UInt32, period: UInt64) {
        guard let ev = eventState(vcpu) else { return }
        let now = clock.systemTime()
        let fire = ev.timers.withLock { t -> Bool in
            t.periodicPeriod = period
            var fire = false
            if period != 0 {
                let (next, overflow) = t.periodicLast.addingReportingOverflow(period)
                if !overflow && now >= next {
                    t.periodicLast = now
                    fire = true
                }
            }
            ev.nextDeadline.store(t.nextDeadline, ordering: .relaxed)
            return fire
        }
        if fire { sendVCPUVIRQ(VIRQ.timer, vcpu: vcpu) }
        // A blocked vCPU recomputes how long to sleep.
        self.vcpu(vcpu)?.kick()
    }

    /// Xen: set_timer()/stop_timer() on v->singleshot_timer (system ns; nil stops it).
    /// A deadline already past fires on the vCPU's next check.
    func setSingleshotTimer(vcpu: UInt32, deadline: UInt64?) {
        guard let ev = eventState(vcpu) else { return }
        ev.timers.withLock { t in
            t.singleshot = deadline
            ev.nextDeadline.store(t.nextDeadline, ordering: .relaxed)
        }
        self.vcpu(vcpu)?.kick()
    }
}

extension DomainClock {
    /// The host monotonic time of a system time; nil for "never" (UInt64.max) or overflow.
    func hostTime(ofSystemTime ns: UInt64) -> UInt64? {
        guard ns != .max else { return nil }
        let (host, overflow) = originNanoseconds.addingReportingOverflow(ns)
        return overflow ? nil : host
    }
}
