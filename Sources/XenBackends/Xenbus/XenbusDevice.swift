import XenABI

/// Why a device could not connect, as xenbus_dev_fatal reports it: an errno and a message
/// ("reading /local/domain/1/device/vbd/51712/ring-ref: not a number"). The backend writes
/// "<errno> <message>" to its error node and goes to Closing.
public struct XenbusError: Error, Hashable, Sendable, CustomStringConvertible {
    public var errno: XenError
    public var message: String

    public init(_ errno: XenError, _ message: String) {
        self.errno = errno
        self.message = message
    }

    public var description: String { "\(errno.rawValue) \(message)" }
}

/// The device-specific half of a xenbus backend (blkback's, netback's, a console's), driven
/// by `XenbusBackend`. Both calls run on the backend's serial queue, never concurrently and
/// never under the store's lock, so they may use the `XenStoreClient` freely.
public protocol XenbusBackendDevice: AnyObject, Sendable {
    /// The frontend published its details: read them (ring-ref(s), event-channel,
    /// protocol…) through `frontend`, which refuses missing, malformed and out-of-range
    /// values; map the rings; bind the ports. Returns keys to write in the backend
    /// directory before it switches to Connected (blkback's sectors/info/sector-size…).
    /// Throwing sends the backend to Closing with the error in its error node; `disconnect`
    /// is called next, so a half-done connect needs no cleanup of its own.
    func connect(_ frontend: XenbusFrontend) throws(XenbusError) -> [XenbusKey]

    /// Unmaps the rings and closes the ports. Idempotent; called before every connect,
    /// when the frontend closes or vanishes, and at teardown.
    func disconnect()
}
