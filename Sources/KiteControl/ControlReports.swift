import XenABI

/// Domain ids travel as plain numbers in the control API's JSON.
extension DomainID: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(UInt16.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// Where a domain is in its life. Xen: the flags of XEN_DOMCTL_getdomaininfo.
public enum DomainState: String, Codable, Sendable, CaseIterable {
    case running, paused
    /// It shut itself down (poweroff, reboot, suspend, watchdog) and is kept.
    case shutdown
    /// It crashed (or the hypervisor crashed it) and is kept.
    case crashed
    /// Destroyed: its memory is returned; shown only in replies about that moment.
    case destroyed

    /// xl list's State column: r(unning) b(locked) p(aused) s(hutdown) c(rashed) d(ying).
    public var xlFlags: String {
        switch self {
        case .running: "r-----"
        case .paused: "--p---"
        case .shutdown: "---s--"
        case .crashed: "----c-"
        case .destroyed: "-----d"
        }
    }
}

/// One domain as `list`, `domain-info` and `create` report it.
public struct DomainSummary: Codable, Sendable, Equatable {
    public var id: DomainID
    public var name: String
    public var uuid: String
    public var state: DomainState
    /// Why it stopped ("poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset").
    public var shutdownReason: String?
    public var shutdownCode: UInt32?
    /// Why the hypervisor crashed it, when it did.
    public var crashReason: String?
    public var memoryMiB: UInt64
    public var maxMemoryMiB: UInt64
    public var vcpus: Int
    public var onlineVCPUs: Int
    /// Seconds its vCPUs ran (xl list's Time(s)).
    public var cpuSeconds: Double
    public var instructions: UInt64
    /// Unix time of its creation.
    public var startTime: Double
    public var uptimeSeconds: Double
    /// How many times kited restarted it (on_reboot/on_crash restart).
    public var restarts: Int
    public var config: DomainCreateSpec

    public init(
        id: DomainID, name: String, uuid: String, state: DomainState, shutdownReason: String? = nil,
        shutdownCode: UInt32? = nil, crashReason: String? = nil, memoryMiB: UInt64, maxMemoryMiB: UInt64,
        vcpus: Int, onlineVCPUs: Int, cpuSeconds: Double, instructions: UInt64, startTime: Double,
        uptimeSeconds: Double, restarts: Int, config: DomainCreateSpec
    ) {
        self.id = id
        self.name = name
        self.uuid = uuid
        self.state = state
        self.shutdownReason = shutdownReason
        self.shutdownCode = shutdownCode
        self.crashReason = crashReason
        self.memoryMiB = memoryMiB
        self.maxMemoryMiB = maxMemoryMiB
        self.vcpus = vcpus
        self.onlineVCPUs = onlineVCPUs
        self.cpuSeconds = cpuSeconds
        self.instructions = instructions
        self.startTime = startTime
        self.uptimeSeconds = uptimeSeconds
        self.restarts = restarts
        self.config = config
    }

    enum CodingKeys: String, CodingKey {
        case name, uuid, state, vcpus, instructions, restarts, config
        case id = "domid"
        case shutdownReason = "shutdown_reason"
        case shutdownCode = "shutdown_code"
        case crashReason = "crash_reason"
        case memoryMiB = "memory"
        case maxMemoryMiB = "maxmem"
        case onlineVCPUs = "online_vcpus"
        case cpuSeconds = "cpu_time"
        case startTime = "start_time"
        case uptimeSeconds = "uptime"
    }
}

/// `shutdown -w` / `reboot -w`: how the domain stopped and what kited did about it.
public struct DomainStopReport: Codable, Sendable, Equatable {
    public var id: DomainID
    public var name: String
    /// "poweroff", "reboot", ... or nil when it was destroyed before it stopped by itself.
    public var reason: String?
    public var code: UInt32?
    /// The on_* action kited applied (nil: none, it was destroyed).
    public var action: DomainAction?
    /// The new domain's id when the action restarted it.
    public var restartedAs: DomainID?

    public init(id: DomainID, name: String, reason: String?, code: UInt32?, action: DomainAction?, restartedAs: DomainID?) {
        self.id = id
        self.name = name
        self.reason = reason
        self.code = code
        self.action = action
        self.restartedAs = restartedAs
    }

    enum CodingKeys: String, CodingKey {
        case name, reason, code, action
        case id = "domid"
        case restartedAs = "restarted_as"
    }
}

/// One vCPU (`vcpu-list`). Xen: XEN_DOMCTL_getvcpuinfo.
public struct VCPUInfo: Codable, Sendable, Equatable {
    public var domain: DomainID
    public var domainName: String
    public var vcpu: UInt32
    public var online: Bool
    /// "running", "runnable", "blocked" or "offline".
    public var state: String
    public var cpuSeconds: Double
    public var instructions: UInt64

    public init(domain: DomainID, domainName: String, vcpu: UInt32, online: Bool, state: String, cpuSeconds: Double, instructions: UInt64) {
        self.domain = domain
        self.domainName = domainName
        self.vcpu = vcpu
        self.online = online
        self.state = state
        self.cpuSeconds = cpuSeconds
        self.instructions = instructions
    }

    enum CodingKeys: String, CodingKey {
        case vcpu, online, state, instructions
        case domain = "domid"
        case domainName = "name"
        case cpuSeconds = "cpu_time"
    }
}

/// The host (`info`).
public struct HostInfo: Codable, Sendable, Equatable {
    public var hostName: String
    public var kiteVersion: String
    /// The Xen version guests are told (XENVER_version).
    public var xenVersion: String
    /// The CPU engine guests run on.
    public var engine: String
    public var hostCPUs: Int
    public var totalMemoryMiB: UInt64
    public var freeMemoryMiB: UInt64
    public var domains: Int
    public var daemonPID: Int32
    public var daemonStartTime: Double
    public var controlSocket: String

    public init(
        hostName: String, kiteVersion: String, xenVersion: String, engine: String, hostCPUs: Int,
        totalMemoryMiB: UInt64, freeMemoryMiB: UInt64, domains: Int, daemonPID: Int32, daemonStartTime: Double,
        controlSocket: String
    ) {
        self.hostName = hostName
        self.kiteVersion = kiteVersion
        self.xenVersion = xenVersion
        self.engine = engine
        self.hostCPUs = hostCPUs
        self.totalMemoryMiB = totalMemoryMiB
        self.freeMemoryMiB = freeMemoryMiB
        self.domains = domains
        self.daemonPID = daemonPID
        self.daemonStartTime = daemonStartTime
        self.controlSocket = controlSocket
    }

    enum CodingKeys: String, CodingKey {
        case engine, domains
        case hostName = "host"
        case kiteVersion = "kite_version"
        case xenVersion = "xen_version"
        case hostCPUs = "host_cpus"
        case totalMemoryMiB = "total_memory"
        case freeMemoryMiB = "free_memory"
        case daemonPID = "kited_pid"
        case daemonStartTime = "kited_start_time"
        case controlSocket = "control_socket"
    }
}

/// One line of kited's log ring (`dmesg`).
public struct LogEntry: Codable, Sendable, Equatable {
    /// Unix time.
    public var time: Double
    /// swift-log's level: trace, debug, info, notice, warning, error, critical.
    public var level: String
    /// The domain the line concerns (0: the host, which Kite plays as domain 0).
    public var domain: DomainID
    /// The logger's label ("kited", "kited.host").
    public var label: String
    public var message: String
    public var metadata: [String: String]

    public init(time: Double, level: String, domain: DomainID, label: String, message: String, metadata: [String: String] = [:]) {
        self.time = time
        self.level = level
        self.domain = domain
        self.label = label
        self.message = message
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case time, level, label, message, metadata
        case domain = "domid"
    }
}
