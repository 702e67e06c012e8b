import ArgumentParser

/// `kite`: the command line. Today it runs bare-metal images on Kite's own CPU; the Xen
/// toolstack verbs (create, list, console, ...) join it as the layers above the CPU land.
@main
struct KiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kite",
        abstract: "Kite: a Xen-compatible hypervisor that runs guests on its own software x86-64 CPU.",
        discussion: """
            Kite runs as an ordinary user-space program: no Xen, no KVM, no root. Today it runs freestanding 64-bit images (see Guests/ and scripts/build-guests.sh); Xen guests come next.
            """,
        subcommands: [RunCommand.self, XenStoreCommand.self, VersionCommand.self]
    )
}
