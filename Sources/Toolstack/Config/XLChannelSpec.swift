/// One entry of xl.cfg's `channel = [ ... ]` (xl.cfg(5) "Channels"): a named,
/// bidirectional byte stream between the guest and the host, carried as a secondary PV
/// console (`device/console/<n>`, n ≥ 1, with a `name` key the guest finds it by —
/// Linux shows it as /dev/hvc<n>).
///
/// `connection=socket,path=PATH`: kited listens on the Unix socket PATH and joins the
/// channel to whichever client connects. `connection=pty` (the default): Kite makes no host
/// pty; the channel is reached with `kite console --num N <domain>`, as xl's pty is with
/// `xl console -n`. Either way what the guest writes is kept (bounded) and logged with the
/// domain's console log.
public struct XLChannelSpec: Equatable, Sendable {
    /// Xen: libxl_channel_connection.
    public enum Connection: Equatable, Sendable {
        case pty
        case socket(path: String)
    }

    /// What the guest looks the channel up by (e.g. "org.qemu.guest_agent.0").
    public var name: String
    public var connection: Connection

    public init(name: String, connection: Connection = .pty) {
        self.name = name
        self.connection = connection
    }

    /// Parses a channel spec as xl does: comma-separated `key=value` pairs; `name` is
    /// required, `backend` must be the control domain (Kite has no driver domains), unknown
    /// keys are refused (xl refuses them too).
    public init(parsing spec: String) throws(XLSpecError) {
        func fail(_ m: String) -> XLSpecError { XLSpecError("\(m) in `\(spec)'") }
        var name: String?
        var connection: String?
        var path: String?
        var seen = Set<String>()
        for raw in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let token = raw.trimmingSpaces
            if token.isEmpty { continue }
            guard let eq = token.firstIndex(of: "=") else { throw fail("expected key=value, found `\(token)'") }
            let key = String(token[..<eq].trimmingSpaces)
            let value = String(token[token.index(after: eq)...].trimmingSpaces)
            guard seen.insert(key).inserted else { throw fail("\(key) respecified") }
            switch key {
            case "name":
                guard !value.isEmpty, value.utf8.count <= 255, value.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" })
                else { throw fail("channel name `\(value)' must be 1-255 printable ASCII characters without spaces or /") }
                name = value
            case "connection": connection = value
            case "path": path = value
            case "backend":
                guard value == "0" || value == "Domain-0" else {
                    throw fail("backend \(value): Kite serves every device from its own process (domain 0)")
                }
            default: throw fail("unknown channel option \(key) (name, connection, path, backend)")
            }
        }
        guard let name else { throw fail("a channel needs name=NAME") }
        switch connection ?? "pty" {
        case "pty":
            guard path == nil else { throw fail("path= is for connection=socket") }
            self.init(name: name, connection: .pty)
        case "socket":
            guard let path, !path.isEmpty else { throw fail("connection=socket needs path=PATH") }
            guard path.utf8.count < 108 else { throw fail("socket path \(path) is longer than a Unix socket path can be (107 bytes)") }
            self.init(name: name, connection: .socket(path: path))
        case let other: throw fail("unknown connection \(other) (pty or socket)")
        }
    }

    /// The spec in xl's syntax; it parses back to this value.
    public var canonical: String {
        switch connection {
        case .pty: "name=\(name),connection=pty"
        case .socket(let path): "name=\(name),connection=socket,path=\(path)"
        }
    }
}
