import Foundation
import KiteControl
import KiteHost
import Testing
import Toolstack

/// A kited served in-process on a temporary socket, and the paths and helpers the daemon
/// tests share.
final class TestDaemon {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let demoKernel = repository.appendingPathComponent("Guests/build/pv-demo.elf").path

    let directory: String
    let socketPath: String
    let daemon: KiteDaemon
    let client: ControlClient
    let logLines = Lines()

    /// Short paths: a Unix socket path has at most 107 bytes.
    init(memoryMiB: UInt64 = 64) throws {
        directory = "/tmp/kite-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        socketPath = directory + "/kited.sock"
        let lines = logLines
        daemon = try KiteDaemon.start(.init(socketPath: socketPath, memoryMiB: memoryMiB, logLevel: .debug, echo: { lines.append($0) }))
        client = ControlClient(socketPath: socketPath)
    }

    deinit {
        daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func requireDemo() throws {
        try #require(FileManager.default.fileExists(atPath: demoKernel), "run scripts/build-guests.sh first")
    }

    /// Writes `text` as `name` in the test's directory.
    func write(_ name: String, _ text: String) -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// What `kite create FILE [overrides]` sends, from an xl.cfg text.
    func createSpec(_ cfg: String, overrides: [String] = [], paused: Bool = false) throws -> DomainCreateSpec {
        let path = write("guest.cfg", cfg)
        let parsed = try XLDomainConfig.parse(cfg, source: path, overrides: overrides)
        return DomainCreateSpec(parsed.config, resolvingPathsAgainst: directory, paused: paused, configFile: path)
    }

    func create(_ cfg: String, overrides: [String] = [], paused: Bool = false) throws -> DomainSummary {
        guard case .domain(let d, _) = try client.send(.create(try createSpec(cfg, overrides: overrides, paused: paused))) else {
            throw ControlError(.protocolError, "not a domain reply")
        }
        return d
    }

    func list() throws -> [DomainSummary] {
        guard case .domains(let all) = try client.send(.list) else { throw ControlError(.protocolError, "not a list") }
        return all
    }

    func error(_ request: ControlRequest) -> ControlError? {
        do {
            _ = try client.send(request)
            return nil
        } catch {
            return error
        }
    }

    /// Polls `condition` until it holds or `timeout` seconds pass (a throw counts as false).
    @discardableResult
    func eventually(timeout: Double = 60, _ condition: () throws -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if (try? condition()) == true { return true }
            usleep(20_000)
        }
        return (try? condition()) == true
    }
}

/// A thread-safe list of lines or bytes for test closures.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ s: String) { lock.withLock { stored.append(s) } }
    var all: [String] { lock.withLock { stored } }
}

final class Bytes: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [UInt8] = []
    func append(_ b: ArraySlice<UInt8>) { lock.withLock { stored += b } }
    var text: String { lock.withLock { String(decoding: stored, as: UTF8.self) } }
}

/// The demo guest's configuration, as examples/pv-demo.cfg has it but with an absolute kernel.
func demoConfig(name: String = "demo", extra: String = "") -> String {
    """
    name = "\(name)"
    kernel = "\(TestDaemon.demoKernel)"
    memory = 16
    \(extra)
    """
}

/// Polls `condition` every 10 ms for up to `seconds`; whether it came to hold.
func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
