/// Every request `kite` (or any client) can make of kited: the single boundary between the
/// control API and the hypervisor. kited's dispatcher switches over it and nothing else
/// reaches the host. In JSON, one object per line with the operation in `op`:
///
///     {"op": "pause", "domain": "web"}
///     {"op": "shutdown", "domain": 3, "wait": true, "timeout": 30}
///
/// docs/control-api.md lists every operation, its fields, its errors and the states in
/// which it is allowed.
public enum ControlRequest: Sendable, Equatable {
    /// `info`: the host.
    case hostInfo
    /// `list`: every domain.
    case list
    /// One domain (`domid`, `domname`, `list <dom>`).
    case domainInfo(DomainRef)
    /// `create`: build and start (or create paused) a domain.
    case create(DomainCreateSpec)
    /// `destroy`: stop it at once and free it.
    case destroy(DomainRef)
    /// `shutdown`: ask the guest to power off (xenstore control/shutdown); with `wait`,
    /// reply once it has stopped (or after `timeout` seconds).
    case shutdown(DomainRef, wait: Bool, timeout: Double?)
    /// `reboot`: ask the guest to reboot; its on_reboot action follows.
    case reboot(DomainRef, wait: Bool, timeout: Double?)
    case pause(DomainRef)
    case unpause(DomainRef)
    case rename(DomainRef, to: String)
    /// `vcpu-list`: one domain's vCPUs, or every domain's.
    case vcpuList(DomainRef?)
    case vcpuSet(DomainRef, count: Int)
    /// `mem-set`: the balloon target in MiB.
    case memSet(DomainRef, mib: UInt64)
    /// `mem-max`: the ceiling in MiB.
    case memMax(DomainRef, mib: UInt64)
    /// `dmesg`: kited's log ring; `clear` empties it after reading.
    case dmesg(clear: Bool)
    /// `console`: after the reply the connection carries the guest's console, raw bytes
    /// both ways: first what the guest wrote so far, then its output as it comes. `number`
    /// 0 is the primary console, 1, 2, ... the channels (xl console -n).
    case console(DomainRef, number: Int = 0)
    /// `block-list`: the domain's disks.
    case blockList(DomainRef)
    /// `block-attach`: a new disk from an xl disk spec (xl-disk-configuration(5)), its
    /// target an absolute path on kited's host.
    case blockAttach(DomainRef, spec: String)
    /// `block-detach`: a disk by vdev ("xvdb") or device number; `force` removes it without
    /// asking the guest to let go first.
    case blockDetach(DomainRef, device: String, force: Bool)
    /// `network-list`: the domain's vifs.
    case networkList(DomainRef)
    /// `network-attach`: a new vif from an xl vif spec (xl-network-configuration(5)).
    case networkAttach(DomainRef, spec: String)
    /// `network-detach`: a vif by index or MAC.
    case networkDetach(DomainRef, device: String, force: Bool)

    /// The `op` of each request, as JSON spells it.
    public var operation: String {
        switch self {
        case .hostInfo: "host-info"
        case .list: "list"
        case .domainInfo: "domain-info"
        case .create: "create"
        case .destroy: "destroy"
        case .shutdown: "shutdown"
        case .reboot: "reboot"
        case .pause: "pause"
        case .unpause: "unpause"
        case .rename: "rename"
        case .vcpuList: "vcpu-list"
        case .vcpuSet: "vcpu-set"
        case .memSet: "mem-set"
        case .memMax: "mem-max"
        case .dmesg: "dmesg"
        case .console: "console"
        case .blockList: "block-list"
        case .blockAttach: "block-attach"
        case .blockDetach: "block-detach"
        case .networkList: "network-list"
        case .networkAttach: "network-attach"
        case .networkDetach: "network-detach"
        }
    }

    public static let operations = [
        "host-info", "list", "domain-info", "create", "destroy", "shutdown", "reboot", "pause", "unpause",
        "rename", "vcpu-list", "vcpu-set", "mem-set", "mem-max", "dmesg", "console",
        "block-list", "block-attach", "block-detach", "network-list", "network-attach", "network-detach",
    ]

