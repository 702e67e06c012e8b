import XenABI
import XenStore

/// One split device as the toolstack lays it out in xenstore: which guest, which kind
/// ("vbd", "vif", "console"), which number, and the keys each end starts with.
/// Xen: libxl__device + the back/front/ro_front arrays of libxl__device_generic_add
/// (tools/libs/light/libxl_device.c).
///
/// Paths (libxl's):
/// ```
/// backend   /local/domain/<backend>/backend/<type>/<domid>/<devid>   n<backend>,r<domid>
///             frontend, frontend-id, online = 1, state = 1, + backendKeys
/// frontend  /local/domain/<domid>/device/<type>/<devid>              n<domid>,r<backend>
///             backend, backend-id, state = 1, + frontendKeys      (guest-owned)
///             + readOnlyFrontendKeys                              (n<backend>,r<domid>)
/// libxl     /libxl/<domid>/device/<type>/<devid>                     frontend, backend
/// error     /local/domain/<backend>/error/backend/<type>/<domid>/<devid>/error
///             (written by the backend's xenbus_dev_fatal)
/// ```
public struct XenbusDeviceAddress: Hashable, Sendable, CustomStringConvertible {
    /// The guest running the frontend.
    public var frontendDomain: DomainID
    /// The domain serving the device (Kite: domain 0).
    public var backendDomain: DomainID
    /// The device kind, as in the paths: "vbd", "vif", "console".
    public var type: String
    /// The device number: for vbd the virtual-device number (xvda = 51712), for vif and
    /// console the index.
    public var devid: UInt32

    public init(frontend: DomainID, type: String, devid: UInt32, backend: DomainID = .controlDomain) {
        self.frontendDomain = frontend
        self.backendDomain = backend
        self.type = type
        self.devid = devid
    }

    /// Xen: libxl__device_backend_path.
    public var backendPath: String {
        "/local/domain/\(backendDomain.rawValue)/backend/\(type)/\(frontendDomain.rawValue)/\(devid)"
    }

    /// Xen: libxl__device_frontend_path (console 0 is the primary console, not a xenbus
    /// device; this type does not describe it).
    public var frontendPath: String {
        "/local/domain/\(frontendDomain.rawValue)/device/\(type)/\(devid)"
    }

    /// Xen: libxl__device_libxl_path.
    public var libxlPath: String { "/libxl/\(frontendDomain.rawValue)/device/\(type)/\(devid)" }

    /// The backend's name relative to its domain's home, as Linux's xenbus knows it
    /// (`dev->nodename`): "backend/vbd/1/51712".
    public var backendNodeName: String { "backend/\(type)/\(frontendDomain.rawValue)/\(devid)" }

    /// Where the backend's xenbus_dev_error/xenbus_dev_fatal leave their message: the node
    /// `error` below `/local/domain/<backend>/error/<nodename>`.
    public var errorPath: String {
        "/local/domain/\(backendDomain.rawValue)/error/\(backendNodeName)"
    }

    public var description: String { "\(type) \(devid) of \(frontendDomain)" }

    /// The frontend directory: owned by the guest, readable by the backend. Xen:
    /// frontend_perms.
    public var frontendPermissions: XenStorePermissions {
        XenStorePermissions(owner: frontendDomain, grants: [(backendDomain, .read)])
    }

    /// The backend directory and the read-only frontend keys: owned by the backend,
    /// readable by the guest. Xen: backend_perms, ro_frontend_perms.
    public var backendPermissions: XenStorePermissions {
        XenStorePermissions(owner: backendDomain, grants: [(frontendDomain, .read)])
    }
}

/// The keys a device starts with, in the order they are written.
public struct XenbusDeviceKeys: Hashable, Sendable {
    /// Written in the backend directory after frontend, frontend-id, online and state:
    /// what the toolstack tells the backend ("params", "mode", "mac"…) and the features
    /// the backend announces before InitWait ("feature-rx-copy", "sectors"…).
    public var backend: [XenbusKey]
    /// Written in the frontend directory, writable by the guest ("virtual-device",
    /// "device-type", "handle", "mac", "protocol"…).
    public var frontend: [XenbusKey]
    /// Written in the frontend directory, read-only for the guest ("limit", "type",
    /// "output", "tty" of a console).
    public var readOnlyFrontend: [XenbusKey]

    public init(backend: [XenbusKey] = [], frontend: [XenbusKey] = [], readOnlyFrontend: [XenbusKey] = []) {
        self.backend = backend
        self.frontend = frontend
        self.readOnlyFrontend = readOnlyFrontend
    }
}

/// One key and its value, relative to a device directory.
public struct XenbusKey: Hashable, Sendable, ExpressibleByStringLiteral {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// `"name=value"`.
    public init(stringLiteral literal: String) {
        let parts = literal.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        name = String(parts[0])
        value = parts.count > 1 ? String(parts[1]) : ""
    }
}
