import ArgumentParser
import KiteControl

/// Kite's version, printed by `kite version`.
enum KiteVersion {
    static let number = KiteControl.version
    static let engine = "interpreter"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print Kite's version and the CPU engine it runs guests on."
    )

    func run() {
        print("kite \(KiteVersion.number) (cpu engine: \(KiteVersion.engine))")
    }
}
