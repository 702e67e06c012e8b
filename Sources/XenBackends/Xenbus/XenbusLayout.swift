import XenABI
import XenStore

/// Writing and removing a device's xenstore directories the way libxl does
/// (libxl__device_generic_add, libxl__device_destroy + libxl__xs_path_cleanup).
public enum XenbusLayout {
    /// Writes both ends of `device` in one transaction (retried on EAGAIN), replacing what
    /// was there: backend dir (n<backend>,r<domid>) with frontend, frontend-id, online = 1,
    /// state = Initialising and `keys.backend`; frontend dir (n<domid>,r<backend>) with
    /// backend, backend-id, state = Initialising and `keys.frontend`, plus
    /// `keys.readOnlyFrontend` owned by the backend; and /libxl/<domid>/device/<type>/<devid>
    /// (frontend, backend and a copy of the backend keys, dom0 only).
    public static func write(_ device: XenbusDeviceAddress, keys: XenbusDeviceKeys,
                             using client: XenStoreClient) throws(XenError) {
        let backend = device.backendPath
        let frontend = device.frontendPath
        let initialising = XenbusState.initialising.xenstoreValue
        try client.transaction { (t) throws(XenError) in
            try client.remove(device.libxlPath, in: t, ifParentMissing: true)
            try client.write(device.libxlPath + "/frontend", frontend, in: t)
            try client.write(device.libxlPath + "/backend", backend, in: t)

            try client.remove(frontend, in: t, ifParentMissing: true)
            try client.mkdir(frontend, in: t)
            try client.setPermissions(frontend, device.frontendPermissions, in: t)
            try client.write(frontend + "/backend", backend, in: t)
            for key in [XenbusKey("backend-id", String(device.backendDomain.rawValue)),
                        XenbusKey("state", initialising)] + keys.frontend {
                try writeKey(key, below: frontend, permissions: device.frontendPermissions, client, t)
            }
            for key in keys.readOnlyFrontend {
                try writeKey(key, below: frontend, permissions: device.backendPermissions, client, t)
            }

            try client.remove(backend, in: t, ifParentMissing: true)
            try client.mkdir(backend, in: t)
            try client.setPermissions(backend, device.backendPermissions, in: t)
            try client.write(backend + "/frontend", frontend, in: t)
            let standard = [XenbusKey("frontend-id", String(device.frontendDomain.rawValue)),
                            XenbusKey("online", "1"), XenbusKey("state", initialising)]
            for key in standard + keys.backend {
                try client.write(backend + "/" + key.name, key.value, in: t)
                // libxl keeps a copy it trusts more than the backend's directory.
                try client.write(device.libxlPath + "/" + key.name, key.value, in: t)
            }
        }
    }

    /// Removes the frontend, backend, libxl and error directories of `device`, then the
    /// per-type and per-domain directories above them that became empty (libxl's
    /// libxl__xs_path_cleanup). Missing nodes are no error.
    public static func remove(_ device: XenbusDeviceAddress, using client: XenStoreClient) throws(XenError) {
        let backendRoot = "/local/domain/\(device.backendDomain.rawValue)/backend"
        let frontendRoot = "/local/domain/\(device.frontendDomain.rawValue)/device"
        let errorRoot = "/local/domain/\(device.backendDomain.rawValue)/error/backend"
        let libxlRoot = "/libxl/\(device.frontendDomain.rawValue)/device"
        try client.transaction { (t) throws(XenError) in
            for (path, root) in [(device.frontendPath, frontendRoot), (device.backendPath, backendRoot),
                                 (device.errorPath, errorRoot), (device.libxlPath, libxlRoot)] {
                try client.remove(path, in: t, ifParentMissing: true)
                try pruneEmptyParents(of: path, stoppingAt: root, client, t)
            }
        }
    }

    private static func writeKey(_ key: XenbusKey, below directory: String, permissions: XenStorePermissions,
                                 _ client: XenStoreClient, _ t: XenStoreClient.Transaction) throws(XenError) {
        let path = directory + "/" + key.name
        try client.write(path, key.value, in: t)
        try client.setPermissions(path, permissions, in: t)
    }

    private static func pruneEmptyParents(of path: String, stoppingAt root: String, _ client: XenStoreClient,
                                          _ t: XenStoreClient.Transaction) throws(XenError) {
        var current = path
        while let slash = current.lastIndex(of: "/") {
            current = String(current[..<slash])
            guard current.count > root.count, current.hasPrefix(root + "/") else { return }
            guard let children = try? client.directory(current, in: t), children.isEmpty else { return }
            try client.remove(current, in: t)
        }
    }
}

extension XenStoreClient {
    /// XS_RM that also tolerates a missing parent (xs_rm of libxl ignores ENOENT).
    func remove(_ path: String, in transaction: Transaction?, ifParentMissing: Bool) throws(XenError) {
        do { try remove(path, in: transaction) } catch {
            if !(ifParentMissing && error == .ENOENT) { throw error }
        }
    }
}
