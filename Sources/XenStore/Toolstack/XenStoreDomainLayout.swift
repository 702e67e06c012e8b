import XenABI

/// The keys a toolstack writes for a new domain before introducing it, as libxl does
/// (`libxl__domain_make` and `libxl__build_post`):
///
/// ```
/// /local/domain/<d>            n0,r<d>   name, domid, vm, memory/{static-max,target,videoram},
///                                        cpu/<n>/availability, store/{port,ring-ref},
///                                        console/{backend-id,limit,type,port,ring-ref}
///   control/                   n0,r<d>   platform-feature-multiprocessor-suspend = 1,
///                                        platform-feature-xs_reset_watches = 1
///   control/{shutdown,feature-poweroff,feature-reboot,feature-suspend,sysrq}   n<d>
///   device/  cpu/  memory/     n0,r<d>   device/suspend/event-channel          n<d>
///   data/ drivers/ feature/ attr/ error/                                       n<d>
/// /vm/<uuid>                   n0,r<d>   uuid, name
/// /libxl/<d>                   n0        device/, type
/// ```
/// (`n<d>` = owned by the guest, so it may write and the nodes vanish with it.)
public struct XenStoreDomainLayout: Hashable, Sendable {
    public var domain: DomainID
    public var name: String
    /// The domain's UUID as text; nil leaves out /vm/<uuid> and the `vm` key.
    public var uuid: String?
    /// Guest kind recorded under /libxl/<d>/type ("pv", "pvh", "hvm").
    public var type: String
    public var targetMemoryKiB: UInt64
    public var maximumMemoryKiB: UInt64
    public var videoMemoryKiB: UInt64
    /// vCPUs online at start (`cpu/<n>/availability` = online).
    public var vcpus: Int
    /// vCPUs the domain has (maxvcpus): those from `vcpus` on are written offline.
    public var maximumVCPUs: Int
    public var storePort: EventChannelPort
    /// Frame of the store page as the guest knows it (PV: its MFN; PVH/HVM: its GFN).
    public var storeFrame: UInt64
    public var consolePort: EventChannelPort
    public var consoleFrame: UInt64
    public var consoleBackend: DomainID

    public init(domain: DomainID, name: String, uuid: String? = nil, type: String = "pv",
                targetMemoryKiB: UInt64, maximumMemoryKiB: UInt64? = nil, videoMemoryKiB: UInt64 = 0,
                vcpus: Int = 1, maximumVCPUs: Int? = nil, storePort: EventChannelPort, storeFrame: UInt64,
                consolePort: EventChannelPort, consoleFrame: UInt64, consoleBackend: DomainID = .controlDomain) {
        self.domain = domain
        self.name = name
        self.uuid = uuid
        self.type = type
        self.targetMemoryKiB = targetMemoryKiB
        self.maximumMemoryKiB = maximumMemoryKiB ?? targetMemoryKiB
        self.videoMemoryKiB = videoMemoryKiB
        self.vcpus = vcpus
        self.maximumVCPUs = max(maximumVCPUs ?? vcpus, vcpus)
        self.storePort = storePort
        self.storeFrame = storeFrame
        self.consolePort = consolePort
        self.consoleFrame = consoleFrame
        self.consoleBackend = consoleBackend
    }

    /// `/local/domain/<d>`.
    public var domainPath: String { "/local/domain/\(domain.rawValue)" }
    public var vmPath: String? { uuid.map { "/vm/\($0)" } }
    public var libxlPath: String { "/libxl/\(domain.rawValue)" }

