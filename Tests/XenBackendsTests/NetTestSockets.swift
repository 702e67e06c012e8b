import Dispatch
import Glibc
import Synchronization

/// Plain TCP sockets on the host's loopback for the user-mode network tests.
enum NetTestSockets {
    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// A listening socket on 127.0.0.1 (port 0: any); returns (fd, port).
    static func listen(port: UInt16 = 0) -> (Int32, UInt16)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else {
            close(fd)
            return nil
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: actual.sin_port))
    }

    /// A port that was free a moment ago.
    static func freePort() -> UInt16? {
        guard let (fd, port) = listen() else { return nil }
        close(fd)
        return port
    }

    /// Waits (with a timeout) for `fd` to be readable.
    static func waitReadable(_ fd: Int32, milliseconds: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, milliseconds) == 1
    }

    /// Reads until a newline (or EOF/timeout); at most 4 KiB.
    static func readLine(_ fd: Int32, milliseconds: Int32 = 5000) -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while bytes.count < 4096, !bytes.contains(10) {
            guard waitReadable(fd, milliseconds: milliseconds) else { return nil }
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        _ = write(fd, &bytes, bytes.count)
    }

    /// Connects to 127.0.0.1:port (blocking); nil on failure.
    static func connect(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Accepts one connection on `listener` in the background, reads a line, answers
    /// `reply(line)` and closes. The line read is kept in `received`.
    final class OneShotServer: Sendable {
        let received = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)

        init(listener: Int32, reply: @escaping @Sendable (String) -> String) {
            DispatchQueue.global().async { [self] in
                defer { done.signal() }
                guard NetTestSockets.waitReadable(listener, milliseconds: 10_000) else { return }
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                defer { close(connection) }
                guard let line = NetTestSockets.readLine(connection) else { return }
                received.withLock { $0 = line }
                NetTestSockets.writeAll(connection, reply(line))
            }
        }
    }
}
