import ArgumentParser
import Foundation
import KiteControl
import Toolstack

/// What block-detach and network-detach share: --force, the daemon, and the warning when
/// the guest did not let go in time.
struct DetachOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Remove it without waiting for the guest.")
    var force = false

    @OptionGroup var daemon: DaemonOptions

    func send(_ request: ControlRequest, naming device: String) throws {
        guard case .detached(let r) = try daemon.send(request) else { throw CommandFailure.unexpectedReply }
        if r.timedOut { printError("kite: warning: the guest did not close \(device) within 10 s; it was removed by force\n") }
    }
}

/// What block-list and network-list share: several domains, --json, the daemon.
struct DeviceListOptions: ParsableArguments {
    @Flag(name: .long, help: "JSON instead of the table.")
    var json = false

    @Argument(help: ArgumentHelp("The domains (names or ids).", valueName: "domain"))
    var domains: [String]

    @OptionGroup var daemon: DaemonOptions

    /// The devices of every domain named, in order: `rows` takes them out of each reply.
    func print<Row: Encodable>(_ request: (DomainRef) -> ControlRequest, _ rows: (ControlReply) -> [Row]?,
                               table: ([Row]) -> String) throws {
        var all: [Row] = []
        for d in domains {
            guard let some = rows(try daemon.send(request(DomainRef(d)))) else { throw CommandFailure.unexpectedReply }
            all += some
        }
        Swift.print(json ? ControlFormatting.json(all) : table(all), terminator: "")
    }
}

/// `kite block-attach`: xl block-attach.
struct BlockAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-attach",
        abstract: "Add a disk to a running or paused domain.",
        discussion: """
            The disk is given in xl's disk spec syntax, as in a config file's disk=[...] (several arguments are joined with commas), e.g.
              kite block-attach web format=raw,vdev=xvdb,access=rw,target=/srv/data.img
            A relative target is taken from the current directory. Kite serves raw images; the vdev must be free in the domain. The guest's blkfront finds the new device/vbd entry.
            """)

    @OptionGroup var target: DomainArgument

    @Argument(help: ArgumentHelp("The disk spec (xl-disk-configuration(5)).", valueName: "disk-spec"))
    var spec: [String]

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let text = spec.joined(separator: ",")
        var disk: XLDiskSpec
        do { disk = try XLDiskSpec(parsing: text) } catch { throw CommandFailure(error.message) }
        if let t = disk.target, disk.script == nil, !t.hasPrefix("/") {
            disk.target = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(t).standardized.path
        }
        guard case .disk = try daemon.send(.blockAttach(target.ref, spec: disk.canonical)) else { throw CommandFailure.unexpectedReply }
    }
}

/// `kite block-detach`: xl block-detach.
struct BlockDetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-detach",
        abstract: "Remove a disk from a domain.",
        discussion: "As libxl: a connected disk is set to Closing and kited waits up to 10 s for the guest to close it, then removes it (by force if the guest did not). --force removes it at once.")

    @OptionGroup var target: DomainArgument

    @Argument(help: ArgumentHelp("The disk: its vdev (xvdb) or device number (51728).", valueName: "vdev"))
    var device: String

    @OptionGroup var options: DetachOptions

    func run() throws { try options.send(.blockDetach(target.ref, device: device, force: options.force), naming: device) }
}

/// `kite block-list`: xl block-list.
struct BlockListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-list",
        abstract: "List the disks of domains.",
        discussion: "Columns as xl's: Vdev (device number), BE (backend domain), handle (the domain), state (the backend's XenbusState: 2 waiting for the guest, 4 connected, 5 closing, 6 closed), evt-ch and ring-ref (the guest's; -1 until it connected), BE-path.")

    @OptionGroup var options: DeviceListOptions

    func run() throws {
        try options.print(ControlRequest.blockList, { if case .disks(let d) = $0 { d } else { nil } }, table: ControlFormatting.blockList)
    }
}

/// `kite network-attach`: xl network-attach.
struct NetworkAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-attach",
        abstract: "Add a network interface to a running or paused domain.",
        discussion: """
            The vif is given in xl's vif spec syntax, as in a config file's vif=[...] (several arguments are joined with commas), e.g.
              kite network-attach web mac=00:16:3e:01:02:03,bridge=sw0
            bridge=NAME is a virtual switch in kited; no bridge (or bridge=slirp) is user-mode NAT. Without mac= the vif gets a random 00:16:3e MAC. It takes the next free index.
            """)

    @OptionGroup var target: DomainArgument

    @Argument(help: ArgumentHelp("The vif spec (xl-network-configuration(5)); none: the defaults.", valueName: "vif-spec"))
    var spec: [String] = []

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        guard case .vif = try daemon.send(.networkAttach(target.ref, spec: spec.joined(separator: ","))) else {
            throw CommandFailure.unexpectedReply
        }
    }
}

/// `kite network-detach`: xl network-detach.
struct NetworkDetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-detach",
        abstract: "Remove a network interface from a domain.",
        discussion: "As libxl: a connected vif is set to Closing and kited waits up to 10 s for the guest to close it, then removes it (by force if the guest did not). --force removes it at once.")

    @OptionGroup var target: DomainArgument

    @Argument(help: ArgumentHelp("The vif: its index (0) or its MAC (00:16:3e:01:02:03).", valueName: "devid|mac"))
    var device: String

    @OptionGroup var options: DetachOptions

    func run() throws { try options.send(.networkDetach(target.ref, device: device, force: options.force), naming: "vif \(device)") }
}

/// `kite network-list`: xl network-list.
struct NetworkListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-list",
        abstract: "List the network interfaces of domains.",
        discussion: "Columns as xl's: Idx, BE (backend domain), Mac Addr., handle, state (the backend's XenbusState), evt-ch and tx-/rx-ring-ref (the guest's; -1 until it connected), BE-path.")

    @OptionGroup var options: DeviceListOptions

    func run() throws {
        try options.print(ControlRequest.networkList, { if case .vifs(let v) = $0 { v } else { nil } }, table: ControlFormatting.networkList)
    }
}
