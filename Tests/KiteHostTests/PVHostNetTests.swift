import Dispatch
import Foundation
import Glibc
import KiteHost
import Testing
import XenABI
import XenBackends

/// The netfront kernel (Guests/pv/tests/netfront) on a PVHost with vifs: two domains on
/// one virtual switch (ping and echo), and one on the user-mode network reaching a TCP
/// line-echo server on the host's loopback through slirp (the guest's 10.0.2.2).
@Suite(.serialized) struct PVHostNetTests {
    func kernel() throws -> [UInt8] {
        let path = PVHostTests.buildDirectory.appendingPathComponent("netfront.elf").path
        return [UInt8](try #require(FileManager.default.contents(atPath: path), "run scripts/build-guests.sh first"))
    }

    func spec(_ name: String, _ commandLine: String, network: String, mac: String) throws -> PVDomainSpec {
        PVDomainSpec(kernel: try kernel(), kernelName: "netfront", commandLine: commandLine, memoryMiB: 16, name: name,
                     vifs: [PVNetworkSpec(mac: mac, network: network)])
    }

    @Test func twoDomainsPingOverAVirtualSwitch() throws {
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let echo = try host.create(spec("echo", "mode=echo ip=10.0.3.2 count=3", network: "kite-test",
                                        mac: "00:16:3e:00:03:02"))
        let ping = try host.create(spec("ping", "mode=ping ip=10.0.3.1 peer=10.0.3.2 count=3", network: "kite-test",
                                        mac: "00:16:3e:00:03:01"))
        for guest in [ping, echo] {
            let outcome = guest.waitForStop(timeout: 300)
            let text = String(decoding: guest.console.contents, as: UTF8.self)
            #expect(outcome?.reason == .poweroff, "\(guest.name): \(text)")
            #expect(text.contains("Test result: SUCCESS"), "\(guest.name): \(text)")
        }
        #expect(String(decoding: ping.console.contents, as: UTF8.self).contains("ping: reply 3 from 10.0.3.2"))
        #expect(ping.destroy().leakedFrames == 0 && echo.destroy().leakedFrames == 0)
    }

    @Test func aGuestReachesAHostTCPServerThroughTheUserNetwork() throws {
        // A line-echo server on 127.0.0.1 (the guest's 10.0.2.2).
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(listener, p, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, p, &length) == 0
            }
        }
        #expect(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let served = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            defer { served.signal() }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while read(connection, &byte, 1) == 1 {
                line.append(byte)
                if byte == 10 { break }
            }
            _ = write(connection, line, line.count)
        }
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let guest = try host.create(spec("tcp", "mode=tcp port=\(port)", network: PVNetworkSpec.userMode,
                                         mac: "00:16:3e:00:02:0f"))
        let outcome = guest.waitForStop(timeout: 300)
        let text = String(decoding: guest.console.contents, as: UTF8.self)
        #expect(outcome?.reason == .poweroff, "\(text)")
        #expect(text.contains("Test result: SUCCESS"), "\(text)")
        #expect(text.contains("DHCP lease 10.0.2.15"), "\(text)")
        #expect(served.wait(timeout: .now() + 5) == .success)
        #expect(guest.destroy().leakedFrames == 0)
    }

    @Test func withoutAVifTheKernelSkips() throws {
        let host = try PVHost(memoryMiB: 32)
        defer { host.shutdown() }
        let guest = try host.create(PVDomainSpec(kernel: try kernel(), kernelName: "netfront", memoryMiB: 16))
        _ = guest.waitForStop(timeout: 120)
        #expect(String(decoding: guest.console.contents, as: UTF8.self).contains("Test result: SKIP"))
        _ = guest.destroy()
    }
}
