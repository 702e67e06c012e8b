import XenABI

/// What the toolstack shows of one vCPU (`xl vcpu-list`, `xl list`'s Time(s)).
/// Xen: XEN_DOMCTL_getvcpuinfo.
public struct VCPUStatistics: Sendable, Equatable {
    public var id: VCPUID
    public var isOnline: Bool
    public var runstate: Runstate
    /// Guest system time spent running (Xen: vcpu_runstate_get().time[RUNSTATE_running]).
    public var runningNanoseconds: UInt64
    public var retiredInstructions: UInt64
}

extension Domain {
    /// A snapshot of every vCPU; safe from any thread while the domain runs.
    public var vcpuStatistics: [VCPUStatistics] {
        let now = clock.systemTime()
        return vcpus.map { vcpu in
            let record = vcpu.eventState.runstate.withLock { $0.snapshot(now: now) }
            return VCPUStatistics(
                id: vcpu.id, isOnline: vcpu.isOnline, runstate: record.state,
                runningNanoseconds: record.time.0, retiredInstructions: vcpu.engine.retiredInstructions)
        }
    }

    /// The sum of every vCPU's running time: `xl list`'s Time(s) column, in nanoseconds.
    public var runningNanoseconds: UInt64 {
        vcpuStatistics.reduce(0) { $0 &+ $1.runningNanoseconds }
    }
}
