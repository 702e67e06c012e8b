/// A domain's configuration from an xl.cfg file (xl.cfg(5)), with xl's defaults applied:
/// what `kite create` hands to kited.
public struct XLDomainConfig: Equatable, Sendable {
    /// Xen: libxl_domain_type. Kite builds PV domains; PVH and HVM are refused until they exist.
    public enum GuestType: String, Sendable, CaseIterable {
        case pv, pvh, hvm
    }

    /// What happens when a domain stops (xl.cfg "Event Actions").
    /// Xen: libxl_action_on_shutdown.
    public enum Action: String, Sendable, CaseIterable {
        /// Destroy the domain.
        case destroy
        /// Destroy it and create a new domain with the same configuration.
        case restart
        /// Keep it (shut down, memory intact) until `kite destroy`.
        case preserve
        /// Rename the stopped domain (keep it as with preserve) and create a new one with
        /// the original name and the same configuration.
        case renameRestart = "rename-restart"
    }

    /// xl's defaults (libxl): 32 MiB, one vCPU.
    public static let defaultMemoryMiB: UInt64 = 32
    /// Kite's builder needs room for its layout; 1 TiB is far above any host of Kite's.
    public static let memoryRangeMiB: ClosedRange<UInt64> = 4...(1 << 20)
    /// Xen: XEN_LEGACY_MAX_VCPUS — the vcpu_info slots in a PV guest's shared_info.
    public static let vcpuRange: ClosedRange<Int> = 1...32
    /// Xen: MAX_GUEST_CMDLINE (1024, with the terminating NUL).
    public static let maximumCommandLineBytes = 1023
    public static let maximumNameLength = 64

    public var name: String
    public var type: GuestType
    public var kernel: String
    public var ramdisk: String?
    /// From `cmdline`, or else `root=ROOT EXTRA` (xl: cmdline wins over root and extra).
    public var commandLine: String
    public var memoryMiB: UInt64
    public var maxMemoryMiB: UInt64
    public var vcpus: Int
    public var maxVCPUs: Int
    public var disks: [XLDiskSpec]
    public var vifs: [XLVifSpec]
    /// Named channels (secondary consoles 1, 2, ... in this order).
    public var channels: [XLChannelSpec]
    public var onPoweroff: Action
    public var onReboot: Action
    public var onCrash: Action
    public var onWatchdog: Action
    /// Lower-case 8-4-4-4-12 hex; nil: kited generates one.
    public var uuid: String?

    public init(
        name: String, type: GuestType = .pv, kernel: String, ramdisk: String? = nil, commandLine: String = "",
        memoryMiB: UInt64 = Self.defaultMemoryMiB, maxMemoryMiB: UInt64? = nil, vcpus: Int = 1, maxVCPUs: Int? = nil,
        disks: [XLDiskSpec] = [], vifs: [XLVifSpec] = [], channels: [XLChannelSpec] = [], onPoweroff: Action = .destroy,
        onReboot: Action = .restart, onCrash: Action = .destroy, onWatchdog: Action = .destroy, uuid: String? = nil
    ) {
        self.name = name
        self.type = type
        self.kernel = kernel
        self.ramdisk = ramdisk
        self.commandLine = commandLine
        self.memoryMiB = memoryMiB
        self.maxMemoryMiB = maxMemoryMiB ?? memoryMiB
        self.vcpus = vcpus
        self.maxVCPUs = maxVCPUs ?? vcpus
        self.disks = disks
        self.vifs = vifs
        self.channels = channels
        self.onPoweroff = onPoweroff
        self.onReboot = onReboot
        self.onCrash = onCrash
        self.onWatchdog = onWatchdog
        self.uuid = uuid
    }

    /// Why `name` cannot name a domain, or nil if it can: libxl's rule as Kite's host applies
    /// it — letters, digits, '-', '_' and '.', at most 64 characters, not all digits (every
    /// command takes a name or an id, so an all-digit name would read as an id).
    public static func problem(withName name: String) -> String? {
        if name.isEmpty { return "a domain name cannot be empty" }
        if name.count > maximumNameLength { return "a domain name has at most \(maximumNameLength) characters" }
        if name.allSatisfy(\.isNumber) { return "a domain name cannot be all digits (it would read as a domain id)" }
        if let bad = name.first(where: { !($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
            return "a domain name has only letters, digits, '-', '_' and '.', not \(bad.debugDescription)"
        }
        return nil
    }

    /// Parses a lower-case canonical UUID, or nil.
    public static func canonicalUUID(_ text: String) -> String? {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12],
            groups.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isHexDigit } })
        else { return nil }
        return text.lowercased()
    }
}