    /// The domain the request names, if any.
    public var domain: DomainRef? {
        switch self {
        case .domainInfo(let d), .destroy(let d), .shutdown(let d, _, _), .reboot(let d, _, _), .pause(let d),
            .unpause(let d), .rename(let d, _), .vcpuSet(let d, _), .memSet(let d, _), .memMax(let d, _),
            .console(let d, _), .blockList(let d), .blockAttach(let d, _), .blockDetach(let d, _, _), .networkList(let d),
            .networkAttach(let d, _), .networkDetach(let d, _, _):
            d
        case .vcpuList(let d): d
        case .hostInfo, .list, .create, .dmesg: nil
        }
    }
}

extension ControlRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case op, domain, spec, wait, timeout, name, count, mib, clear, number, device, force
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let op = try c.decode(String.self, forKey: .op)
        func domain() throws -> DomainRef { try c.decode(DomainRef.self, forKey: .domain) }
        func wait() throws -> Bool { try c.decodeIfPresent(Bool.self, forKey: .wait) ?? false }
        func timeout() throws -> Double? { try c.decodeIfPresent(Double.self, forKey: .timeout) }
        func force() throws -> Bool { try c.decodeIfPresent(Bool.self, forKey: .force) ?? false }
        /// A device: its name or MAC as a string, or its number.
        func device() throws -> String {
            if let n = try? c.decode(UInt32.self, forKey: .device) { return String(n) }
            return try c.decode(String.self, forKey: .device)
        }
        switch op {
        case "host-info": self = .hostInfo
        case "list": self = .list
        case "domain-info": self = .domainInfo(try domain())
        case "create": self = .create(try c.decode(DomainCreateSpec.self, forKey: .spec))
        case "destroy": self = .destroy(try domain())
        case "shutdown": self = .shutdown(try domain(), wait: try wait(), timeout: try timeout())
        case "reboot": self = .reboot(try domain(), wait: try wait(), timeout: try timeout())
        case "pause": self = .pause(try domain())
        case "unpause": self = .unpause(try domain())
        case "rename": self = .rename(try domain(), to: try c.decode(String.self, forKey: .name))
        case "vcpu-list": self = .vcpuList(try c.decodeIfPresent(DomainRef.self, forKey: .domain))
        case "vcpu-set": self = .vcpuSet(try domain(), count: try c.decode(Int.self, forKey: .count))
        case "mem-set": self = .memSet(try domain(), mib: try c.decode(UInt64.self, forKey: .mib))
        case "mem-max": self = .memMax(try domain(), mib: try c.decode(UInt64.self, forKey: .mib))
        case "dmesg": self = .dmesg(clear: try c.decodeIfPresent(Bool.self, forKey: .clear) ?? false)
        case "console": self = .console(try domain(), number: try c.decodeIfPresent(Int.self, forKey: .number) ?? 0)
        case "block-list": self = .blockList(try domain())
        case "block-attach": self = .blockAttach(try domain(), spec: try c.decode(String.self, forKey: .spec))
        case "block-detach": self = .blockDetach(try domain(), device: try device(), force: try force())
        case "network-list": self = .networkList(try domain())
        case "network-attach": self = .networkAttach(try domain(), spec: try c.decodeIfPresent(String.self, forKey: .spec) ?? "")
        case "network-detach": self = .networkDetach(try domain(), device: try device(), force: try force())
        default: throw UnknownOperation(op: op)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(operation, forKey: .op)
        if let d = domain { try c.encode(d, forKey: .domain) }
        switch self {
        case .create(let spec): try c.encode(spec, forKey: .spec)
        case .shutdown(_, let w, let t), .reboot(_, let w, let t):
            try c.encode(w, forKey: .wait)
            try c.encodeIfPresent(t, forKey: .timeout)
        case .rename(_, let name): try c.encode(name, forKey: .name)
        case .vcpuSet(_, let n): try c.encode(n, forKey: .count)
        case .memSet(_, let m), .memMax(_, let m): try c.encode(m, forKey: .mib)
        case .dmesg(let clear): try c.encode(clear, forKey: .clear)
        case .console(_, let number) where number != 0: try c.encode(number, forKey: .number)
        case .blockAttach(_, let spec), .networkAttach(_, let spec): try c.encode(spec, forKey: .spec)
        case .blockDetach(_, let device, let force), .networkDetach(_, let device, let force):
            try c.encode(device, forKey: .device)
            try c.encode(force, forKey: .force)
        default: break
        }
    }

    /// A request whose `op` kited does not know (a newer client, a typo).
    public struct UnknownOperation: Error, Sendable {
        public var op: String
    }
}