    /// Nodes to create: path, value (nil = directory created empty with MKDIR), permissions
    /// (nil = inherited from the parent).
    var entries: [(path: String, value: String?, permissions: XenStorePermissions?)] {
        let readOnly = XenStorePermissions(owner: .controlDomain, grants: [(domain, .read)])
        let guestOwned = XenStorePermissions(owner: domain)
        let hidden = XenStorePermissions(owner: .controlDomain)
        let base = domainPath
        var list: [(path: String, value: String?, permissions: XenStorePermissions?)] = [(base, nil, readOnly)]
        if let vmPath {
            list.append((vmPath, nil, readOnly))
            list.append((vmPath + "/uuid", uuid, nil))
            list.append((vmPath + "/name", name, nil))
            list.append((base + "/vm", vmPath, nil))
        }
        list.append((libxlPath, nil, hidden))
        list.append((libxlPath + "/device", nil, hidden))
        list.append((libxlPath + "/type", type, nil))
        list.append((base + "/name", name, nil))
        for directory in ["cpu", "memory", "device", "control"] {
            list.append((base + "/" + directory, nil, readOnly))
        }
        for key in ["control/shutdown", "control/feature-poweroff", "control/feature-reboot",
                    "control/feature-suspend", "control/sysrq", "device/suspend/event-channel",
                    "data", "drivers", "feature", "attr", "error"] {
            list.append((base + "/" + key, nil, guestOwned))
        }
        list.append((base + "/control/platform-feature-multiprocessor-suspend", "1", nil))
        list.append((base + "/control/platform-feature-xs_reset_watches", "1", nil))
        list.append((base + "/memory/static-max", String(maximumMemoryKiB), nil))
        list.append((base + "/memory/target", String(targetMemoryKiB &- min(videoMemoryKiB, targetMemoryKiB)), nil))
        list.append((base + "/memory/videoram", String(videoMemoryKiB), nil))
        list.append((base + "/domid", String(domain.rawValue), nil))
        list.append((base + "/store/port", String(storePort.rawValue), nil))
        list.append((base + "/store/ring-ref", String(storeFrame), nil))
        for cpu in 0..<max(maximumVCPUs, 0) {
            list.append((base + "/cpu/\(cpu)/availability", cpu < vcpus ? "online" : "offline", nil))
        }
        list.append((base + "/console/backend-id", String(consoleBackend.rawValue), nil))
        list.append((base + "/console/limit", "1048576", nil))
        list.append((base + "/console/type", "xenconsoled", nil))
        list.append((base + "/console/port", String(consolePort.rawValue), nil))
        list.append((base + "/console/ring-ref", String(consoleFrame), nil))
        return list
    }
}

extension XenStoreServer {
    /// Writes `layout` as dom0 in one transaction (after registering the domain, so the
    /// permissions naming it take effect). Existing trees at the domain's paths are replaced.
    /// Introduce the domain afterwards (`introduceDomain`) once its ring is ready.
    @discardableResult
    public mutating func writeDomainLayout(_ layout: XenStoreDomainLayout) throws(XenError) -> [XenStoreAction] {
        domainCreated(layout.domain)
        let transaction = try startTransaction()
        do throws(XenError) {
            var events: [XenStoreAction] = []
            for path in [layout.domainPath, layout.libxlPath] + (layout.vmPath.map { [$0] } ?? []) {
                // Like libxl's xs_rm, a missing parent (fresh store) is not an error.
                do throws(XenError) {
                    try remove(path, transaction: transaction)
                } catch {
                    if error != .ENOENT { throw error }
                }
            }
            for entry in layout.entries {
                if let value = entry.value {
                    try write(entry.path, value, transaction: transaction)
                } else {
                    try mkdir(entry.path, transaction: transaction)
                }
                if let permissions = entry.permissions {
                    try setPermissions(entry.path, permissions, transaction: transaction)
                }
            }
            events += try endTransaction(transaction, commit: true)
            return events
        } catch {
            _ = try? endTransaction(transaction, commit: false)
            throw error
        }
    }

    /// Removes what `writeDomainLayout` created (the toolstack's part of domain teardown).
    @discardableResult
    public mutating func removeDomainLayout(_ layout: XenStoreDomainLayout) throws(XenError) -> [XenStoreAction] {
        var events: [XenStoreAction] = []
        for path in [layout.domainPath, layout.libxlPath] + (layout.vmPath.map { [$0] } ?? []) {
            events += try remove(path)
        }
        return events
    }
}
