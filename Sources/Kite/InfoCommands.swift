import ArgumentParser
import Foundation
import KiteControl

/// `kite info`: xl info.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the host: versions, CPUs, memory, domains, kited.",
        discussion: "total_memory and free_memory are the guest RAM kited can hand out (kited --memory), in MiB.")

    @Flag(name: .long, help: "JSON instead of key : value lines.")
    var json = false

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        guard case .host(let h) = try daemon.send(.hostInfo) else { throw CommandFailure.unexpectedReply }
        print(json ? ControlFormatting.json(h) : ControlFormatting.info(h), terminator: "")
    }
}

/// `kite dmesg`: xl dmesg.
struct DmesgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dmesg",
        abstract: "Show kited's log ring: the hypervisor's and toolstack's messages.",
        discussion: "Each line: time (UTC), level, dN (the domain it concerns; d0 is the host), the logger, the message and its fields. The ring keeps the last 4096 lines.")

    @Flag(name: .short, help: "Clear the ring after printing it.")
    var clear = false

    @Flag(name: .long, help: "JSON instead of lines.")
    var json = false

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        guard case .log(let entries) = try daemon.send(.dmesg(clear: clear)) else { throw CommandFailure.unexpectedReply }
        print(json ? ControlFormatting.json(entries) : ControlFormatting.dmesg(entries), terminator: "")
    }
}

/// `kite vcpu-list`: xl vcpu-list.
struct VCPUListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcpu-list",
        abstract: "List the vCPUs of one domain or of all: state and CPU time.",
        discussion: "State: r running, -r- runnable, -b- blocked, --p paused. Each vCPU is a host thread the host schedules, so CPU is - and affinity all.")

    @Flag(name: .long, help: "JSON instead of the table.")
    var json = false

    @Argument(help: ArgumentHelp("The domain (name or id); every domain if omitted.", valueName: "domain"))
    var domain: String?

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        guard case .vcpus(let v) = try daemon.send(.vcpuList(domain.map(DomainRef.init))) else { throw CommandFailure.unexpectedReply }
        print(json ? ControlFormatting.json(v) : ControlFormatting.vcpuList(v), terminator: "")
    }
}

/// `kite uptime`: xl uptime.
struct UptimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uptime", abstract: "Show how long domains have existed.")

    @Flag(name: .long, help: "JSON instead of the table.")
    var json = false

    @Argument(help: ArgumentHelp("Only these domains (names or ids).", valueName: "domain"))
    var domains: [String] = []

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let list = domains.isEmpty ? try daemon.domains() : try domains.map { try daemon.domain($0) }
        if json {
            struct Row: Encodable { let name: String; let domid: UInt16; let uptime: Double }
            print(ControlFormatting.json(list.map { Row(name: $0.name, domid: $0.id.rawValue, uptime: $0.uptimeSeconds) }), terminator: "")
        } else {
            print(ControlFormatting.uptime(list), terminator: "")
        }
    }
}
