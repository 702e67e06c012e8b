/// What `create` asks kited to build: an xl.cfg configuration, already parsed by the client,
/// in JSON with xl.cfg's own key names. Paths are absolute paths on the daemon's host (the
/// client resolves relative ones against its working directory, as xl does); disks and vifs
/// and channels are xl spec strings (xl-disk-configuration(5), xl-network-configuration(5),
/// xl.cfg(5) "Channels"), which kited
/// parses and checks again, so a hand-written request gets the same errors as a file.
///
///     {"name": "web", "kernel": "/srv/vmlinuz", "memory": 256, "vcpus": 1,
///      "disk": ["format=raw,vdev=xvda,access=rw,devtype=disk,target=/srv/web.img"],
///      "vif": ["bridge=slirp"], "on_poweroff": "destroy"}
public struct DomainCreateSpec: Codable, Sendable, Equatable {
    public var name: String
    public var kernel: String
    public var ramdisk: String?
    public var commandLine: String
    public var memoryMiB: UInt64
    public var maxMemoryMiB: UInt64?
    public var vcpus: Int
    public var maxVCPUs: Int?
    /// Lower-case 8-4-4-4-12; nil: kited makes one.
    public var uuid: String?
    public var disks: [String]
    public var vifs: [String]
    /// Named channels (secondary consoles 1, 2, ...), e.g. "name=agent,connection=socket,path=/run/a.sock".
    public var channels: [String]
    public var onPoweroff: DomainAction
    public var onReboot: DomainAction
    public var onCrash: DomainAction
    public var onWatchdog: DomainAction
    /// Created paused (`kite create -p`).
    public var paused: Bool
    /// Kite: each vCPU crashes the domain after this many instructions (tests, demos).
    public var maxInstructions: UInt64?
    /// The configuration file it came from, for `list -l` and logs.
    public var configFile: String?

    public init(
        name: String, kernel: String, ramdisk: String? = nil, commandLine: String = "", memoryMiB: UInt64 = 32,
        maxMemoryMiB: UInt64? = nil, vcpus: Int = 1, maxVCPUs: Int? = nil, uuid: String? = nil,
        disks: [String] = [], vifs: [String] = [], channels: [String] = [], onPoweroff: DomainAction = .destroy,
        onReboot: DomainAction = .restart, onCrash: DomainAction = .destroy, onWatchdog: DomainAction = .destroy,
        paused: Bool = false, maxInstructions: UInt64? = nil, configFile: String? = nil
    ) {
        self.name = name
        self.kernel = kernel
        self.ramdisk = ramdisk
        self.commandLine = commandLine
        self.memoryMiB = memoryMiB
        self.maxMemoryMiB = maxMemoryMiB
        self.vcpus = vcpus
        self.maxVCPUs = maxVCPUs
        self.uuid = uuid
        self.disks = disks
        self.vifs = vifs
        self.channels = channels
        self.onPoweroff = onPoweroff
        self.onReboot = onReboot
        self.onCrash = onCrash
        self.onWatchdog = onWatchdog
        self.paused = paused
        self.maxInstructions = maxInstructions
        self.configFile = configFile
    }

    enum CodingKeys: String, CodingKey {
        case name, kernel, ramdisk, vcpus, uuid, paused
        case commandLine = "cmdline"
        case memoryMiB = "memory"
        case maxMemoryMiB = "maxmem"
        case maxVCPUs = "maxvcpus"
        case disks = "disk"
        case vifs = "vif"
        case channels = "channel"
        case onPoweroff = "on_poweroff"
        case onReboot = "on_reboot"
        case onCrash = "on_crash"
        case onWatchdog = "on_watchdog"
        case maxInstructions = "max_instructions"
        case configFile = "config_file"
    }

    /// Only `name` and `kernel` are required; the rest take xl's defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name),
            kernel: try c.decode(String.self, forKey: .kernel),
            ramdisk: try c.decodeIfPresent(String.self, forKey: .ramdisk),
            commandLine: try c.decodeIfPresent(String.self, forKey: .commandLine) ?? "",
            memoryMiB: try c.decodeIfPresent(UInt64.self, forKey: .memoryMiB) ?? 32,
            maxMemoryMiB: try c.decodeIfPresent(UInt64.self, forKey: .maxMemoryMiB),
            vcpus: try c.decodeIfPresent(Int.self, forKey: .vcpus) ?? 1,
            maxVCPUs: try c.decodeIfPresent(Int.self, forKey: .maxVCPUs),
            uuid: try c.decodeIfPresent(String.self, forKey: .uuid),
            disks: try c.decodeIfPresent([String].self, forKey: .disks) ?? [],
            vifs: try c.decodeIfPresent([String].self, forKey: .vifs) ?? [],
            channels: try c.decodeIfPresent([String].self, forKey: .channels) ?? [],
            onPoweroff: try c.decodeIfPresent(DomainAction.self, forKey: .onPoweroff) ?? .destroy,
            onReboot: try c.decodeIfPresent(DomainAction.self, forKey: .onReboot) ?? .restart,
            onCrash: try c.decodeIfPresent(DomainAction.self, forKey: .onCrash) ?? .destroy,
            onWatchdog: try c.decodeIfPresent(DomainAction.self, forKey: .onWatchdog) ?? .destroy,
            paused: try c.decodeIfPresent(Bool.self, forKey: .paused) ?? false,
            maxInstructions: try c.decodeIfPresent(UInt64.self, forKey: .maxInstructions),
            configFile: try c.decodeIfPresent(String.self, forKey: .configFile))
    }
}

/// What kited does when a domain stops (xl.cfg on_poweroff, on_reboot, on_crash,
/// on_watchdog). Xen: libxl_action_on_shutdown.
public enum DomainAction: String, Codable, Sendable, CaseIterable {
    /// Destroy the domain.
    case destroy
    /// Destroy it and create it again from the same configuration (a new domain id).
    case restart
    /// Keep it, shut down, until `kite destroy`.
    case preserve
    /// Keep it under a new name (`NAME-YYYYMMDDTHHMMZ`) and create it again with its name.
    case renameRestart = "rename-restart"
}
