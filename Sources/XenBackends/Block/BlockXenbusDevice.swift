import Dispatch
import XenABI
import XenControl

/// One virtual disk of a domain, complete: the image and ring engine (`BlockBackend`) and
/// its xenstore handshake (`XenbusBackend` with blkback's policy). What a host builds per
/// disk of a domain:
///
/// ```swift
/// let disk = try BlockXenbusDevice(domain: d, configuration: c, grants: g, events: e, client: store)
/// try disk.start()        // xenstore directories written, backend in InitWait
/// …
/// disk.stop()             // directories removed, ring released, image flushed and closed
/// ```
///
/// A frontend that breaks its ring is disconnected and the backend goes to Closing with
/// the reason in its error node (xenbus_dev_fatal); other disks are not affected.
public final class BlockXenbusDevice: Sendable {
    public let backend: BlockBackend
    public let xenbus: XenbusBackend

    /// Opens the image; nothing is written to xenstore until `start`.
    public init(domain: DomainID, configuration: BlockDeviceConfiguration, grants: any GrantMapper,
                events: any EventChannelAccess, client: XenStoreClient,
                log: @escaping @Sendable (String) -> Void = { _ in },
                onStateChange: XenbusBackend.StateObserver? = nil) throws(BlockConfigurationError) {
        let backend = try BlockBackend(domain: domain, configuration: configuration, grants: grants, events: events)
        let xenbus = XenbusBackend(address: backend.xenbusAddress, keys: backend.xenbusKeys, device: backend,
                                   client: client, policy: .blkback, log: log, onStateChange: onStateChange)
        backend.setFailureHandler { [weak xenbus] failure in
            xenbus?.fail(XenbusError(.EACCES, failure.description))
        }
        self.backend = backend
        self.xenbus = xenbus
    }

    /// Writes the vbd's directories and waits for the frontend (InitWait).
    public func start() throws(XenError) {
        try xenbus.start()
    }

    /// Asks the guest to let go of the disk (libxl's graceful remove): online = 0, Closing.
    public func requestRemoval() {
        xenbus.requestRemoval()
    }

    /// Tears everything down: directories removed, ring released, image flushed and
    /// closed. Idempotent; not from the xenbus queue.
    public func stop() {
        xenbus.teardown()
        backend.close()
    }

    public var statistics: BlockStatistics { backend.statistics }
    public var state: XenbusState { xenbus.backendState }
    public var isConnected: Bool { backend.isConnected }
}
