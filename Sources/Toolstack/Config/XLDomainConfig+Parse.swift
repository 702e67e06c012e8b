extension XLDomainConfig {
    /// The `source` of settings given as `key=value` on the command line.
    public static let commandLineSource = "command line"

    /// xl.cfg keys Kite knows and does not act on yet: a warning says so instead of
    /// "unknown key".
    static let ignoredKeys: Set<String> = [
        "pool", "cpus", "cpus_soft", "cpu_weight", "cap", "vnuma", "seclabel", "init_seclabel",
        "max_grant_frames", "max_maptrack_frames", "max_grant_version", "max_event_channels",
        "nomigrate", "driver_domain", "e820_host", "tsc_mode", "localtime", "rtc_timeoffset",
        "vfb", "vkb", "vtpm", "pci", "usbctrl", "usbdev", "p9", "vdispl", "vsnd",
        "dtdev", "iomem", "ioports", "irqs", "claim_mode", "on_soft_reset", "cpuid",
        "gic_version", "vuart", "vcpu_hard_affinity", "vcpu_soft_affinity", "autoballoon",
    ]

    /// Keys the parser reads; everything else is warned about.
    static let knownKeys: Set<String> = [
        "name", "type", "builder", "kernel", "ramdisk", "cmdline", "extra", "root", "memory",
        "maxmem", "vcpus", "maxvcpus", "disk", "vif", "channel", "on_poweroff", "on_reboot", "on_crash",
        "on_watchdog", "uuid", "bootloader", "firmware",
    ]

    /// A configuration and what it asked that Kite ignores.
    public struct Parsed: Equatable, Sendable {
        public var config: XLDomainConfig
        public var warnings: [XLConfigWarning]
    }

    /// Parses xl.cfg `text` (named `source` in messages), then applies `overrides`
    /// (`key=value` arguments of `kite create`, which win over the file).
    public static func parse(_ text: String, source: String, overrides: [String] = []) throws(XLConfigError) -> Parsed {
        var file = try XLConfigParser.parse(text, source: source)
        for o in overrides { file.settings += try override(o) }
        var warnings: [XLConfigWarning] = []
        let config = try XLDomainConfig(file: file, warnings: &warnings)
        return Parsed(config: config, warnings: warnings)
    }

    /// One command-line override. It is xl.cfg syntax (`memory=256`, `name="web"`,
    /// `vif=['bridge=slirp']`); a value that is not (`name=web`) is taken as a string, which
    /// saves quoting in the shell.
    public static func override(_ argument: String) throws(XLConfigError) -> [XLConfigSetting] {
        if let file = try? XLConfigParser.parse(argument, source: commandLineSource), !file.settings.isEmpty {
            return file.settings
        }
        guard let eq = argument.firstIndex(of: "=") else {
            throw XLConfigError(file: commandLineSource, line: nil, key: nil, message: "`\(argument)' is not key=value")
        }
        var key = argument[..<eq].trimmingSpaces
        var op = XLConfigSetting.Operation.assign
        if key.hasSuffix("+") {
            key = key.dropLast().trimmingSpaces
            op = .append
        }
        guard let first = key.first, first.isLetter || first == "_",
            key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            throw XLConfigError(file: commandLineSource, line: nil, key: nil, message: "`\(argument)' is not key=value")
        }
        let value = String(argument[argument.index(after: eq)...])
        return [XLConfigSetting(key: String(key), value: .string(value), operation: op, line: 0, source: commandLineSource)]
    }

    /// Interprets settings with xl's meanings and defaults; `warnings` collects the keys and
    /// options ignored.
    public init(file: XLConfigFile, warnings: inout [XLConfigWarning]) throws(XLConfigError) {
        var r = XLConfigReader(file: file)

        var type = GuestType.pv
        if let (v, s) = try r.string("type") {
            guard let t = GuestType(rawValue: v) else { throw r.error(s, "unknown guest type \"\(v)\" (pv, pvh or hvm)") }
            type = t
            if try r.setting("builder") != nil { r.warn(s, "builder= is deprecated and type= is set; builder ignored") }
        } else if let (v, s) = try r.string("builder") {
            switch v {
            case "generic": type = .pv
            case "hvm": type = .hvm
            default: throw r.error(s, "unknown builder \"\(v)\" (generic or hvm; prefer type=)")
            }
        }
        if type != .pv {
            var s = try r.setting("type")
            if s == nil { s = try r.setting("builder") }
            let message = "\(type.rawValue.uppercased()) guests are not yet supported by Kite (type = \"pv\")"
            throw s.map { r.error($0, message) } ?? r.missing("type", message)
        }
        for key in ["bootloader", "firmware"] {
            if let s = try r.setting(key) {
                throw r.error(s, "not yet supported by Kite: boot a PV kernel directly with kernel = \"...\"")
            }
        }

        guard let (name, nameSetting) = try r.string("name") else {
            throw r.missing("name", "missing: every domain needs a name (name = \"...\")")
        }
        if let problem = Self.problem(withName: name) { throw r.error(nameSetting, problem) }

        guard let (kernel, kernelSetting) = try r.string("kernel") else {
            throw r.missing("kernel", "missing: Kite boots a PV guest from its kernel file (kernel = \"...\")")
        }
        guard !kernel.isEmpty else { throw r.error(kernelSetting, "the kernel path is empty") }
        var ramdisk: String?
        if let (v, s) = try r.string("ramdisk") {
            guard !v.isEmpty else { throw r.error(s, "the ramdisk path is empty") }
            ramdisk = v
        }

        let commandLine = try Self.commandLine(&r)

        let mem = UInt64(try r.integer("memory", in: Self.range(Self.memoryRangeMiB), unit: "MiB") ?? Int64(Self.defaultMemoryMiB))
        let maxmem = UInt64(try r.integer("maxmem", in: Self.range(Self.memoryRangeMiB), unit: "MiB") ?? Int64(mem))
        if maxmem < mem, let s = try r.setting("maxmem") {
            throw r.error(s, "maxmem (\(maxmem) MiB) must be at least memory (\(mem) MiB)")
        }
        let vcpuRange = Int64(Self.vcpuRange.lowerBound)...Int64(Self.vcpuRange.upperBound)
        let vcpus = Int(try r.integer("vcpus", in: vcpuRange, unit: "vCPUs") ?? 1)
        let maxVCPUs = Int(try r.integer("maxvcpus", in: vcpuRange, unit: "vCPUs") ?? Int64(vcpus))
        if maxVCPUs < vcpus, let s = try r.setting("maxvcpus") {
            throw r.error(s, "maxvcpus (\(maxVCPUs)) must be at least vcpus (\(vcpus))")
        }

        var uuid: String?
        if let (v, s) = try r.string("uuid") {
            guard let u = Self.canonicalUUID(v) else {
                throw r.error(s, "\"\(v)\" is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
            }
            uuid = u
        }

        self.init(
            name: name, type: type, kernel: kernel, ramdisk: ramdisk, commandLine: commandLine,
            memoryMiB: mem, maxMemoryMiB: maxmem, vcpus: vcpus, maxVCPUs: maxVCPUs,
            disks: try Self.disks(&r), vifs: try Self.vifs(&r), channels: try Self.channels(&r),
            onPoweroff: try r.action("on_poweroff", default: .destroy),
            onReboot: try r.action("on_reboot", default: .restart),
            onCrash: try r.action("on_crash", default: .destroy),
            onWatchdog: try r.action("on_watchdog", default: .destroy), uuid: uuid)

        for key in file.keys where !r.used.contains(key) {
            guard let s = file.settings.last(where: { $0.key == key }) else { continue }
            r.warn(s, Self.ignoredKeys.contains(key) ? "not supported by Kite yet (ignored)" : "unknown key (ignored)")
        }
        warnings += r.warnings
    }

    private static func range(_ r: ClosedRange<UInt64>) -> ClosedRange<Int64> {
        Int64(r.lowerBound)...Int64(r.upperBound)
    }

    /// xl: `cmdline` wins; otherwise `root=ROOT` then `EXTRA`.
    private static func commandLine(_ r: inout XLConfigReader) throws(XLConfigError) -> String {
        let root = try r.string("root")
        let extra = try r.string("extra")
        var line: String
        var where_: XLConfigSetting?
        if let (v, s) = try r.string("cmdline") {
            line = v
            where_ = s
            if root != nil || extra != nil { r.warn(s, "cmdline is set: root and extra are ignored (as in xl)") }
        } else {
            var parts: [String] = []
            if let (v, s) = root {
                parts.append("root=\(v)")
                where_ = s
            }
            if let (v, s) = extra {
                parts.append(v)
                where_ = s
            }
            line = parts.joined(separator: " ")
        }
        if line.utf8.count > maximumCommandLineBytes, let s = where_ {
            throw r.error(s, "the kernel command line has \(line.utf8.count) bytes; Xen's limit is \(maximumCommandLineBytes)")
        }
        return line
    }

    private static func disks(_ r: inout XLConfigReader) throws(XLConfigError) -> [XLDiskSpec] {
        var out: [XLDiskSpec] = []
        var lines: [UInt32: Int] = [:]
        for (text, value, s) in try r.stringList("disk") {
            let d: XLDiskSpec
            do { d = try XLDiskSpec(parsing: text) } catch { throw r.error(s, error.message, value: value) }
            if let first = lines[d.vdev.number] {
                throw r.error(s, "vdev \(d.vdev.name) is used by two disks (the first on line \(first))", value: value)
            }
            lines[d.vdev.number] = value.line
            out.append(d)
        }
        return out
    }

    private static func vifs(_ r: inout XLConfigReader) throws(XLConfigError) -> [XLVifSpec] {
        var out: [XLVifSpec] = []
        for (text, value, s) in try r.stringList("vif") {
            var notes: [String] = []
            let v: XLVifSpec
            do { v = try XLVifSpec(parsing: text, warnings: &notes) } catch { throw r.error(s, error.message, value: value) }
            for n in notes { r.warn(s, n, value: value) }
            if let mac = v.mac, out.contains(where: { $0.mac == mac }) {
                throw r.error(s, "mac \(mac) is given to two vifs", value: value)
            }
            if let id = v.devid, out.enumerated().contains(where: { ($0.element.devid ?? $0.offset) == id }) {
                throw r.error(s, "devid \(id) is used by two vifs", value: value)
            }
            out.append(v)
        }
        return out
    }

    private static func channels(_ r: inout XLConfigReader) throws(XLConfigError) -> [XLChannelSpec] {
        var out: [XLChannelSpec] = []
        for (text, value, s) in try r.stringList("channel") {
            let c: XLChannelSpec
            do { c = try XLChannelSpec(parsing: text) } catch { throw r.error(s, error.message, value: value) }
            if out.contains(where: { $0.name == c.name }) {
                throw r.error(s, "channel name \(c.name) is given to two channels", value: value)
            }
            if case .socket(let path) = c.connection, out.contains(where: { $0.connection == c.connection }) {
                throw r.error(s, "socket \(path) is given to two channels", value: value)
            }
            out.append(c)
        }
        return out
    }
}
