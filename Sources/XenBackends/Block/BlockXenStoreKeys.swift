import XenABI

/// What the frontend published for one connection: its ring pages, its event channel and
/// its ABI. Xen: the frontend keys blkback's connect_ring / read_per_ring_refs read.
public struct BlockFrontendTransport: Hashable, Sendable {
    /// The ring's pages in order: `ring-ref`, or `ring-ref0` … `ring-ref<2^order − 1>`.
    public var ringReferences: [GrantReference]
    /// Xen: event-channel (the frontend's unbound port for domain 0).
    public var eventChannel: EventChannelPort
    /// Xen: protocol (absent: the backend's native ABI, x86_64-abi).
    public var protocolABI: String

    public init(ringReferences: [GrantReference], eventChannel: EventChannelPort,
                protocolABI: String = BlockInterface.protocolX86_64) {
        self.ringReferences = ringReferences
        self.eventChannel = eventChannel
        self.protocolABI = protocolABI
    }

    /// Reads the keys through `read` (a key relative to the frontend directory → its
    /// value, nil when absent), checking them as blkback does; the error names the key.
    public static func read(maxRingPageOrder: Int,
                            _ read: (String) -> String?) -> Result<BlockFrontendTransport, BlockTransportError> {
        let protocolABI = read("protocol") ?? BlockInterface.protocolX86_64
        guard protocolABI == BlockInterface.protocolX86_64 else { return .failure(.unsupportedProtocol(protocolABI)) }
        if let queues = read("multi-queue-num-queues") {
            // multi-queue-max-queues is not offered: only one queue is acceptable.
            guard number(queues) == 1 else { return .failure(.badValue("multi-queue-num-queues", queues)) }
        }
        var refs: [GrantReference] = []
        if let orderText = read("ring-page-order") {
            guard let order = number(orderText) else { return .failure(.badValue("ring-page-order", orderText)) }
            guard order <= UInt32(maxRingPageOrder) else { return .failure(.ringTooLarge(order: order, maximum: maxRingPageOrder)) }
            for i in 0..<(1 << Int(order)) {
                let key = "ring-ref\(i)"
                guard let text = read(key) else { return .failure(.missing(key)) }
                guard let ref = number(text) else { return .failure(.badValue(key, text)) }
                refs.append(GrantReference(ref))
            }
        } else {
            guard let text = read("ring-ref") else { return .failure(.missing("ring-ref")) }
            guard let ref = number(text) else { return .failure(.badValue("ring-ref", text)) }
            refs.append(GrantReference(ref))
        }
        guard let portText = read("event-channel") else { return .failure(.missing("event-channel")) }
        guard let port = number(portText), port != 0 else { return .failure(.badValue("event-channel", portText)) }
        return .success(BlockFrontendTransport(ringReferences: refs, eventChannel: EventChannelPort(port),
                                               protocolABI: protocolABI))
    }

    /// A decimal u32 as the frontend writes it with "%u" (no sign, no blanks).
    static func number(_ text: String) -> UInt32? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 10, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt32(text)
    }
}

/// Why the frontend's keys cannot be used; blkback reports these with xenbus_dev_fatal.
public enum BlockTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    case missing(String)
    case badValue(String, String)
    case ringTooLarge(order: UInt32, maximum: Int)
    /// Only the 64-bit ABI is served (x86_32-abi frontends such as GRUB i386 are not).
    case unsupportedProtocol(String)

    public var description: String {
        switch self {
        case .missing(let key): "reading \(key): the frontend did not write it"
        case .badValue(let key, let value): "reading \(key): '\(value)' is not valid"
        case .ringTooLarge(let order, let maximum): "ring-page-order \(order) exceeds max-ring-page-order \(maximum)"
        case .unsupportedProtocol(let abi): "unknown fe protocol \(abi)"
        }
    }

    /// The errno blkback gives xenbus_dev_fatal for it.
    public var errno: XenError {
        switch self {
        case .missing: .ENOENT
        case .badValue, .ringTooLarge: .EINVAL
        case .unsupportedProtocol: .ENOSYS
        }
    }
}

/// The keys of a vbd in xenstore, as libxl and blkback write them.
public enum BlockXenStoreKeys {
    /// The toolstack's backend keys (libxl's device_disk_add), after frontend,
    /// frontend-id, online and state: params, type, mode, device-type, removable,
    /// bootable, dev, discard-enable.
    public static func toolstackBackend(_ c: BlockDeviceConfiguration) -> [(String, String)] {
        [("params", c.path), ("type", "file"), ("mode", c.isReadOnly ? "r" : "w"),
         ("device-type", c.deviceType.rawValue), ("removable", c.deviceType == .cdrom ? "1" : "0"),
         ("bootable", "1"), ("dev", c.virtualDevice.name), ("discard-enable", c.discardEnabled ? "1" : "0")]
    }

    /// The toolstack's frontend keys, after backend, backend-id and state.
    public static func toolstackFrontend(_ c: BlockDeviceConfiguration) -> [(String, String)] {
        [("virtual-device", String(c.virtualDevice.number)), ("device-type", c.deviceType.rawValue)]
    }

    /// What the backend publishes before InitWait (blkback's probe:
    /// feature-max-indirect-segments, max-ring-page-order) and, early as the fact sheet
    /// asks for GRUB, the disk's properties (blkback's connect: sectors, info,
    /// sector-size, physical-sector-size, feature-flush-cache, feature-barrier,
    /// feature-discard with discard-granularity/-alignment/-secure). Published again
    /// unchanged at Connected. feature-persistent is not offered.
    public static func backendFeatures(sectors: UInt64, info: BlockDiskInfo, features: BlockFeatures,
                                       maxRingPageOrder: Int) -> [(String, String)] {
        var keys: [(String, String)] = []
        if features.maxIndirectSegments > 0 {
            keys.append(("feature-max-indirect-segments", String(features.maxIndirectSegments)))
        }
        keys.append(("max-ring-page-order", String(maxRingPageOrder)))
        if features.flush {
            keys.append(("feature-flush-cache", "1"))
            keys.append(("feature-barrier", "1"))
        }
        if features.discard {
            keys.append(("discard-granularity", String(discardGranularity)))
            keys.append(("discard-alignment", "0"))
            keys.append(("discard-secure", "0"))
            keys.append(("feature-discard", "1"))
        }
        keys.append(("sectors", String(sectors)))
        keys.append(("info", String(info.rawValue)))
        keys.append(("sector-size", String(BlockInterface.sectorSize)))
        keys.append(("physical-sector-size", String(BlockInterface.sectorSize)))
        return keys
    }

    /// Discards are best page-sized: holes are punched in file-system blocks.
    public static let discardGranularity = 4096
}
