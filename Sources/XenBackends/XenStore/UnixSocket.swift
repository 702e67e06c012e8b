#if canImport(Glibc)
import Glibc
private let noSignal = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin
private let noSignal: Int32 = 0
#endif

/// Why a Unix socket of the xenstore service could not be used; the message says what to do.
public enum XenStoreSocketError: Error, Equatable, CustomStringConvertible {
    /// Nobody listens at the path (missing, or a socket left behind by a dead process).
    case notServing(String)
    /// The path does not fit in `sockaddr_un.sun_path`.
    case pathTooLong(String)
    /// Another process already serves the path.
    case alreadyServed(String)
    /// The path exists and is not a socket.
    case notASocket(String)
    /// A system call failed.
    case system(String, call: String, errno: Int32)
    /// The peer closed the connection or broke the protocol.
    case connectionLost(String)

    public var description: String {
        switch self {
        case .notServing(let path):
            "no Kite process is serving xenstore at \(path); start a domain with kite run or kited"
        case .pathTooLong(let path):
            "the socket path \(path) is longer than a Unix socket address allows (107 bytes); choose a shorter one"
        case .alreadyServed(let path):
            "another process already serves xenstore at \(path)"
        case .notASocket(let path):
            "\(path) exists and is not a socket; remove it or choose another path"
        case .system(let path, let call, let errno):
            "\(call) failed for \(path): \(String(cString: strerror(errno)))"
        case .connectionLost(let path):
            "the xenstore connection at \(path) was closed"
        }
    }
}

/// The few POSIX socket calls the xenstore socket needs, with errors as
/// `XenStoreSocketError`.
enum UnixSocket {
    /// A `sockaddr_un` for `path`; nil when it does not fit.
    static func address(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return address
    }

    static func withAddress<R>(_ address: sockaddr_un, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = address
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func makeSocket(_ path: String) throws(XenStoreSocketError) -> Int32 {
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw .system(path, call: "socket", errno: errno) }
        return fd
    }

    /// Connects to a listening socket (blocking).
    static func connectTo(_ path: String) throws(XenStoreSocketError) -> Int32 {
        guard let address = address(path) else { throw .pathTooLong(path) }
        let fd = try makeSocket(path)
        let result = withAddress(address) { connect(fd, $0, $1) }
        if result != 0 {
            let error = errno
            close(fd)
            if error == ENOENT || error == ECONNREFUSED || error == ENOTSOCK { throw .notServing(path) }
            throw .system(path, call: "connect", errno: error)
        }
        return fd
    }

    /// Binds and listens at `path` (mode 0600). A socket left by a dead process is
    /// replaced; a live one or a non-socket file is refused.
    static func listenAt(_ path: String, backlog: Int32 = 16) throws(XenStoreSocketError) -> Int32 {
        guard let address = address(path) else { throw .pathTooLong(path) }
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
            if let live = try? connectTo(path) {
                close(live)
                throw .alreadyServed(path)
            }
            unlink(path)
        }
        let fd = try makeSocket(path)
        // Only the owner may connect: every connection is as privileged as dom0.
        let oldMask = umask(0o177)
        let bound = withAddress(address) { bind(fd, $0, $1) }
        let bindError = errno
        umask(oldMask)
        guard bound == 0 else {
            close(fd)
            throw .system(path, call: "bind", errno: bindError)
        }
        guard listen(fd, backlog) == 0 else {
            let error = errno
            close(fd)
            unlink(path)
            throw .system(path, call: "listen", errno: error)
        }
        setNonBlocking(fd)
        return fd
    }

    static func closeDescriptor(_ fd: Int32) {
        _ = close(fd)
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// The (device, inode) of the file at `path`, to recognise our own socket later.
    static func identity(_ path: String) -> (UInt64, UInt64)? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    /// Writes everything (blocking socket); false when the peer is gone.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, noSignal) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// A dispatch source kept in locked state. libdispatch objects are thread-safe; the
/// corelibs overlay just does not mark the source protocols Sendable.
struct SendableSource<Source>: @unchecked Sendable {
    let source: Source
    init(_ source: Source) { self.source = source }
}
