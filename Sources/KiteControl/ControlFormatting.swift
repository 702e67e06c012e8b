import Foundation

/// The text `kite` prints for each reply, in xl's layouts so that eyes and scripts used to
/// xl feel at home. Pure functions of the replies, so tests check them without a terminal.
public enum ControlFormatting {
    static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let n = s.count
        guard n < width else { return s }
        let fill = String(repeating: " ", count: width - n)
        return right ? fill + s : s + fill
    }

    static func fixed(_ v: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", v) }

    /// `xl list`: Name, ID, Mem (MiB), VCPUs, State, Time(s).
    public static func list(_ domains: [DomainSummary]) -> String {
        var out = "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
        for d in domains {
            out += pad(d.name, 40) + " " + pad("\(d.id.rawValue)", 5, right: true) + " "
                + pad("\(d.memoryMiB)", 5, right: true) + " " + pad("\(d.vcpus)", 5, right: true) + "     "
                + d.state.xlFlags + "  " + pad(fixed(d.cpuSeconds, 1), 8, right: true) + "\n"
        }
        return out
    }

    /// `xl vcpu-list`: Name, ID, VCPU, CPU, State, Time(s), Affinity. Each vCPU is a host
    /// thread the host schedules, so CPU is "-" and affinity "all".
    public static func vcpuList(_ vcpus: [VCPUInfo]) -> String {
        var out = "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
        for v in vcpus {
            let state: String
            switch v.state {
            case "running": state = "r--"
            case "runnable": state = "-r-"
            case "blocked": state = "-b-"
            case "paused": state = "--p"
            default: state = "---"
            }
            out += pad(v.domainName, 32) + " " + pad("\(v.domain.rawValue)", 5, right: true) + " "
                + pad("\(v.vcpu)", 5, right: true) + " " + pad(v.online ? "-" : "", 5, right: true) + "   "
                + state + "  " + pad(fixed(v.cpuSeconds, 1), 9, right: true) + " all / all\n"
        }
        return out
    }

    /// xl's uptime format: "H:MM:SS", with "N days, " in front past a day.
    public static func uptime(seconds: Double) -> String {
        let total = Int(max(0, seconds))
        let days = total / 86400
        let h = (total % 86400) / 3600
        let m = (total % 3600) / 60
        let s = total % 60
        let clock = String(format: "%d:%02d:%02d", h, m, s)
        guard days > 0 else { return clock }
        return "\(days) day\(days == 1 ? "" : "s"), " + clock
    }

    /// `xl uptime`: Name, ID, Uptime.
    public static func uptime(_ domains: [DomainSummary]) -> String {
        var out = "Name                                ID Uptime\n"
        for d in domains {
            out += pad(d.name, 32) + " " + pad("\(d.id.rawValue)", 5, right: true) + " " + uptime(seconds: d.uptimeSeconds) + "\n"
        }
        return out
    }

    /// `xl info`: one `key : value` per line.
    public static func info(_ h: HostInfo) -> String {
        let rows: [(String, String)] = [
            ("host", h.hostName),
            ("kite_version", h.kiteVersion),
            ("xen_version", h.xenVersion),
            ("engine", h.engine),
            ("nr_cpus", "\(h.hostCPUs)"),
            ("total_memory", "\(h.totalMemoryMiB)"),
            ("free_memory", "\(h.freeMemoryMiB)"),
            ("nr_domains", "\(h.domains)"),
            ("kited_pid", "\(h.daemonPID)"),
            ("kited_uptime", uptime(seconds: Date().timeIntervalSince1970 - h.daemonStartTime)),
            ("control_socket", h.controlSocket),
        ]
        return rows.map { pad($0.0, 23) + ": " + $0.1 }.joined(separator: "\n") + "\n"
    }

    /// `kite top`: a xentop-like table. CPU(%) and MIPS come from the change since
    /// `previous` over `interval` seconds (blank on the first screen).
    public static func top(_ domains: [DomainSummary], previous: [DomainSummary], interval: Double, totalMemoryMiB: UInt64) -> String {
        var out = "      NAME   ID  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) VCPUS     MIPS\n"
        let before = Dictionary(previous.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for d in domains {
            var cpu = "", mips = ""
            if let p = before[d.id], interval > 0 {
                cpu = fixed(max(0, d.cpuSeconds - p.cpuSeconds) / interval * 100, 1)
                mips = fixed(Double(d.instructions &- p.instructions) / interval / 1e6, 1)
            }
            let memPercent = totalMemoryMiB > 0 ? fixed(Double(d.memoryMiB) / Double(totalMemoryMiB) * 100, 1) : "-"
            out += pad(String(d.name.prefix(10)), 10, right: true) + " " + pad("\(d.id.rawValue)", 4, right: true) + " "
                + d.state.xlFlags + " " + pad(fixed(d.cpuSeconds, 0), 10, right: true) + " " + pad(cpu, 6, right: true) + " "
                + pad("\(d.memoryMiB << 10)", 10, right: true) + " " + pad(memPercent, 6, right: true) + " "
                + pad("\(d.maxMemoryMiB << 10)", 10, right: true) + " " + pad("\(d.vcpus)", 5, right: true) + " "
                + pad(mips, 8, right: true) + "\n"
        }
        return out
    }

    /// `kite dmesg`: `[time] level dN label: message key=value...`.
    public static func dmesg(_ entries: [LogEntry]) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return entries.map { e in
            var line = "[\(f.string(from: Date(timeIntervalSince1970: e.time)))] \(pad(e.level, 7)) d\(e.domain.rawValue) \(e.label): \(e.message)"
            for (k, v) in e.metadata.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(v)" }
            return line + "\n"
        }.joined()
    }

    /// JSON for `--json` and `list -l`: pretty, sorted keys.
    public static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "null\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
