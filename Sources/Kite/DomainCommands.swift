import ArgumentParser
import Foundation
import KiteControl

/// `kite destroy`: xl destroy.
struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Stop a domain at once and free its memory (no shutdown inside the guest).",
        discussion: "Like pulling the power cord. Allowed in every state; on_poweroff and friends do not apply.")

    @OptionGroup var target: DomainArgument
    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.destroy(target.ref)) }
}

/// `kite pause`: xl pause.
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a running domain: its vCPUs stop until `kite unpause`.",
        discussion: "The domain keeps its memory and devices; its clock keeps running. Refused unless the domain is running.")

    @OptionGroup var target: DomainArgument
    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.pause(target.ref)) }
}

/// `kite unpause`: xl unpause.
struct UnpauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpause",
        abstract: "Let a paused domain run again (also starts a domain created with -p).",
        discussion: "Refused unless the domain is paused.")

    @OptionGroup var target: DomainArgument
    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.unpause(target.ref)) }
}

/// `kite rename`: xl rename.
struct RenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename",
        abstract: "Give a domain a new name.",
        discussion: "Names are letters, digits, '-', '_' and '.', at most 64 characters, not all digits, and unique on the host. The guest sees the new name in xenstore (/local/domain/<id>/name).")

    @OptionGroup var target: DomainArgument

    @Argument(help: ArgumentHelp("The new name.", valueName: "new-name"))
    var newName: String

    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.rename(target.ref, to: newName)) }
}

/// `kite domid`: xl domid.
struct DomidCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domid", abstract: "Print the id of the domain with this name.")

    @Argument(help: ArgumentHelp("The domain's name.", valueName: "name"))
    var name: String

    @OptionGroup var daemon: DaemonOptions

    func run() throws { print(try daemon.domain(name).id.rawValue) }
}

/// `kite domname`: xl domname.
struct DomnameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domname", abstract: "Print the name of the domain with this id.")

    @Argument(help: ArgumentHelp("The domain's id.", valueName: "id"))
    var id: UInt16

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        guard case .domain(let d, _) = try daemon.send(.domainInfo(.id(.init(id)))) else { throw CommandFailure.unexpectedReply }
        print(d.name)
    }
}
