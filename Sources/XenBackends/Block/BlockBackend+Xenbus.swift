import XenABI

/// blkback's xenbus half: the disk is a `XenbusBackendDevice`, so `XenbusBackend` runs the
/// handshake (InitWait, frontend Initialised → connect → Connected, close, reconnect).
extension BlockBackend: XenbusBackendDevice {
    /// Reads the frontend's transport keys (blkback's connect_ring), maps the ring and
    /// binds the port; returns the keys blkback's connect() publishes.
    public func connect(_ frontend: XenbusFrontend) throws(XenbusError) -> [XenbusKey] {
        var readFailure: XenbusError?
        let transport = BlockFrontendTransport.read(maxRingPageOrder: configuration.maxRingPageOrder) { key in
            do throws(XenbusError) { return try frontend.stringIfPresent(key, maximumLength: 64) } catch {
                if readFailure == nil { readFailure = error }
                return nil
            }
        }
        if let readFailure { throw readFailure }
        switch transport {
        case .failure(let error):
            throw XenbusError(error.errno, "\(frontend.path): \(error)")
        case .success(let t):
            do throws(BlockBackendError) { try connect(t) } catch { throw XenbusError(error.errno, "\(frontend.path): \(error)") }
        }
        return backendKeys.map { XenbusKey($0.0, $0.1) }
    }

    /// Where the vbd lives in xenstore: backend/vbd/<domid>/<virtual-device number>.
    public var xenbusAddress: XenbusDeviceAddress {
        XenbusDeviceAddress(frontend: domain, type: "vbd", devid: configuration.virtualDevice.number)
    }

    /// The keys libxl writes for the vbd, plus what blkback publishes, written before
    /// InitWait (GRUB reads `sectors` as soon as the backend leaves InitWait).
    public var xenbusKeys: XenbusDeviceKeys {
        XenbusDeviceKeys(backend: (BlockXenStoreKeys.toolstackBackend(configuration) + backendKeys).map { XenbusKey($0.0, $0.1) },
                         frontend: BlockXenStoreKeys.toolstackFrontend(configuration).map { XenbusKey($0.0, $0.1) })
    }
}
