import ArgumentParser
import Foundation
import KiteControl

/// `kite top`: xentop — a refreshing table of CPU and memory per domain.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Show CPU and memory per domain, refreshed every few seconds (Ctrl-C quits).",
        discussion: "CPU(%) is the share of one host CPU the domain's vCPUs used since the last screen; MIPS the guest instructions per second Kite's CPU ran for it. With -b the screens are printed one after another instead of redrawn.")

    @Option(name: .shortAndLong, help: ArgumentHelp("Seconds between screens.", valueName: "seconds"))
    var delay: Double = 3

    @Option(name: .shortAndLong, help: ArgumentHelp("Stop after this many screens.", valueName: "n"))
    var iterations: Int?

    @Flag(name: .shortAndLong, help: "Batch mode: no screen clearing (for logs and pipes).")
    var batch = false

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        guard delay > 0 else { throw ValidationError("--delay must be positive") }
        if let n = iterations, n < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        guard case .host(let h) = try daemon.send(.hostInfo) else { throw CommandFailure.unexpectedReply }
        var previous: [DomainSummary] = []
        var screen = 0
        while true {
            let now = try daemon.domains()
            let clock = ControlFormatting.uptime(seconds: Date().timeIntervalSince1970 - h.daemonStartTime)
            var text = batch ? "" : "\u{1B}[H\u{1B}[2J"
            text += "kite top - kited up \(clock), \(now.count) domains, \(h.totalMemoryMiB) MiB guest RAM\n"
            text += ControlFormatting.top(now, previous: previous, interval: screen == 0 ? 0 : delay, totalMemoryMiB: h.totalMemoryMiB)
            print(text, terminator: batch ? "\n" : "")
            fflush(nil)
            screen += 1
            if let n = iterations, screen >= n { return }
            previous = now
            Thread.sleep(forTimeInterval: delay)
        }
    }
}
