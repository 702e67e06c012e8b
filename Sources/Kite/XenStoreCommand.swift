import ArgumentParser

/// `kite xenstore`: the host side of xenstore (ls, read, write, rm, watch) over the store's
/// Unix socket.
struct XenStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenstore",
        abstract: "Read and change the xenstore of running domains (not built yet).")

    func run() throws {
        throw ValidationError("kite xenstore is not built yet")
    }
}
