import Synchronization
import XenABI

/// A guest domain's event-channel state: its port table, its vCPUs' event/timer state and
/// the hub through which other domains (and Kite's backends) are reached.
///
/// Lock order: `table` (of the lower domain id first when two are held), then `vcpuStates`,
/// then a `VCPUEventState`'s mutexes, then a vCPU's wake condition. `hub` is a leaf.
final class DomainEvents: Sendable {
    /// Xen: libxl's default max_event_channels (1023) — ports 1…1023 usable.
    static let defaultMaxPort: UInt32 = 1023

    let table = Mutex(EventChannelTableState(maxPort: DomainEvents.defaultMaxPort))
    /// One per vCPU, created on first use (vCPUs are all added before the domain runs).
    let vcpuStates = Mutex<[VCPUEventState]>([])
    let hubReference = Mutex(HubReference())
    /// Xen: d->poll_mask is empty — senders skip the poller scan.
    let pollerCount = Atomic<Int>(0)

    struct HubReference: Sendable {
        weak var hub: EventChannelHub?
    }

    var hub: EventChannelHub? { hubReference.withLock { $0.hub } }
}

extension Domain {
    /// The event state of vCPU `index`, nil when the domain has no such vCPU.
    func eventState(_ index: UInt32) -> VCPUEventState? {
        let count = vcpus.count
        guard Int(index) < count else { return nil }
        return events.vcpuStates.withLock { states in
            if states.count < count {
                let now = clock.systemTime()
                for i in states.count..<count {
                    let vcpu = VCPUID(UInt32(i))
                    states.append(VCPUEventState(id: vcpu, vcpuInfo: defaultVCPUInfo(vcpu)?.rawValue, now: now))
                }
            }
            return states[Int(index)]
        }
    }

    /// Xen: d->max_evtchn_port — the toolstack's limit on this domain's ports (xl.cfg
    /// max_event_channels minus one). Lowering it never closes bound ports.
    public func setMaxEventChannelPort(_ port: UInt32) {
        events.table.withLock { $0.maxPort = port }
    }

    /// Xen: domain_vcpu() — the vCPU with this index, if the domain has it.
    func vcpu(_ index: UInt32) -> PVVCPU? {
        Int(index) < vcpus.count ? vcpus[Int(index)] : nil
    }
}
