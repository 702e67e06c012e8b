import ArgumentParser
import Dispatch
import Foundation
import KiteControl
import KiteHost
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `kited`: hosts every domain of this machine and serves the control API (docs/control-api.md)
/// on a Unix socket, until SIGINT or SIGTERM, which destroy every domain.
@main
struct KitedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kited",
        abstract: "Kite's daemon: hosts the domains of this machine and serves the control API that `kite` uses.",
        discussion: """
            kited listens on \(KiteRuntimeDirectory.current().controlSocket) (the directory is $KITE_RUN_DIR, else $XDG_RUNTIME_DIR/kite, else /tmp/kite-<uid>). Only one kited serves a socket; a socket left behind by a kited that died is removed. Log lines go to standard error, one per line with the domain id (domid=0 is the host), and to the ring that `kite dmesg` shows. SIGINT or SIGTERM stops kited and destroys every domain.

            Typical use:
              kited &
              kite create examples/pv-demo.cfg -c
              kite list
            """)

    @Option(name: .long, help: ArgumentHelp("Guest RAM the host can give to domains, in MiB.", valueName: "MiB"))
    var memory: UInt64 = 1024

    @Option(name: .long, help: ArgumentHelp("The control socket (default: the runtime directory's kited.sock).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String = "info"

    @Flag(name: .shortAndLong, help: "Do not echo log lines to standard error (they still reach `kite dmesg`).")
    var quiet = false

    func validate() throws {
        guard (4...(1 << 20)).contains(memory) else { throw ValidationError("--memory must be between 4 and 1048576 MiB") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let c = KiteDaemon.Configuration(
            socketPath: socket ?? KiteRuntimeDirectory.current().controlSocket, memoryMiB: memory,
            logLevel: Logger.Level(rawValue: logLevel) ?? .info, echo: quiet ? nil : KiteDaemon.standardError)
        let daemon: KiteDaemon
        do { daemon = try KiteDaemon.start(c) } catch {
            FileHandle.standardError.write(Data("kited: \(error)\n".utf8))
            throw ExitCode.failure
        }
        var sources: [any DispatchSourceSignal] = []
        for s in [SIGINT, SIGTERM] {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { daemon.stop() }
            source.resume()
            sources.append(source)
        }
        daemon.wait()
        sources.forEach { $0.cancel() }
    }
}
