import Foundation

/// The client side of the control API: one connection per request, as `kite` uses it.
public struct ControlClient: Sendable {
    public let socketPath: String

    public init(socketPath: String = KiteRuntimeDirectory.current().controlSocket) {
        self.socketPath = socketPath
    }

    /// What to tell a user when nothing listens on the socket.
    public static func notRunningAdvice(_ path: String) -> String {
        "kited is not running (nothing listens on \(path)). Start it with `kited &` "
            + "(see `kited --help`), or boot one guest without a daemon with `kite run`."
    }

    private func connect() throws(ControlError) -> ControlSocket {
        do { return try ControlSocket.connect(path: socketPath) } catch {
            if error.code == .daemonNotRunning { throw ControlError(.daemonNotRunning, Self.notRunningAdvice(socketPath)) }
            throw error
        }
    }

    private func exchange(_ request: ControlRequest, on socket: ControlSocket) throws(ControlError) -> (ControlReply, ControlLineReader) {
        guard socket.write(ControlFraming.line(request)) else {
            throw ControlError(.protocolError, "kited closed the connection before reading the request")
        }
        let reader = ControlLineReader(socket: socket, limit: ControlFraming.maximumReplyBytes)
        switch reader.next() {
        case .line(let bytes): return (try ControlFraming.response(from: bytes).get(), reader)
        case .tooLong: throw ControlError(.protocolError, "kited's reply is longer than \(ControlFraming.maximumReplyBytes) bytes")
        case .end: throw ControlError(.protocolError, "kited closed the connection without replying")
        }
    }

    /// Sends `request` and returns kited's reply; a refusal is thrown.
    public func send(_ request: ControlRequest) throws(ControlError) -> ControlReply {
        let socket = try connect()
        defer { socket.close() }
        return try exchange(request, on: socket).0
    }

    /// `console`: the connection then carries raw console bytes both ways. `number` 0 is
    /// the primary console, 1, 2, ... the domain's channels.
    public func attachConsole(_ domain: DomainRef, number: Int = 0) throws(ControlError) -> ConsoleConnection {
        let socket = try connect()
        let reply: ControlReply
        let reader: ControlLineReader
        do { (reply, reader) = try exchange(.console(domain, number: number), on: socket) } catch {
            socket.close()
            throw error
        }
        guard case .consoleAttached(let summary) = reply else {
            socket.close()
            throw ControlError(.protocolError, "kited answered console with \(reply.kind)")
        }
        return ConsoleConnection(socket: socket, domain: summary, early: reader.takeBuffered())
    }
}

/// An attached console: the guest's output arrives on `socket` (after `early`, bytes that
/// came with the reply), and what is written to `socket` is typed into the guest.
public final class ConsoleConnection: Sendable {
    public let socket: ControlSocket
    public let domain: DomainSummary
    public let early: [UInt8]

    init(socket: ControlSocket, domain: DomainSummary, early: [UInt8]) {
        self.socket = socket
        self.domain = domain
        self.early = early
    }

    public enum Outcome: Sendable, Equatable {
        /// The escape character was typed.
        case detached
        /// kited ended the stream: the domain stopped or was destroyed.
        case closed
    }

    /// xl's escape: Ctrl-].
    public static let escape: UInt8 = 0x1D

    /// Copies the console to `output` until it closes, and bytes read from `input` (a file
    /// descriptor; nil: none) to the guest until `escape` is read, which detaches.
    public func run(input: Int32?, escape: UInt8 = ConsoleConnection.escape, output: (ArraySlice<UInt8>) -> Void) -> Outcome {
        let detached = DetachFlag()
        if let input {
            let socket = self.socket
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 1024)
                while true {
                    let n = buffer.withUnsafeMutableBytes { Foundation.read(input, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return }
                    let bytes = buffer[..<n]
                    if let e = bytes.firstIndex(of: escape) {
                        if e > 0 { socket.write(bytes[..<e]) }
                        detached.set()
                        socket.shutdown()
                        return
                    }
                    guard socket.write(bytes) else { return }
                }
            }
            thread.name = "kite console input"
            thread.start()
        }
        if !early.isEmpty { output(early[...]) }
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = socket.read(into: &chunk)
            guard n > 0 else { break }
            output(chunk[..<n])
        }
        socket.close()
        return detached.isSet ? .detached : .closed
    }

    /// Detaches from another thread (as if the escape character had been typed).
    public func detach() { socket.shutdown() }
}

/// A flag set once from the input thread, read by the output loop.
private final class DetachFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
