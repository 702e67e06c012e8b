import ArgumentParser
import Foundation
import KiteHost

/// `kite-bench net`: UDP throughput between two domains on one virtual switch (the
/// netfront kernel as `mode=blast` and `mode=sink`): the blaster's transmit ring, grant
/// copies into host frames, the switch, the sink's receive ring.
///
/// Prints `BENCH net-domain-to-domain MBps=<v>` (MB = 10^6 bytes of UDP payload), from the
/// sink's own clock between its first and last datagram. Datagrams dropped because the
/// sink fell behind (its bounded receive queue) do not count.
struct NetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "UDP MB/s between two domains on one virtual switch.")

    @Option(help: "Bytes of UDP payload the sending domain sends, in MiB.")
    var megabytes = 16

    func run() throws {
        guard megabytes >= 1 else { throw ValidationError("--megabytes must be at least 1") }
        let kernel = try XenBench.findKernel("netfront")
        guard let bytes = FileManager.default.contents(atPath: kernel) else { throw ValidationError("cannot read \(kernel)") }
        let host = try PVHost(memoryMiB: 96)
        defer { host.shutdown() }
        func spec(_ name: String, _ commandLine: String, mac: String) -> PVDomainSpec {
            PVDomainSpec(kernel: [UInt8](bytes), kernelName: "netfront", commandLine: commandLine, memoryMiB: 32, name: name,
                         vifs: [PVNetworkSpec(mac: mac, network: "kite-bench")])
        }
        let sink = try host.create(spec("sink", "mode=sink ip=10.0.3.2 port=9 timeout=900", mac: "00:16:3e:be:00:02"))
        let blast = try host.create(spec(
            "blast", "mode=blast ip=10.0.3.1 peer=10.0.3.2 port=9 timeout=900 bytes=\(megabytes << 20)",
            mac: "00:16:3e:be:00:01"))
        _ = blast.waitForStop(timeout: 1800)
        _ = sink.waitForStop(timeout: 60)
        let sent = String(decoding: blast.console.contents, as: UTF8.self)
        let received = String(decoding: sink.console.contents, as: UTF8.self)
        _ = blast.destroy()
        _ = sink.destroy()
        guard let figure = Self.figure(received) else {
            throw ValidationError("the sink did not report its figures:\n\(received)\n--- sender:\n\(sent)")
        }
        for line in (sent + received).split(separator: "\n") where line.hasPrefix("blast:") || line.hasPrefix("NETBENCH") {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        let megabytesPerSecond = figure.nanoseconds == 0 ? 0 : Double(figure.bytes) * 1000 / Double(figure.nanoseconds)
        print(String(format: "BENCH net-domain-to-domain MBps=%.1f", megabytesPerSecond))
        let offered = UInt64(megabytes) << 20
        FileHandle.standardError.write(Data(String(
            format: "%.1f MiB received of %.1f MiB sent (%.1f%%)\n", Double(figure.bytes) / 1_048_576,
            Double(offered) / 1_048_576, 100 * Double(figure.bytes) / Double(max(offered, 1))).utf8))
    }

    /// "NETBENCH bytes=<n> ns=<t> datagrams=<d>" from the sink's console.
    static func figure(_ text: String) -> (bytes: UInt64, nanoseconds: UInt64)? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NETBENCH ") }) else { return nil }
        var values: [String: UInt64] = [:]
        for word in line.split(separator: " ").dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let v = UInt64(parts[1]) { values[String(parts[0])] = v }
        }
        guard let bytes = values["bytes"], let ns = values["ns"] else { return nil }
        return (bytes, ns)
    }
}
