import ArgumentParser
import Foundation
import KiteControl

/// Options every command that talks to kited takes.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "kited's control socket (default: $KITE_RUN_DIR/kited.sock, else $XDG_RUNTIME_DIR/kite/kited.sock, else /tmp/kite-<uid>/kited.sock).",
        valueName: "path"))
    var socket: String?

    var client: ControlClient { ControlClient(socketPath: socket ?? KiteRuntimeDirectory.current().controlSocket) }

    /// Sends `request`; a refusal is printed as `kite: message` and exits with 1.
    func send(_ request: ControlRequest) throws -> ControlReply {
        do { return try client.send(request) } catch { throw CommandFailure(error.message) }
    }

    /// The one domain `ref` names.
    func domain(_ ref: String) throws -> DomainSummary {
        guard case .domain(let d, _) = try send(.domainInfo(DomainRef(ref))) else { throw CommandFailure.unexpectedReply }
        return d
    }

    func domains() throws -> [DomainSummary] {
        guard case .domains(let all) = try send(.list) else { throw CommandFailure.unexpectedReply }
        return all
    }
}

/// A failure `kite` reports as `kite: message` on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
    static let unexpectedReply = CommandFailure("kited answered with an unexpected reply (is kite older or newer than kited?)")
}

/// Writes to standard error without a trailing newline added.
func printError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// The domain argument every per-domain command takes.
struct DomainArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The domain: its name or its numeric id.", valueName: "domain"))
    var domain: String

    var ref: DomainRef { DomainRef(domain) }
}
