import ArgumentParser
import Foundation
import KiteControl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `kite console`: xl console — the guest's primary console (or, with `-n`, one of its
/// channels) on this terminal.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a domain's console (Ctrl-] detaches).",
        discussion: """
            What the guest wrote before you attached is shown first (kited keeps the last 256 KiB of each console), then its output as it comes. What you type goes to the guest; Ctrl-] detaches and leaves the domain running. The command ends by itself when the domain stops.

            Console 0 is the primary console (hvc0 in Linux); 1, 2, ... are the domain's channels (channel=[...] in its configuration, hvc1, hvc2, ... in Linux) in configuration order.
            """)

    @OptionGroup var target: DomainArgument
    @Option(name: [.customShort("n"), .customLong("num")], help: "The console: 0 is the primary one, 1, 2, ... the channels.")
    var number: Int = 0
    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        guard number >= 0 else { throw ValidationError("--num must be 0 or more") }
    }

    func run() throws {
        try Self.attach(target.ref, number: number, daemon: daemon, quiet: false)
    }

    static func attach(_ ref: DomainRef, number: Int = 0, daemon: DaemonOptions, quiet: Bool) throws {
        let connection: ConsoleConnection
        do { connection = try daemon.client.attachConsole(ref, number: number) } catch { throw CommandFailure(error.message) }
        let terminal = RawTerminal(fd: STDIN_FILENO)
        if !quiet && terminal != nil {
            printError("kite: connected to \(connection.domain.name)'s console; Ctrl-] detaches\r\n")
        }
        let outcome = connection.run(input: STDIN_FILENO) { bytes in
            var rest = bytes
            while !rest.isEmpty {
                let n = rest.withUnsafeBufferPointer { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                rest = rest.dropFirst(n)
            }
        }
        terminal?.restore()
        if !quiet {
            switch outcome {
            case .detached: printError("\nkite: detached from \(connection.domain.name)\n")
            case .closed: printError("\nkite: \(connection.domain.name)'s console closed (the domain stopped)\n")
            }
        }
    }
}

/// The terminal in character-at-a-time mode without echo or signals (Ctrl-C goes to the
/// guest), output processing left on so that a guest's bare newlines still return the
/// carriage. nil when `fd` is not a terminal.
struct RawTerminal {
    let fd: Int32
    let saved: termios

    init?(fd: Int32) {
        guard isatty(fd) != 0 else { return nil }
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return nil }
        self.fd = fd
        saved = t
        t.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        t.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(fd, TCSANOW, &t)
    }

    func restore() {
        var t = saved
        tcsetattr(fd, TCSANOW, &t)
    }
}
