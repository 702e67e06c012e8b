import Synchronization
import XenABI

/// Per-vCPU event, timer, poll and runstate state that other threads touch (senders,
/// VCPUOP calls naming another vCPU, timers set for another vCPU). The owning vCPU's hot
/// path reads only the atomics. Lock order: the domain's port table, then these mutexes
/// (leaves), then the vCPU's wake condition.
final class VCPUEventState: Sendable {
    static let noAddress = UInt64.max
    /// Xen: the default 100 Hz ticker of every PV vCPU (pv_vcpu_initialise).
    static let defaultPeriod: UInt64 = 10_000_000

    let id: VCPUID
    /// Machine address of the vCPU's vcpu_info, `noAddress` while it has none (Xen's
    /// dummy_vcpu_info for vCPUs >= 32 before VCPUOP_register_vcpu_info).
    let vcpuInfoAddress: Atomic<UInt64>
    /// Earliest armed timer in system ns, `UInt64.max` when none: checkTimers' fast path.
    let nextDeadline = Atomic<UInt64>(UInt64.max)
    /// Work for the owning thread's next loop (`OwnerWork` bits).
    let ownerWork = Atomic<UInt32>(0)
    /// Xen: v->is_initialised — set by VCPUOP_initialise or when the vCPU first runs.
    let initialised = Atomic<Bool>(false)

    let timers = Mutex(VCPUTimers())
    let poll = Mutex(PollState())
    let runstate: Mutex<RunstateRecord>
    /// Guest areas registered through VCPUOP_register_* (addresses only).
    let areas = Mutex(VCPUGuestAreas())

    enum OwnerWork {
        /// vcpu_info moved by another vCPU: reload `pv.vcpuInfo`.
        static let vcpuInfoMoved: UInt32 = 1 << 0
        /// The runstate changed on another thread: rewrite the guest area.
        static let runstateChanged: UInt32 = 1 << 1
    }

    init(id: VCPUID, vcpuInfo: UInt64?, now: UInt64) {
        self.id = id
        vcpuInfoAddress = Atomic(vcpuInfo ?? Self.noAddress)
        runstate = Mutex(RunstateRecord(state: .offline, entryTime: now))
        nextDeadline.store(VCPUTimers().nextDeadline, ordering: .relaxed)
    }

    var vcpuInfo: UInt64? {
        let a = vcpuInfoAddress.load(ordering: .acquiring)
        return a == Self.noAddress ? nil : a
    }

    func requestOwnerWork(_ bits: UInt32) {
        ownerWork.bitwiseOr(bits, ordering: .releasing)
    }
}

/// Xen: v->singleshot_timer, v->periodic_period / periodic_last_event (system ns).
struct VCPUTimers: Sendable {
    var singleshot: UInt64?
    var periodicPeriod: UInt64 = VCPUEventState.defaultPeriod
    var periodicLast: UInt64 = 0

    /// The earliest deadline, `UInt64.max` when nothing is armed.
    var nextDeadline: UInt64 {
        var next = singleshot ?? .max
        if periodicPeriod != 0 {
            let (p, overflow) = periodicLast.addingReportingOverflow(periodicPeriod)
            next = min(next, overflow ? .max : p)
        }
        return next
    }

    /// Fires what expired at `now`; returns whether VIRQ_TIMER is due.
    /// Xen: the singleshot timer function and vcpu_periodic_timer_work_locked().
    mutating func expire(now: UInt64) -> Bool {
        var fire = false
        if let s = singleshot, now >= s {
            singleshot = nil
            fire = true
        }
        if periodicPeriod != 0 {
            let (next, overflow) = periodicLast.addingReportingOverflow(periodicPeriod)
            if !overflow && now >= next {
                periodicLast = now
                fire = true
            }
        }
        return fire
    }
}

/// Xen: v->poll_evtchn and the vCPU's bit in d->poll_mask.
struct PollState: Sendable {
    enum Target: Equatable, Sendable {
        /// Several (or no) ports: any newly pending port of the domain wakes the poller.
        case anyPort
        case port(UInt32)
    }
    var target: Target?
    /// Set when the poll was ended by an event (not by its timeout).
    var woken = false
}

/// Xen: v->runstate — state, entry time and time spent in each state.
struct RunstateRecord: Sendable {
    var state: Runstate
    var entryTime: UInt64
    var time: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(state: Runstate, entryTime: UInt64) {
        self.state = state
        self.entryTime = entryTime
    }

    /// Xen: vcpu_runstate_change()
    mutating func change(to new: Runstate, now: UInt64) {
        let delta = now >= entryTime ? now - entryTime : 0
        add(delta, to: state)
        state = new
        entryTime = now
    }

    /// Xen: vcpu_runstate_get() — the current state's time counted up to `now`.
    func snapshot(now: UInt64) -> RunstateRecord {
        var copy = self
        copy.add(now >= entryTime ? now - entryTime : 0, to: state)
        return copy
    }

    private mutating func add(_ delta: UInt64, to s: Runstate) {
        switch s {
        case .running: time.0 &+= delta
        case .runnable: time.1 &+= delta
        case .blocked: time.2 &+= delta
        case .offline: time.3 &+= delta
        }
    }

    /// The 48-byte vcpu_runstate_info, with XEN_RUNSTATE_UPDATE set if asked.
    func encoded(updating: Bool = false) -> [UInt8] {
        var g = GuestStruct(bytes: [UInt8](repeating: 0, count: RunstateInfoLayout.size))
        g.set(RunstateInfoLayout.state, 4, UInt64(UInt32(bitPattern: state.rawValue)))
        g.set(RunstateInfoLayout.stateEntryTime, 8, entryTime | (updating ? RunstateInfoLayout.updateFlag : 0))
        let t = [time.0, time.1, time.2, time.3]
        for (i, v) in t.enumerated() { g.set(RunstateInfoLayout.time + 8 * i, 8, v) }
        return g.bytes
    }
}

/// Guest memory the vCPU asked Xen to keep updated.
struct VCPUGuestAreas: Sendable {
    /// Xen: runstate_guest(v) — a guest virtual address (VCPUOP_register_runstate_memory_area).
    var runstateVirtual: UInt64?
    /// Xen: v->runstate_guest_area — a machine address (VCPUOP_register_runstate_phys_area).
    var runstateMachine: UInt64?
    /// Xen: v->arch.time_info_guest (VCPUOP_register_vcpu_time_memory_area).
    var timeVirtual: UInt64?
    /// Xen: v->arch.time_guest_area (VCPUOP_register_vcpu_time_phys_area).
    var timeMachine: UInt64?
    /// Xen: vcpu_info_area.pg != NULL — VCPUOP_register_vcpu_info succeeded once.
    var vcpuInfoRegistered = false
}
