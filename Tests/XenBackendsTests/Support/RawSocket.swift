import Foundation
import XenStore
#if canImport(Glibc)
import Glibc
#endif

/// A hostile host client of the xenstore socket: raw bytes in and out, with timeouts.
final class RawSocket {
    let fd: Int32
    private var assembler = XenStoreMessageAssembler()

    init?(path: String) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    func send(_ message: XenStoreMessage) { send(message.encoded) }

    /// The next complete message; nil on end of stream or after the timeout.
    func receive() -> XenStoreMessage? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let wanted = min(assembler.bytesWanted, buffer.count)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, wanted, 0) }
            guard n > 0 else { return nil }
            if let message = try? assembler.append(buffer[0..<n]) { return message }
        }
    }

    /// True when the server closed the connection (end of stream within the timeout).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            if n == 0 { return true }
            if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }
}

/// A fresh directory for sockets, removed at the end.
final class SocketDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "kite-xs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var socket: String { path + "/xenstored.sock" }
}
