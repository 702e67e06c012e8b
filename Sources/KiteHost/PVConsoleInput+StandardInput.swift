import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension PVConsoleInput {
    /// Whether the guest's console is still taking input.
    public var isOpen: Bool {
        switch backend.deviceState {
        case .disconnected, .connected: true
        case .broken, .closed: false
        }
    }

    /// Copies Kite's standard input to the guest's console on a thread of its own, as the
    /// bytes come (a terminal delivers them a line at a time and echoes them itself). Does
    /// nothing when standard input is a terminal Kite does not own in the foreground: a
    /// background job reading it would be stopped by the terminal (SIGTTIN). The thread
    /// ends at end of input or when the console closes; it never blocks the guest.
    public func feedStandardInput() {
        if isatty(STDIN_FILENO) != 0 && tcgetpgrp(STDIN_FILENO) != getpgrp() { return }
        let input = self
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 256)
            while input.isOpen {
                let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                var pending = Array(buffer[0..<n])
                while !pending.isEmpty {
                    let taken = input.send(pending)
                    if taken > 0 {
                        pending.removeFirst(taken)
                    } else {
                        guard input.isOpen else { return }
                        // The guest has not read its input ring yet: flow control.
                        usleep(10_000)
                    }
                }
            }
        }
        thread.name = "kite console input"
        thread.start()
    }
}
