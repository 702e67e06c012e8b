import Foundation

/// Everything needed to start one PV domain on a `PVHost`: what `xl create` gathers from a
/// config file and its command line, in Kite's own terms.
public struct PVDomainSpec: Sendable {
    /// The kernel image: ELF or bzImage, with Xen notes.
    public var kernel: [UInt8]
    /// Where the kernel came from, for messages.
    public var kernelName: String
    public var ramdisk: [UInt8]?
    public var commandLine: String
    public var memoryMiB: UInt64
    /// xl's maxmem: the ceiling the guest's balloon may grow to (Xen's max_pages and
    /// memory/static-max); nil: `memoryMiB`.
    public var maxMemoryMiB: UInt64?
    public var vcpus: Int
    /// xl's maxvcpus: the vCPUs the domain has; those beyond `vcpus` start offline
    /// (`vcpu-set` brings them online with the guest's help). nil: `vcpus`.
    public var maxVCPUs: Int?
    /// The domain's name; nil: the kernel file's name. Unique on a host.
    public var name: String?
    /// Xen: the domain handle; nil: a random one.
    public var uuid: UUID?
    /// Created paused (`xl create -p`): `unpause` starts it.
    public var startPaused: Bool
    /// Bounds each vCPU (tests, benchmarks); the domain crashes when one runs out.
    public var maxInstructions: UInt64?
    /// Virtual disks (xl's disk=[...]).
    public var disks: [PVDiskSpec]
    /// Virtual network interfaces (xl's vif=[...]).
    public var vifs: [PVNetworkSpec]
    /// Named channels: secondary consoles 1, 2, ... (xl's channel=[...]).
    public var channels: [PVChannelSpec]

    public init(
        kernel: [UInt8], kernelName: String, ramdisk: [UInt8]? = nil, commandLine: String = "",
        memoryMiB: UInt64 = 64, maxMemoryMiB: UInt64? = nil, vcpus: Int = 1, maxVCPUs: Int? = nil, name: String? = nil,
        uuid: UUID? = nil, startPaused: Bool = false, maxInstructions: UInt64? = nil,
        disks: [PVDiskSpec] = [], vifs: [PVNetworkSpec] = [], channels: [PVChannelSpec] = []
    ) {
        self.kernel = kernel
        self.kernelName = kernelName
        self.ramdisk = ramdisk
        self.commandLine = commandLine
        self.memoryMiB = memoryMiB
        self.maxMemoryMiB = maxMemoryMiB
        self.vcpus = vcpus
        self.maxVCPUs = maxVCPUs
        self.name = name
        self.uuid = uuid
        self.startPaused = startPaused
        self.maxInstructions = maxInstructions
        self.disks = disks
        self.vifs = vifs
        self.channels = channels
    }

    /// The name the domain gets: `name`, else the kernel file's name without directories
    /// and extension ("vmlinuz", "hello").
    public var effectiveName: String {
        if let name, !name.isEmpty { return name }
        let file = kernelName.split(separator: "/").last.map(String.init) ?? kernelName
        let stem = file.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init) ?? file
        return stem.isEmpty ? "guest" : stem
    }
}

/// One virtual disk: xl's disk spec reduced to what the block backend needs.
public struct PVDiskSpec: Sendable, Equatable {
    /// The image file on the host.
    public var path: String
    /// The guest's name for it ("xvda"); it decides the xenstore device id.
    public var vdev: String
    public var readOnly: Bool
    /// A CD-ROM (xl's devtype=cdrom): read-only, removable.
    public var isCDROM: Bool
    /// Writes go to `path`, an overlay over this shared read-only base image.
    public var copyOnWriteBase: String?

    public init(path: String, vdev: String, readOnly: Bool = false, isCDROM: Bool = false, copyOnWriteBase: String? = nil) {
        self.path = path
        self.vdev = vdev
        self.readOnly = readOnly
        self.isCDROM = isCDROM
        self.copyOnWriteBase = copyOnWriteBase
    }
}

/// One virtual network interface: xl's vif spec reduced to what the net backend needs.
public struct PVNetworkSpec: Sendable, Equatable {
    /// "aa:bb:cc:dd:ee:ff"; nil: a random one in Xen's 00:16:3e prefix.
    public var mac: String?
    /// Which network: the name of a virtual switch shared by the host's domains, or
    /// `PVNetworkSpec.userMode` for NAT to the outside through libslirp.
    public var network: String
    /// Host port forwards for user-mode networking: (host TCP port, guest TCP port).
    public var hostForwards: [HostForward]

    public struct HostForward: Sendable, Equatable {
        public var hostPort: UInt16
        public var guestPort: UInt16
        public init(hostPort: UInt16, guestPort: UInt16) {
            self.hostPort = hostPort
            self.guestPort = guestPort
        }
    }

    /// The network name meaning user-mode networking (libslirp).
    public static let userMode = "slirp"

    public init(mac: String? = nil, network: String = PVNetworkSpec.userMode, hostForwards: [HostForward] = []) {
        self.mac = mac
        self.network = network
        self.hostForwards = hostForwards
    }
}

/// One named channel: a secondary PV console whose xenstore `name` the guest looks up.
public struct PVChannelSpec: Sendable, Equatable {
    public var name: String
    /// kited listens here and joins the channel to the client that connects; nil: the
    /// channel is reached with `kite console --num N` only.
    public var socketPath: String?

    public init(name: String, socketPath: String? = nil) {
        self.name = name
        self.socketPath = socketPath
    }
}
