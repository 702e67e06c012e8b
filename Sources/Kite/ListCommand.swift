import ArgumentParser
import Foundation
import KiteControl

/// `kite list`: xl list.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List domains: Name, ID, Mem (MiB), VCPUs, State, Time(s).",
        discussion: """
            State is xl's six flags: r running, b blocked, p paused, s shut down, c crashed, d dying. Time(s) is the CPU time the domain's vCPUs used. With -l (or --json) each domain is printed as JSON with its configuration, its state and counters.
            """)

    @Flag(name: .shortAndLong, help: "Long: every domain as JSON, configuration included.")
    var long = false

    @Flag(name: .long, help: "JSON instead of the table (the same as -l).")
    var json = false

    @Argument(help: ArgumentHelp("Only these domains (names or ids).", valueName: "domain"))
    var domains: [String] = []

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let list = domains.isEmpty ? try daemon.domains() : try domains.map { try daemon.domain($0) }
        print(long || json ? ControlFormatting.json(list) : ControlFormatting.list(list), terminator: "")
    }
}
