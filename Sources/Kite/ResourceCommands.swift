import ArgumentParser
import Foundation
import KiteControl

/// `kite vcpu-set`: xl vcpu-set.
struct VCPUSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcpu-set",
        abstract: "Set how many vCPUs a domain has online.",
        discussion: "As xl does for a PV guest: vCPUs 0 to COUNT-1 are marked online in xenstore (cpu/N/availability), the rest offline, and the guest's kernel brings them up or down (Linux does; a kernel without the watch ignores it). COUNT is 1 to the domain's maxvcpus.")

    @OptionGroup var target: DomainArgument

    @Argument(help: ArgumentHelp("The number of vCPUs.", valueName: "count"))
    var count: Int

    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.vcpuSet(target.ref, count: count)) }
}

/// The memory argument of mem-set and mem-max.
struct MemoryArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The size: a number with an optional unit b, k, m, g or t (no unit: MiB).", valueName: "size"))
    var size: String

    func validate() throws {
        guard MemorySize.mebibytes(size) != nil else { throw ValidationError("\(size) is not a whole number of MiB (like 512, 512m or 2g)") }
    }

    var mebibytes: UInt64 { MemorySize.mebibytes(size) ?? 0 }
}

/// `kite mem-set`: xl mem-set.
struct MemSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mem-set",
        abstract: "Set a domain's memory target (the balloon driver's goal).",
        discussion: "As xl does: the target is written to the guest's memory/target in xenstore and the guest's balloon driver gives memory back or takes more (up to mem-max); `kite list` shows what it holds. A guest without a balloon driver keeps its memory. At most the domain's maxmem.")

    @OptionGroup var target: DomainArgument
    @OptionGroup var memory: MemoryArgument
    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.memSet(target.ref, mib: memory.mebibytes)) }
}

/// `kite mem-max`: xl mem-max.
struct MemMaxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mem-max",
        abstract: "Set the most memory a domain may balloon up to.",
        discussion: "Sets the hypervisor's limit (Xen's max_pages) and memory/static-max; it may not go below the current memory target.")

    @OptionGroup var target: DomainArgument
    @OptionGroup var memory: MemoryArgument
    @OptionGroup var daemon: DaemonOptions

    func run() throws { _ = try daemon.send(.memMax(target.ref, mib: memory.mebibytes)) }
}
