/// One entry of xl.cfg's `disk = [ ... ]` (xl-disk-configuration(5)), parsed and with xl's
/// defaults applied: format raw, access rw, a cdrom always read-only (and `empty` when it has
/// no target).
public struct XLDiskSpec: Equatable, Sendable {
    /// Xen: libxl_disk_format.
    public enum Format: String, Sendable, CaseIterable {
        case raw, qcow, qcow2, vhd, qed
        /// A cdrom drive with no medium.
        case empty
    }

    public enum Access: String, Sendable {
        case readOnly = "ro"
        case readWrite = "rw"
    }

    public enum DeviceType: String, Sendable {
        case disk, cdrom
    }

    /// Xen: libxl_disk_backend.
    public enum BackendType: String, Sendable, CaseIterable {
        case phy, tap, qdisk, standalone
    }

    /// Xen: libxl_disk_specification.
    public enum Specification: String, Sendable, CaseIterable {
        case xen, virtio
    }

    /// The image file or device; nil for an empty cdrom drive.
    public var target: String?
    public var format: Format
    public var vdev: VirtualBlockDevice
    public var access: Access
    public var deviceType: DeviceType
    /// The backend domain's name (default: domain 0, which Kite itself plays).
    public var backend: String?
    public var backendType: BackendType?
    public var specification: Specification?
    /// A block script run on `target` (`script=`, or the deprecated iscsi:/nbd:/... prefixes).
    public var script: String?
    public var directIOSafe: Bool
    /// nil: the backend's default (advertise discard).
    public var discard: Bool?
    public var trusted: Bool?

    public init(
        target: String?, format: Format = .raw, vdev: VirtualBlockDevice, access: Access = .readWrite,
        deviceType: DeviceType = .disk, backend: String? = nil, backendType: BackendType? = nil,
        specification: Specification? = nil, script: String? = nil, directIOSafe: Bool = false,
        discard: Bool? = nil, trusted: Bool? = nil
    ) {
        self.target = target
        self.format = format
        self.vdev = vdev
        self.access = access
        self.deviceType = deviceType
        self.backend = backend
        self.backendType = backendType
        self.specification = specification
        self.script = script
        self.directIOSafe = directIOSafe
        self.discard = discard
        self.trusted = trusted
    }

    public var isReadOnly: Bool { access == .readOnly }

    /// The spec in xl's key=value form with `target=` last, which parses back to this value
    /// whatever the target contains (commas, colons). The control API carries disks in it.
    public var canonical: String {
        var parts = ["format=\(format.rawValue)", "vdev=\(vdev.name)", "access=\(access.rawValue)", "devtype=\(deviceType.rawValue)"]
        if let backend { parts.append("backend=\(backend)") }
        if let backendType { parts.append("backendtype=\(backendType.rawValue)") }
        if let specification { parts.append("specification=\(specification.rawValue)") }
        if let script { parts.append("script=\(script)") }
        if directIOSafe { parts.append("direct-io-safe") }
        if let discard { parts.append(discard ? "discard" : "no-discard") }
        if let trusted { parts.append(trusted ? "trusted" : "untrusted") }
        if let target { parts.append("target=\(target)") }
        return parts.joined(separator: ",")
    }
}

/// Why a disk or vif spec is refused: the message alone, without file and line (the caller
/// adds them).
public struct XLSpecError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
