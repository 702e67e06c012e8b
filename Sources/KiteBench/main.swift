import ArgumentParser

/// `kite-bench`: speed figures for Kite's parts, printed as `BENCH <name> <key>=<value>`
/// lines so that scripts can collect them.
struct KiteBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kite-bench",
        abstract: "Benchmarks for Kite (build with -c release).",
        subcommands: [CPUBench.self, XenBench.self, BlockBench.self, NetBench.self])
}

KiteBench.main()
