import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
    private let streamType = Int32(SOCK_STREAM.rawValue)
    private let noSignal = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
    import Darwin
    private let streamType = SOCK_STREAM
    private let noSignal: Int32 = 0
#endif

/// A connected (or listening) Unix stream socket. One thread may read while another writes;
/// `shutdown` wakes a reader blocked in `read` or `accept`. `close` ends all use; the
/// descriptor itself is released when the last reference goes, so a thread still inside a
/// call never meets a descriptor number the process has reused.
public final class ControlSocket: Sendable {
    private let descriptor: Int32
    private let closed = Mutex(false)

    init(fd: Int32) {
        self.descriptor = fd
        #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    deinit { Foundation.close(descriptor) }

    /// The descriptor, or -1 once closed.
    public var fileDescriptor: Int32 { closed.withLock { $0 } ? -1 : descriptor }

    /// sockaddr_un for `path`, or nil when the path does not fit (108 bytes with its NUL).
    private static func address(_ path: String) -> sockaddr_un? {
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: a.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &a.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return a
    }

    private static func withAddress<R>(_ a: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var a = a
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Connects to kited at `path`. A missing socket or nobody listening is
    /// `.daemonNotRunning`.
    public static func connect(path: String) throws(ControlError) -> ControlSocket {
        guard let a = address(path) else { throw ControlError(.invalidArgument, "the socket path \(path) is too long") }
        let s = socket(AF_UNIX, streamType, 0)
        guard s >= 0 else { throw ControlError(.internalError, "socket: \(String(cString: strerror(errno)))") }
        let rc = withAddress(a) { Foundation.connect(s, $0, $1) }
        if rc != 0 {
            let e = errno
            Foundation.close(s)
            if e == ENOENT || e == ECONNREFUSED {
                throw ControlError(.daemonNotRunning, "kited is not running (nothing listens on \(path))")
            }
            throw ControlError(.daemonNotRunning, "cannot connect to kited at \(path): \(String(cString: strerror(e)))")
        }
        return ControlSocket(fd: s)
    }

    /// Whether something accepts connections at `path` now.
    public static func isLive(path: String) -> Bool {
        (try? connect(path: path)).map { $0.close(); return true } ?? false
    }

    /// Binds and listens at `path` (which must not exist), mode 0600.
    public static func listen(path: String) throws(ControlError) -> ControlSocket {
        guard let a = address(path) else { throw ControlError(.invalidArgument, "the socket path \(path) is too long (at most 107 bytes)") }
        let s = socket(AF_UNIX, streamType, 0)
        guard s >= 0 else { throw ControlError(.internalError, "socket: \(String(cString: strerror(errno)))") }
        // chmod after bind rather than umask around it: umask is process-wide state. The
        // runtime directory is 0700, so nobody else can reach the socket in between.
        let rc = withAddress(a) { bind(s, $0, $1) }
        guard rc == 0, chmod(path, 0o600) == 0, Foundation.listen(s, 64) == 0 else {
            let e = errno
            if rc == 0 { unlink(path) }
            Foundation.close(s)
            throw ControlError(.internalError, "cannot listen on \(path): \(String(cString: strerror(e)))")
        }
        return ControlSocket(fd: s)
    }

    /// The next connection; nil once the socket is shut down.
    public func accept() -> ControlSocket? {
        while true {
            let s = fileDescriptor
            guard s >= 0 else { return nil }
            let c = Foundation.accept(s, nil, nil)
            if c >= 0 { return ControlSocket(fd: c) }
            if errno == EINTR || errno == ECONNABORTED { continue }
            return nil
        }
    }

    /// Reads what is there (blocking until something is): 0 at end of stream or error.
    public func read(into buffer: inout [UInt8]) -> Int {
        let s = fileDescriptor
        guard s >= 0, !buffer.isEmpty else { return 0 }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(s, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            return max(n, 0)
        }
    }

    /// Writes every byte; false if the peer went away.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Bool {
        let s = fileDescriptor
        guard s >= 0 else { return false }
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return send(s, base + offset, raw.count - offset, noSignal)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Whether the peer has closed its end (a readable socket with nothing to read).
    public var peerClosed: Bool {
        let s = fileDescriptor
        guard s >= 0 else { return true }
        var p = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        if p.revents & Int16(POLLHUP | POLLERR) != 0 { return true }
        var byte: UInt8 = 0
        return recv(s, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    /// Ends both directions: a blocked `read` or `accept` returns.
    public func shutdown() {
        let s = fileDescriptor
        if s >= 0 { _ = Foundation.shutdown(s, Int32(SHUT_RDWR)) }
    }

    /// No more writes: the peer reads end of stream.
    public func shutdownWrite() {
        let s = fileDescriptor
        if s >= 0 { _ = Foundation.shutdown(s, Int32(SHUT_WR)) }
    }

    /// No more reads or writes; a blocked `read` or `accept` returns.
    public func close() {
        let wasOpen = closed.withLock { c -> Bool in
            defer { c = true }
            return !c
        }
        if wasOpen { _ = Foundation.shutdown(descriptor, Int32(SHUT_RDWR)) }
    }
}
