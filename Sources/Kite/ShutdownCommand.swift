import ArgumentParser
import Foundation
import KiteControl

/// What `shutdown` and `reboot` share: which domains, whether to wait.
struct ShutdownOptions: ParsableArguments {
    @Flag(name: .short, help: "Wait until the domain has stopped (and its on_* action ran).")
    var wait = false

    @Option(name: .long, help: ArgumentHelp("With -w, give up after this many seconds.", valueName: "seconds"))
    var timeout: Double?

    @Flag(name: .shortAndLong, help: "Every domain.")
    var all = false

    @Argument(help: ArgumentHelp("The domain: its name or its numeric id.", valueName: "domain"))
    var domain: String?

    func validate() throws {
        if all == (domain != nil) { throw ValidationError("give one domain, or -a for every domain") }
        if let t = timeout, t <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run(daemon: DaemonOptions, request: (DomainRef, Bool, Double?) -> ControlRequest) throws {
        let targets = all ? try daemon.domains().filter { $0.state == .running || $0.state == .paused }.map { DomainRef.id($0.id) } : [DomainRef(domain ?? "")]
        if wait { printError("Waiting for \(targets.count) domain\(targets.count == 1 ? "" : "s")\n") }
        for t in targets {
            let reply = try daemon.send(request(t, wait, timeout))
            guard wait else { continue }
            guard case .stopped(let r) = reply else { throw CommandFailure.unexpectedReply }
            var line = "Domain \(r.id.rawValue) (\(r.name)) has been shut down, reason code \(r.code.map(String.init) ?? "-")"
            if let reason = r.reason { line += " (\(reason))" }
            if let action = r.action { line += "; \(action.rawValue)" }
            if let new = r.restartedAs { line += " as domain \(new.rawValue)" }
            printError(line + "\n")
        }
        if wait { printError("All domains have been shut down\n") }
    }
}

/// `kite shutdown`: xl shutdown.
struct ShutdownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown",
        abstract: "Ask a domain to power off.",
        discussion: """
            Writes "poweroff" to the guest's xenstore control/shutdown, as xl does for PV guests; the guest decides (Linux shuts down cleanly). Once it has stopped, its on_poweroff action applies (default destroy). A guest without PV control (no control/feature-poweroff) may ignore the request: `kite destroy` stops it regardless.
            """)

    @OptionGroup var options: ShutdownOptions
    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        try options.run(daemon: daemon) { .shutdown($0, wait: $1, timeout: $2) }
    }
}

/// `kite reboot`: xl reboot.
struct RebootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reboot",
        abstract: "Ask a domain to reboot.",
        discussion: """
            Writes "reboot" to the guest's xenstore control/shutdown. When the guest stops with reason reboot, its on_reboot action applies (default restart: the domain is created again from its configuration, with a new id).
            """)

    @OptionGroup var options: ShutdownOptions
    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        try options.run(daemon: daemon) { .reboot($0, wait: $1, timeout: $2) }
    }
}
