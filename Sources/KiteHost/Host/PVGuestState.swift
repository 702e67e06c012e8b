import XenControl

/// Where a guest is in its life, as the toolstack sees it.
public enum PVGuestState: Sendable, Equatable, CustomStringConvertible {
    case running
    /// Paused by the toolstack (`pause`, or created paused).
    case paused
    /// Its vCPUs stopped: the guest shut itself down (poweroff, reboot, suspend, crash…)
    /// or was crashed by the hypervisor. It keeps its memory and devices until destroyed.
    case shutdown(ShutdownReason, code: UInt32)
    /// Gone: every frame returned.
    case destroyed

    /// xl list's State column: r(unning) b(locked) p(aused) s(hutdown) c(rashed) d(ying).
    public var xlFlags: String {
        switch self {
        case .running: "r-----"
        case .paused: "--p---"
        case .shutdown(.crash, _): "----c-"
        case .shutdown: "---s--"
        case .destroyed: "-----d"
        }
    }

    public var description: String {
        switch self {
        case .running: "running"
        case .paused: "paused"
        case .shutdown(.crash, _): "crashed"
        case .shutdown(let reason, _): "shutdown (\(reason))"
        case .destroyed: "destroyed"
        }
    }
}

/// How a guest's run ended.
public struct PVGuestOutcome: Sendable {
    /// Why the guest shut down; nil when it was destroyed while running or ran out of
    /// instructions.
    public var reason: ShutdownReason?
    public var code: UInt32?
    /// Why the hypervisor crashed it, when it did.
    public var crashReason: String?
    public var instructions: UInt64
    /// Wall-clock seconds from start to stop.
    public var seconds: Double
    public var hitInstructionLimit: Bool
    /// The toolstack destroyed it before it stopped by itself.
    public var wasDestroyed: Bool
    /// Frames still owned by the domain after it was destroyed (should be none); 0 until then.
    public var leakedFrames: Int
    /// Bytes the console backend took from the guest's console ring.
    public var consoleRingBytes: UInt64
    /// Per vCPU: where it stopped, its running and blocked time and what made it exit.
    public var vcpuReports: [String] = []
}

/// How much a `PVHost` message matters: kited maps it onto its log levels, `kite run`
/// shows debug detail only with --verbose and warnings always.
public enum PVHostLogLevel: Sendable, Equatable {
    /// Detail: the kernel's Xen notes and the domain layout.
    case debug
    /// Lifecycle: a domain created, stopped.
    case info
    /// Something went wrong in a backend, the store or a log file; the guest may go on.
    case warning
}
