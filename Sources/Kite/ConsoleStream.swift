import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams guest console bytes to standard output through C stdio's buffer, flushing at
/// each newline so that output appears line by line while the guest runs.
struct ConsoleStream {
    mutating func write(_ byte: UInt8) {
        putchar(Int32(byte))
        if byte == UInt8(ascii: "\n") { fflush(nil) }
    }

    func flush() { fflush(nil) }
}

/// The guest's console_io output on standard output, from any vCPU thread, flushed at newlines.
final class ConsoleOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var stream = ConsoleStream()

    func write(_ bytes: ArraySlice<UInt8>) {
        lock.lock()
        defer { lock.unlock() }
        for b in bytes { stream.write(b) }
    }

    func flush() {
        lock.lock()
        defer { lock.unlock() }
        stream.flush()
    }
}
