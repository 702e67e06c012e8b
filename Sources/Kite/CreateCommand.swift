import ArgumentParser
import Foundation
import KiteControl
import KiteHost
import Toolstack

/// `kite create`: xl create — parse an xl.cfg file (plus key=value overrides) and have kited
/// build and start the domain.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a domain from an xl.cfg configuration file.",
        discussion: """
            The file uses xl.cfg syntax (see examples/pv-demo.cfg): name, type ("pv"; pvh and hvm are not yet supported), kernel, ramdisk, cmdline (or root and extra), memory, maxmem, vcpus, maxvcpus, disk (xl disk specs), vif (xl vif specs; bridge=NAME is a virtual switch in kited, bridge=slirp or no bridge is user-mode NAT), on_poweroff, on_reboot, on_crash, on_watchdog (destroy, restart, preserve, rename-restart) and uuid. Unknown keys are warned about; wrong values stop with file:line: key: message.

            Arguments after the file of the form key=value override the file (xl.cfg syntax; a value that is not valid xl.cfg is taken as a string, so `name=web` works as well as `name="web"`). Relative paths are taken from the current directory. kited must be running.
            """)

    @Flag(name: .short, help: "Attach to the domain's console once it is created (Ctrl-] detaches).")
    var console = false

    @Flag(name: .short, help: "Create the domain paused; `kite unpause` starts it.")
    var paused = false

    @Flag(name: [.customShort("n"), .long], help: "Parse and check the configuration, print it as JSON, create nothing.")
    var dryRun = false

    @Flag(name: .short, help: "Quiet: no progress messages.")
    var quiet = false

    @Argument(help: ArgumentHelp("The xl.cfg file.", valueName: "config"))
    var configFile: String

    @Argument(help: ArgumentHelp("Overrides of the file's settings, in xl.cfg syntax.", valueName: "key=value"))
    var overrides: [String] = []

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        guard let data = FileManager.default.contents(atPath: configFile) else {
            throw CommandFailure("cannot read the configuration file \(configFile)")
        }
        if !quiet { printError("Parsing config from \(configFile)\n") }
        let parsed: XLDomainConfig.Parsed
        do {
            parsed = try XLDomainConfig.parse(String(decoding: data, as: UTF8.self), source: configFile, overrides: overrides)
        } catch {
            throw CommandFailure(error.description)
        }
        for w in parsed.warnings { printError("kite: warning: \(w)\n") }
        let spec = DomainCreateSpec(
            parsed.config, resolvingPathsAgainst: FileManager.default.currentDirectoryPath, paused: paused,
            configFile: configFile)
        if dryRun {
            print(ControlFormatting.json(spec), terminator: "")
            return
        }
        guard case .domain(let d, let warnings) = try daemon.send(.create(spec)) else { throw CommandFailure.unexpectedReply }
        for w in warnings { printError("kite: warning: \(w)\n") }
        if !quiet { printError("kite: created domain \(d.name) (id \(d.id.rawValue))\(paused ? ", paused" : "")\n") }
        if console {
            try ConsoleCommand.attach(DomainRef.id(d.id), daemon: daemon, quiet: quiet)
        }
    }
}
