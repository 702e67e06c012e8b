import Foundation
import KiteHost
import Testing

/// The channel kernel (Guests/pv/tests/channel) on a PVHost with a named channel: the
/// secondary console handshake, output kept and logged per channel, input typed by the
/// host answered by the guest, and the close.
@Suite struct PVHostChannelTests {
    @Test func aChannelCarriesOutputAndInputAndIsLogged() throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("kite-channel-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let host = try PVHost(memoryMiB: 64, consoleLogDirectory: logs)
        defer { host.shutdown() }
        let guest = try host.create(PVDomainSpec(
            kernel: try PVHostTests.kernel("channel"), kernelName: "channel", memoryMiB: 16, name: "chan",
            channels: [PVChannelSpec(name: "org.kite.test")]))
        let channel = try #require(guest.channels.first)
        #expect(channel.number == 1 && channel.name == "org.kite.test")
        let channelText = { String(decoding: channel.history.contents, as: UTF8.self) }
        #expect(eventually(30) { channelText().contains("channel hello from the guest\n") }, "\(channelText())")
        #expect(channel.isConnected)
        // The ring may not have room at once: send until the guest took it all.
        var input = Array("ping 42\n".utf8)
        #expect(eventually(10) {
            input.removeFirst(channel.send(input))
            return input.isEmpty
        })
        let outcome = guest.waitForStop(timeout: 60)
        let console = String(decoding: guest.console.contents, as: UTF8.self)
        #expect(outcome?.reason == .poweroff)
        #expect(console.contains("channel 1 is \"org.kite.test\""), "\(console)")
        #expect(console.contains("Test result: SUCCESS"), "\(console)")
        #expect(channelText() == "channel hello from the guest\npong: ping 42\n")
        _ = guest.destroy()
        let logged = try String(contentsOfFile: logs + "/guest-chan-org.kite.test.log", encoding: .utf8)
        #expect(logged == channelText())
        #expect(try String(contentsOfFile: logs + "/guest-chan.log", encoding: .utf8).contains("Test result: SUCCESS"))
    }

    @Test func withoutAChannelTheKernelSkipsAndNoConsoleDeviceExists() throws {
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let guest = try host.create(PVDomainSpec(kernel: try PVHostTests.kernel("channel"), kernelName: "channel", memoryMiB: 16))
        #expect(guest.channels.isEmpty)
        _ = guest.waitForStop(timeout: 60)
        let console = String(decoding: guest.console.contents, as: UTF8.self)
        _ = guest.destroy()
        #expect(console.contains("Test result: SKIP"), "\(console)")
    }
}
