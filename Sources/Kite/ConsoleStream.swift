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
