/// What kited answers. In JSON, `{"ok": true, "reply": KIND, KIND: ...}` or
/// `{"ok": false, "error": {"code": CODE, "message": TEXT}}`, one object per line.
public enum ControlReply: Sendable, Equatable {
    /// The request was carried out (pause, unpause, destroy, rename, shutdown without wait...).
    case done
    case host(HostInfo)
    case domains([DomainSummary])
    /// One domain; `warnings` say what kited ignored from its configuration (create).
    case domain(DomainSummary, warnings: [String])
    /// `shutdown -w`, `reboot -w`: how it stopped.
    case stopped(DomainStopReport)
    case vcpus([VCPUInfo])
    case log([LogEntry])
    /// `console`: raw console bytes follow on this connection.
    case consoleAttached(DomainSummary)
    /// `block-list`: the domain's disks.
    case disks([BlockDeviceInfo])
    /// `block-attach`: the new disk.
    case disk(BlockDeviceInfo)
    /// `network-list`: the domain's vifs.
    case vifs([NetworkDeviceInfo])
    /// `network-attach`: the new vif.
    case vif(NetworkDeviceInfo)
    /// `block-detach`, `network-detach`: the device is gone.
    case detached(DeviceDetachReport)

    public var kind: String {
        switch self {
        case .done: "done"
        case .host: "host"
        case .domains: "domains"
        case .domain: "domain"
        case .stopped: "stopped"
        case .vcpus: "vcpus"
        case .log: "log"
        case .consoleAttached: "console"
        case .disks: "disks"
        case .disk: "disk"
        case .vifs: "vifs"
        case .vif: "vif"
        case .detached: "detached"
        }
    }
}

/// Why kited refused a request: a stable code for scripts, a message for people.
public struct ControlError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable, CaseIterable {
        /// Not JSON, not an object, or a field missing or of the wrong type.
        case malformedRequest = "malformed-request"
        /// The request line is longer than kited reads (`ControlFraming.maximumRequestBytes`).
        case requestTooLarge = "request-too-large"
        case unknownOperation = "unknown-operation"
        case noSuchDomain = "no-such-domain"
        /// The domain has no device by that name, number or MAC (block-detach, network-detach).
        case noSuchDevice = "no-such-device"
        /// A value is wrong (a name, a count, a disk spec...).
        case invalidArgument = "invalid-argument"
        case nameInUse = "name-in-use"
        /// The domain's state does not allow it (pause a paused domain...).
        case invalidState = "invalid-state"
        /// Valid, but Kite cannot do it yet (ballooning, vCPU hotplug, qcow2...).
        case notSupported = "not-supported"
        case cannotReadFile = "cannot-read-file"
        /// The kernel or the hypervisor refused the domain.
        case launchFailed = "launch-failed"
        /// `wait` ran out of time; the request itself was carried out.
        case timeout
        case shuttingDown = "shutting-down"
        /// Too many connections are open at once.
        case busy
        case internalError = "internal"
        /// Client side: nothing listens on the control socket.
        case daemonNotRunning = "daemon-not-running"
        /// Client side: the reply was not what the protocol says.
        case protocolError = "protocol"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// One reply on the wire.
public struct ControlResponse: Sendable, Equatable {
    public var result: Result<ControlReply, ControlError>

    public init(_ result: Result<ControlReply, ControlError>) { self.result = result }
    public static func ok(_ r: ControlReply) -> Self { Self(.success(r)) }
    public static func error(_ code: ControlError.Code, _ message: String) -> Self { Self(.failure(ControlError(code, message))) }
}

extension ControlResponse: Codable {
    enum CodingKeys: String, CodingKey {
        case ok, reply, error, warnings
        case host, domains, domain, stopped, vcpus, log, console, disks, disk, vifs, vif, detached
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard try c.decode(Bool.self, forKey: .ok) else {
            result = .failure(try c.decode(ControlError.self, forKey: .error))
            return
        }
        let kind = try c.decode(String.self, forKey: .reply)
        let reply: ControlReply
        switch kind {
        case "done": reply = .done
        case "host": reply = .host(try c.decode(HostInfo.self, forKey: .host))
        case "domains": reply = .domains(try c.decode([DomainSummary].self, forKey: .domains))
        case "domain":
            reply = .domain(
                try c.decode(DomainSummary.self, forKey: .domain),
                warnings: try c.decodeIfPresent([String].self, forKey: .warnings) ?? [])
        case "stopped": reply = .stopped(try c.decode(DomainStopReport.self, forKey: .stopped))
        case "vcpus": reply = .vcpus(try c.decode([VCPUInfo].self, forKey: .vcpus))
        case "log": reply = .log(try c.decode([LogEntry].self, forKey: .log))
        case "console": reply = .consoleAttached(try c.decode(DomainSummary.self, forKey: .console))
        case "disks": reply = .disks(try c.decode([BlockDeviceInfo].self, forKey: .disks))
        case "disk": reply = .disk(try c.decode(BlockDeviceInfo.self, forKey: .disk))
        case "vifs": reply = .vifs(try c.decode([NetworkDeviceInfo].self, forKey: .vifs))
        case "vif": reply = .vif(try c.decode(NetworkDeviceInfo.self, forKey: .vif))
        case "detached": reply = .detached(try c.decode(DeviceDetachReport.self, forKey: .detached))
        default:
            throw DecodingError.dataCorruptedError(forKey: .reply, in: c, debugDescription: "unknown reply \(kind)")
        }
        result = .success(reply)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch result {
        case .failure(let e):
            try c.encode(false, forKey: .ok)
            try c.encode(e, forKey: .error)
        case .success(let r):
            try c.encode(true, forKey: .ok)
            try c.encode(r.kind, forKey: .reply)
            switch r {
            case .done: break
            case .host(let h): try c.encode(h, forKey: .host)
            case .domains(let d): try c.encode(d, forKey: .domains)
            case .domain(let d, let w):
                try c.encode(d, forKey: .domain)
                if !w.isEmpty { try c.encode(w, forKey: .warnings) }
            case .stopped(let s): try c.encode(s, forKey: .stopped)
            case .vcpus(let v): try c.encode(v, forKey: .vcpus)
            case .log(let l): try c.encode(l, forKey: .log)
            case .consoleAttached(let d): try c.encode(d, forKey: .console)
            case .disks(let d): try c.encode(d, forKey: .disks)
            case .disk(let d): try c.encode(d, forKey: .disk)
            case .vifs(let v): try c.encode(v, forKey: .vifs)
            case .vif(let v): try c.encode(v, forKey: .vif)
            case .detached(let r): try c.encode(r, forKey: .detached)
            }
        }
    }
}
