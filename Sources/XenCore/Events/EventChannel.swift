import XenABI

/// What a port is bound to. Xen: `ECS_*` and the union in `struct evtchn`
/// (xen/include/xen/sched.h). Physical IRQs (ECS_PIRQ) never exist: Kite passes no
/// hardware through, so EVTCHNOP_bind_pirq is refused before a port is taken.
enum EventChannelState: Equatable, Sendable {
    /// Xen: ECS_FREE — available.
    case free
    /// Xen: ECS_RESERVED — port 0.
    case reserved
    /// Xen: ECS_UNBOUND — waiting for `remote` to bind_interdomain to it.
    case unbound(remote: DomainID)
    /// Xen: ECS_INTERDOMAIN — connected to `remotePort` of `remote` (possibly this domain).
    case interdomain(remote: DomainID, remotePort: UInt32)
    /// Xen: ECS_VIRQ
    case virq(UInt32)
    /// Xen: ECS_IPI
    case ipi

    /// Xen: evtchn_usable() — a guest may send, poll and unmask it.
    var isUsable: Bool {
        switch self {
        case .free, .reserved: return false
        case .unbound, .interdomain, .virq, .ipi: return true
        }
    }
}

/// Called on the host side when a port owned by Kite (the control domain) is notified.
/// Runs on the sender's thread with no event-channel lock held.
public typealias EventChannelHandler = @Sendable (EventChannelPort) -> Void

/// One port. Xen: `struct evtchn`.
struct EventChannel: Sendable {
    var state: EventChannelState = .free
    /// Xen: notify_vcpu_id — the vCPU whose vcpu_info the port raises.
    var notifyVCPU: UInt32 = 0
    /// For ports of the host endpoint: what a notification runs. Xen's xen_consumer plays
    /// this part for channels Xen itself consumes.
    var handler: EventChannelHandler?
}

/// The port table of one endpoint (a guest domain or Kite's control domain).
/// Xen: d->evtchn buckets, d->valid_evtchns, d->max_evtchn_port, v->virq_to_evtchn.
struct EventChannelTableState: Sendable {
    /// Xen: EVTCHNS_PER_BUCKET — ports become valid a bucket at a time, which decides
    /// whether EVTCHNOP_status of a never-used port says "closed" or -EINVAL.
    static let bucketSize: UInt32 = 64

    /// Ports 0..<channels.count are valid (Xen: port_is_valid()).
    var channels: [EventChannel]
    /// Xen: d->max_evtchn_port — the toolstack's per-domain limit (xl: max_event_channels).
    var maxPort: UInt32
    /// Xen: v->virq_to_evtchn[] per vCPU; 0 = not bound. Grown on first bind.
    var virqPorts: [[UInt32]] = []
    /// Xen: d->next_evtchn — a reset in progress (never preempted in Kite).
    var nextResetPort: UInt32 = 0

    init(maxPort: UInt32) {
        channels = Array(repeating: EventChannel(), count: Int(Self.bucketSize))
        channels[0].state = .reserved
        self.maxPort = maxPort
    }

    /// An empty stand-in while a table is moved out of its lock (no ports, no storage).
    static var placeholder: EventChannelTableState { EventChannelTableState(channels: [], maxPort: 0) }

    private init(channels: [EventChannel], maxPort: UInt32) {
        self.channels = channels
        self.maxPort = maxPort
    }

    /// Xen: port_is_valid()
    func isValid(_ port: UInt32) -> Bool { port < UInt32(channels.count) }

    /// Xen: get_free_port() / evtchn_allocate_port(): the lowest free port, growing the
    /// table a bucket at a time up to the 2-level limit and the domain's max port.
    mutating func allocatePort() throws(XenError) -> UInt32 {
        var port: UInt32 = 0
        while port <= maxPort {
            guard port < EventChannel2L.maxPorts else { throw .ENOSPC }
            if isValid(port) {
                if channels[Int(port)].state == .free { return port }
            } else {
                let grown = min(UInt32(channels.count) + Self.bucketSize, EventChannel2L.maxPorts)
                channels += Array(repeating: EventChannel(), count: Int(grown) - channels.count)
                return port
            }
            port += 1
        }
        throw .ENOSPC
    }

    subscript(port: UInt32) -> EventChannel {
        get { channels[Int(port)] }
        set { channels[Int(port)] = newValue }
    }

    /// Xen: v->virq_to_evtchn[virq]; 0 when unbound or out of range.
    func virqPort(vcpu: UInt32, virq: UInt32) -> UInt32 {
        guard Int(vcpu) < virqPorts.count, virq < VIRQ.count else { return 0 }
        return virqPorts[Int(vcpu)][Int(virq)]
    }

    mutating func setVIRQPort(vcpu: UInt32, virq: UInt32, port: UInt32) {
        guard virq < VIRQ.count else { return }
        while virqPorts.count <= Int(vcpu) {
            virqPorts.append(Array(repeating: 0, count: Int(VIRQ.count)))
        }
        virqPorts[Int(vcpu)][Int(virq)] = port
    }
}
