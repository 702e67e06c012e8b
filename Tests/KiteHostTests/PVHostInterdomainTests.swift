import Foundation
import KiteHost
import Testing
import XenABI
import XenControl

/// Two domains on one host talking over an interdomain event channel (the
/// bench-evtchn-pair kernel in both roles).
struct PVHostInterdomainTests {
    @Test func twoDomainsPingPongAnEventChannel() throws {
        let host = try PVHost(memoryMiB: 48)
        defer { host.shutdown() }
        var server = try PVHostTests.spec("bench-evtchn-pair", name: "server")
        server.commandLine = "serve peer=2 count=300"
        var client = try PVHostTests.spec("bench-evtchn-pair", name: "client")
        client.commandLine = "ping peer=1 count=300"
        let s = try host.create(server)
        let c = try host.create(client)
        #expect(s.id == DomainID(1) && c.id == DomainID(2))
        for guest in [c, s] {
            let outcome = try #require(guest.waitForStop(timeout: 120))
            #expect(outcome.reason == .poweroff, "\(guest.name): \(PVHostTests.text(guest))")
            #expect(PVHostTests.text(guest).contains("Test result: SUCCESS"), "\(PVHostTests.text(guest))")
        }
        #expect(PVHostTests.text(c).contains("300 round trips with domain 1"))
        #expect(PVHostTests.text(s).contains("served 300 round trips for domain 2"))
        #expect(s.destroy().leakedFrames == 0 && c.destroy().leakedFrames == 0)
    }

    @Test func aClientWhosePeerIsDestroyedStopsWaiting() throws {
        let host = try PVHost(memoryMiB: 48)
        defer { host.shutdown() }
        var server = try PVHostTests.spec("bench-evtchn-pair", name: "server")
        server.commandLine = "serve peer=2 count=1000000000"
        var client = try PVHostTests.spec("bench-evtchn-pair", name: "client")
        client.commandLine = "ping peer=1 count=1000000000"
        let s = try host.create(server)
        let c = try host.create(client)
        Thread.sleep(forTimeInterval: 0.5)
        // Destroying one side closes its end: the other's channel becomes unbound and it
        // polls forever; destroying it too must still give every frame back.
        #expect(s.destroy().leakedFrames == 0)
        #expect(c.state == .running)
        #expect(c.destroy().leakedFrames == 0)
        #expect(host.guests.isEmpty)
    }
}
