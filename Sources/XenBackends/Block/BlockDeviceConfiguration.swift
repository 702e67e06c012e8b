import XenABI

/// What the guest is told the device is. Xen: the `device-type` key ("disk", "cdrom").
public enum BlockDeviceType: String, Hashable, Sendable {
    case disk
    case cdrom
}

/// Why a disk cannot be configured or opened; the message says what to fix.
public enum BlockConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The vdev is not a name Xen's vbd encoding can express.
    case virtualDevice(String)
    case open(path: String, errno: Int32, message: String)
    /// The image is smaller than one 512-byte sector.
    case empty(path: String)
    /// The overlay file is not a Kite overlay, or does not match its base.
    case overlay(path: String, reason: String)
    case io(path: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .virtualDevice(let name):
            "'\(name)' is not a virtual disk name: use xvdN (xvda, xvdb, …), sdN, hdN, dNpM or a number"
        case .open(let path, _, let message):
            "cannot open disk image \(path): \(message)"
        case .empty(let path):
            "disk image \(path) is smaller than one 512-byte sector"
        case .overlay(let path, let reason):
            "copy-on-write overlay \(path): \(reason)"
        case .io(let path, _, let message):
            "disk image \(path): \(message)"
        }
    }
}

/// One virtual disk of a domain: the host image, how the guest sees it, and what the
/// backend offers. Xen: what libxl writes for a vbd (`params`, `mode`, `dev`,
/// `device-type`, `discard-enable`) plus Kite's copy-on-write overlay.
public struct BlockDeviceConfiguration: Hashable, Sendable {
    /// The image: a raw file or block device, or (with `copyOnWriteBase`) the overlay
    /// file, created if missing.
    public var path: String
    /// Xen: mode "r" — writes, flushes and discards get BLKIF_RSP_ERROR, as blkback's
    /// access check answers them; VDISK_READONLY is set in `info`.
    public var isReadOnly: Bool
    public var virtualDevice: BlockVirtualDevice
    public var deviceType: BlockDeviceType
    /// A read-only base image shared between domains: reads of blocks the guest never
    /// wrote come from it, writes go to the overlay at `path`.
    public var copyOnWriteBase: String?
    /// Xen: `discard-enable` — offer BLKIF_OP_DISCARD (holes punched in the image).
    public var discardEnabled: Bool
    /// Segments per BLKIF_OP_INDIRECT request offered; 0 does not offer indirect
    /// requests. Xen: feature-max-indirect-segments (blkback: MAX_INDIRECT_SEGMENTS 256).
    public var maxIndirectSegments: Int
    /// Largest ring the frontend may use, as lb(pages). Xen: max-ring-page-order.
    public var maxRingPageOrder: Int
    /// Block size of a new overlay (a power of two, 512 B to 1 MiB).
    public var overlayBlockSize: Int

    /// Xen: MAX_INDIRECT_SEGMENTS (Linux blkback).
    public static let defaultMaxIndirectSegments = 256

    public init(path: String, virtualDevice: BlockVirtualDevice, readOnly: Bool = false, deviceType: BlockDeviceType = .disk,
                copyOnWriteBase: String? = nil, discardEnabled: Bool = true,
                maxIndirectSegments: Int = Self.defaultMaxIndirectSegments,
                maxRingPageOrder: Int = BlockInterface.maxRingPageOrder,
                overlayBlockSize: Int = CopyOnWriteOverlayHeader.defaultBlockSize) {
        self.path = path
        self.virtualDevice = virtualDevice
        // A CD-ROM is never writable (libxl forces mode "r").
        isReadOnly = readOnly || deviceType == .cdrom
        self.deviceType = deviceType
        self.copyOnWriteBase = copyOnWriteBase
        self.discardEnabled = discardEnabled
        self.maxIndirectSegments = min(max(maxIndirectSegments, 0),
                                       BlockInterface.maxIndirectPagesPerRequest * BlockInterface.segmentsPerIndirectPage)
        self.maxRingPageOrder = min(max(maxRingPageOrder, 0), BlockInterface.maxRingPageOrder)
        self.overlayBlockSize = overlayBlockSize
    }

    /// With the vdev as a name ("xvda").
    public init(path: String, vdev: String, readOnly: Bool = false, deviceType: BlockDeviceType = .disk,
                copyOnWriteBase: String? = nil) throws(BlockConfigurationError) {
        guard let device = BlockVirtualDevice(vdev) else { throw .virtualDevice(vdev) }
        self.init(path: path, virtualDevice: device, readOnly: readOnly, deviceType: deviceType,
                  copyOnWriteBase: copyOnWriteBase)
    }

    /// Xen: the `info` key (VDISK_* bits).
    public var info: BlockDiskInfo {
        var bits: BlockDiskInfo = []
        if deviceType == .cdrom { bits.formUnion([.cdrom, .removable]) }
        if isReadOnly { bits.insert(.readOnly) }
        return bits
    }

    /// Opens the image this configuration describes.
    public func openImage() throws(BlockConfigurationError) -> any BlockImage {
        if let base = copyOnWriteBase {
            return try CopyOnWriteImage(overlayPath: path, basePath: base, readOnly: isReadOnly,
                                        newBlockSize: overlayBlockSize)
        }
        return try RawBlockImage(path: path, readOnly: isReadOnly)
    }
}
