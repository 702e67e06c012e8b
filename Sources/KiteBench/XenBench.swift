import ArgumentParser
import Foundation
import KiteHost
import Synchronization
import X86Interpreter
import XenCore

/// `kite-bench xen`: the PV hypervisor paths, timed in real guests.
///
/// - null-hypercall: the bench-xen_version kernel's loop of xen_version(XENVER_version)
///   through the hypercall page (guest system time is the host's monotonic clock);
/// - mmu-update: the bench-mmu_update kernel's single-request mmu_update loop;
/// - evtchn-roundtrip: two vCPUs on two host threads ping-ponging an event channel
///   (send → wake from block → upcall → reply → poll wakes), per round trip;
/// - evtchn-domains: two domains on one host (bench-evtchn-pair in both roles)
///   ping-ponging an interdomain channel (send → the peer's poll wakes → reply), per round
///   trip as the client's guest clock measures it.
/// Each prints `BENCH <name> ns=<value> cycles=<value>`; cycles use the host CPU's clock rate.
struct XenBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xen",
        abstract: "Nanoseconds per hypercall, mmu_update and event-channel round trip in PV guests.")

    @Option(help: "Event-channel round trips to time.")
    var roundTrips = 20_000

    func run() throws {
        let mhz = Self.hostMegahertz()
        func report(_ name: String, _ ns: Double) {
            let cycles = mhz.map { String(format: " cycles=%.0f", ns * $0 / 1000) } ?? ""
            print(String(format: "BENCH %@ ns=%.0f", name, ns) + cycles)
        }
        let hypercall = try guestFigure(kernel: "bench-xen_version", line: "via the hypercall page")
        report("null-hypercall", hypercall)
        let mmu = try guestFigure(kernel: "bench-mmu_update", line: "single mmu_updates")
        report("mmu-update", mmu)
        let event = try EventRoundTripBenchmark.run(roundTrips: roundTrips, engines: InterpreterFactory())
        guard event.shutdown == .poweroff else { throw ValidationError("the event-channel guest did not finish: \(String(describing: event.shutdown))") }
        report("evtchn-roundtrip", event.nanosecondsPerRoundTrip)
        report("evtchn-domains", try interdomainRoundTrip())
        if let mhz { FileHandle.standardError.write(Data(String(format: "host clock %.0f MHz (from /proc/cpuinfo)\n", mhz).utf8)) }
    }

    /// Boots a bench kernel and reads the "(N ns/…)" figure from its line containing `line`.
    private func guestFigure(kernel name: String, line: String) throws -> Double {
        let path = try Self.findKernel(name)
        guard let bytes = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let console = Console()
        let launcher = PVDomainLauncher(kernel: [UInt8](bytes), kernelName: name, memoryMiB: 64) { b in
            console.bytes.withLock { $0 += b }
        }
        let outcome = try launcher.launch()
        let text = console.text
        guard outcome.reason == .poweroff, text.contains("Test result: SUCCESS"),
            let figureLine = text.split(separator: "\n").first(where: { $0.contains(line) }),
            let open = figureLine.lastIndex(of: "("),
            let value = Double(figureLine[figureLine.index(after: open)...].prefix { $0.isNumber })
        else { throw ValidationError("\(name) did not report its figure:\n\(text)") }
        return value
    }

    /// Two domains on one PVHost; the client prints "(N ns/round trip)".
    private func interdomainRoundTrip() throws -> Double {
        let path = try Self.findKernel("bench-evtchn-pair")
        guard let bytes = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let server = try host.create(PVDomainSpec(
            kernel: [UInt8](bytes), kernelName: path, commandLine: "serve peer=2 count=\(roundTrips)", memoryMiB: 16,
            name: "server"))
        let client = try host.create(PVDomainSpec(
            kernel: [UInt8](bytes), kernelName: path, commandLine: "ping peer=1 count=\(roundTrips)", memoryMiB: 16,
            name: "client"))
        _ = client.waitForStop()
        _ = server.waitForStop(timeout: 10)
        let text = String(decoding: client.console.contents, as: UTF8.self)
        guard text.contains("Test result: SUCCESS"),
            let figureLine = text.split(separator: "\n").first(where: { $0.contains("ns/round trip") }),
            let open = figureLine.lastIndex(of: "("),
            let value = Double(figureLine[figureLine.index(after: open)...].prefix { $0.isNumber })
        else { throw ValidationError("bench-evtchn-pair did not report its figure:\n\(text)") }
        return value
    }

    final class Console: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    }

    static func findKernel(_ name: String) throws -> String {
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while true {
            let candidate = dir.appendingPathComponent("Guests/build/pv/\(name).elf").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw ValidationError("Guests/build/pv/\(name).elf is not built; run scripts/build-guests.sh")
    }

    /// The host CPU clock from /proc/cpuinfo (nil when unknown).
    static func hostMegahertz() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("cpu MHz") {
            if let v = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) { return v }
        }
        return nil
    }
}
