import Foundation

/// Where Kite's sockets live: `$KITE_RUN_DIR`, else `$XDG_RUNTIME_DIR/kite`, else
/// `/tmp/kite-<uid>`. kited's control socket and the xenstore socket of whichever Kite
/// process hosts the domains are found there, so `kite` finds them without options.
public struct KiteRuntimeDirectory: Sendable, Equatable {
    public var path: String

    public init(path: String) { self.path = path }

    /// The directory for this user, from the environment.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> Self {
        if let dir = environment["KITE_RUN_DIR"], !dir.isEmpty { return Self(path: dir) }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return Self(path: runtime + "/kite") }
        return Self(path: "/tmp/kite-\(getuid())")
    }

    /// kited's control API socket.
    public var controlSocket: String { path + "/kited.sock" }
    /// The xenstored wire protocol for host tools (`kite xenstore`).
    public var xenstoreSocket: String { path + "/xenstored.sock" }

    /// Creates the directory (mode 0700: the sockets control every domain) if missing.
    public func create() throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
}
