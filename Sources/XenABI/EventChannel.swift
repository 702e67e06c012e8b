/// Event-channel sub-commands. Xen: `EVTCHNOP_*` (public/event_channel.h).
public enum EventChannelOp: UInt32, Sendable, CaseIterable {
    /// Xen: EVTCHNOP_bind_interdomain
    case bindInterdomain = 0
    /// Xen: EVTCHNOP_bind_virq
    case bindVIRQ = 1
    /// Xen: EVTCHNOP_bind_pirq
    case bindPIRQ = 2
    /// Xen: EVTCHNOP_close
    case close = 3
    /// Xen: EVTCHNOP_send
    case send = 4
    /// Xen: EVTCHNOP_status
    case status = 5
    /// Xen: EVTCHNOP_alloc_unbound
    case allocUnbound = 6
    /// Xen: EVTCHNOP_bind_ipi
    case bindIPI = 7
    /// Xen: EVTCHNOP_bind_vcpu
    case bindVCPU = 8
    /// Xen: EVTCHNOP_unmask
    case unmask = 9
    /// Xen: EVTCHNOP_reset
    case reset = 10
    /// Xen: EVTCHNOP_init_control (FIFO ABI)
    case initControl = 11
    /// Xen: EVTCHNOP_expand_array (FIFO ABI)
    case expandArray = 12
    /// Xen: EVTCHNOP_set_priority (FIFO ABI)
    case setPriority = 13
    /// Xen: EVTCHNOP_reset_cont — the continuation of a preempted reset.
    case resetContinuation = 14

    /// Size of the argument structure the command reads (and, for some, writes back).
    public var argumentSize: Int {
        switch self {
        case .bindInterdomain, .bindVIRQ, .bindPIRQ: return 12
        case .close, .send, .unmask: return 4
        case .status: return 24
        case .allocUnbound, .bindIPI, .bindVCPU, .expandArray, .setPriority: return 8
        case .reset, .resetContinuation: return 2
        case .initControl: return 24
        }
    }
}

/// Field offsets of the EVTCHNOP argument structures (identical for 32- and 64-bit guests).
public enum EventChannelArgs {
    /// Xen: struct evtchn_alloc_unbound — dom, remote_dom (domid_t), OUT port.
    public enum AllocUnbound { public static let dom = 0, remoteDom = 2, port = 4 }
    /// Xen: struct evtchn_bind_interdomain — remote_dom, remote_port, OUT local_port.
    public enum BindInterdomain { public static let remoteDom = 0, remotePort = 4, localPort = 8 }
    /// Xen: struct evtchn_bind_virq — virq, vcpu, OUT port.
    public enum BindVIRQ { public static let virq = 0, vcpu = 4, port = 8 }
    /// Xen: struct evtchn_bind_pirq — pirq, flags, OUT port.
    public enum BindPIRQ { public static let pirq = 0, flags = 4, port = 8 }
    /// Xen: struct evtchn_bind_ipi — vcpu, OUT port.
    public enum BindIPI { public static let vcpu = 0, port = 4 }
    /// Xen: struct evtchn_bind_vcpu — port, vcpu.
    public enum BindVCPU { public static let port = 0, vcpu = 4 }
    /// Xen: struct evtchn_status — IN dom, port; OUT status, vcpu, union u.
    public enum Status {
        public static let dom = 0, port = 4, status = 8, vcpu = 12
        /// u.unbound.dom, u.interdomain.dom (domid_t)
        public static let remoteDom = 16
        /// u.interdomain.port
        public static let remotePort = 20
        /// u.pirq, u.virq
        public static let value = 16
    }
    /// Xen: struct evtchn_set_priority — port, priority.
    public enum SetPriority { public static let port = 0, priority = 4 }
    /// Xen: evtchn_op_t of event_channel_op_compat — u32 cmd, then the union (28 bytes).
    public enum Compat { public static let command = 0, union = 4, size = 28 }
}

/// Xen: EVTCHNSTAT_* — what EVTCHNOP_status reports.
public enum EventChannelStatus: UInt32, Sendable {
    /// Xen: EVTCHNSTAT_closed
    case closed = 0
    /// Xen: EVTCHNSTAT_unbound
    case unbound = 1
    /// Xen: EVTCHNSTAT_interdomain
    case interdomain = 2
    /// Xen: EVTCHNSTAT_pirq
    case pirq = 3
    /// Xen: EVTCHNSTAT_virq
    case virq = 4
    /// Xen: EVTCHNSTAT_ipi
    case ipi = 5
}

/// Virtual IRQs. Xen: `VIRQ_*` (public/xen.h).
public enum VIRQ {
    /// Xen: VIRQ_TIMER — per vCPU: the vCPU's timers.
    public static let timer: UInt32 = 0
    /// Xen: VIRQ_DEBUG — per vCPU.
    public static let debug: UInt32 = 1
    /// Xen: VIRQ_CONSOLE — global: the hypervisor console has input.
    public static let console: UInt32 = 2
    /// Xen: VIRQ_DOM_EXC — global: a domain died.
    public static let domainException: UInt32 = 3
    /// Xen: VIRQ_TBUF
    public static let traceBuffer: UInt32 = 4
    /// Xen: VIRQ_DEBUGGER
    public static let debugger: UInt32 = 6
    /// Xen: VIRQ_XENOPROF — per vCPU.
    public static let xenoprof: UInt32 = 7
    /// Xen: VIRQ_CON_RING
    public static let consoleRing: UInt32 = 8
    /// Xen: VIRQ_PCPU_STATE
    public static let pcpuState: UInt32 = 9
    /// Xen: VIRQ_MEM_EVENT
    public static let memoryEvent: UInt32 = 10
    /// Xen: VIRQ_ARGO
    public static let argo: UInt32 = 11
    /// Xen: VIRQ_ENOMEM
    public static let noMemory: UInt32 = 12
    /// Xen: VIRQ_XENPMU — per vCPU.
    public static let xenPMU: UInt32 = 13
    /// Xen: NR_VIRQS
    public static let count: UInt32 = 24

    /// Xen: virq_is_global() — on x86 every VIRQ_ARCH_* is global; TIMER, DEBUG, XENOPROF
    /// and XENPMU are per vCPU.
    public static func isGlobal(_ virq: UInt32) -> Bool {
        switch virq {
        case timer, debug, xenoprof, xenPMU: return false
        default: return true
        }
    }
}

/// Sizes of the 2-level event-channel ABI for 64-bit guests.
public enum EventChannel2L {
    /// Xen: BITS_PER_EVTCHN_WORD for a 64-bit guest.
    public static let bitsPerWord: UInt32 = 64
    /// Xen: max_evtchns() for the 2-level ABI — 64 words of 64 bits.
    public static let maxPorts: UInt32 = 64 * 64
}
