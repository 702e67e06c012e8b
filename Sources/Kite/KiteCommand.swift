import ArgumentParser
import Foundation

/// `kite`: the command line. `kite run` boots one guest in the foreground, no daemon
/// needed; the xl verbs (create, list, console, ...) talk to kited, which hosts the
/// domains of this machine (docs/control-api.md).
@main
struct KiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kite",
        abstract: "Kite: a Xen-compatible hypervisor that runs guests on its own software x86-64 CPU.",
        discussion: """
            Kite runs as an ordinary user-space program: no Xen, no KVM, no root.

            One guest in the foreground, no daemon:
              kite run --kernel Guests/build/pv-demo.elf

            Many guests, the xl way: start the daemon, then use xl's verbs:
              kited &
              kite create examples/pv-demo.cfg -c
              kite list
              kite shutdown -w pv-demo

            A domain is named by its name or its id everywhere.
            """,
        subcommands: [
            RunCommand.self, CreateCommand.self, ListCommand.self, ConsoleCommand.self, ShutdownCommand.self,
            RebootCommand.self, DestroyCommand.self, PauseCommand.self, UnpauseCommand.self, RenameCommand.self,
            DomidCommand.self, DomnameCommand.self, InfoCommand.self, VCPUListCommand.self, VCPUSetCommand.self,
            MemSetCommand.self, MemMaxCommand.self, UptimeCommand.self, TopCommand.self, DmesgCommand.self,
            BlockAttachCommand.self, BlockDetachCommand.self, BlockListCommand.self, NetworkAttachCommand.self,
            NetworkDetachCommand.self, NetworkListCommand.self, XenStoreCommand.self, VersionCommand.self,
        ]
    )

    /// ArgumentParser's main, with failures of the xl verbs printed as `kite: message`.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("kite: \(failure.description)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
