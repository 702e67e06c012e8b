import Foundation
import KiteHost
import Testing
import XenABI

/// vcpu-set, mem-set and mem-max as xl does them: targets in xenstore, limits in the
/// hypervisor, and a guest (Guests/pv/tests/balloon) whose balloon follows the target.
@Suite struct PVHostResourceTests {
    func read(_ host: PVHost, _ path: String) -> String? {
        try? host.store.inspect { (s) throws(XenError) in try s.readString(path) }
    }

    @Test func maxvcpusAndMaxmemBecomeOfflineVCPUsAndARoomAboveTheTarget() throws {
        let host = try PVHost(memoryMiB: 96)
        defer { host.shutdown() }
        let guest = try host.create(PVDomainSpec(
            kernel: try PVHostTests.kernel("balloon"), kernelName: "balloon", memoryMiB: 16, maxMemoryMiB: 32, vcpus: 2, maxVCPUs: 4,
            startPaused: true))
        let d = "/local/domain/\(guest.id.rawValue)"
        #expect(guest.vcpuCount == 4 && guest.availableVCPUs == 2)
        #expect((0..<4).map { read(host, "\(d)/cpu/\($0)/availability") } == ["online", "online", "offline", "offline"])
        #expect(read(host, "\(d)/memory/static-max") == "32768" && read(host, "\(d)/memory/target") == "16384")
        #expect(guest.maximumMemoryMiB == 32 && guest.memoryTargetMiB == 16)

        try guest.setAvailableVCPUs(3)
        #expect((0..<4).map { read(host, "\(d)/cpu/\($0)/availability") } == ["online", "online", "online", "offline"])
        #expect(throws: LaunchError.self) { try guest.setAvailableVCPUs(5) }
        #expect(throws: LaunchError.self) { try guest.setAvailableVCPUs(0) }
        #expect(throws: LaunchError.self) { try guest.setMemoryTarget(mib: 33) }
        try guest.setMemoryTarget(mib: 24)
        #expect(read(host, "\(d)/memory/target") == "24576")
        #expect(throws: LaunchError.self) { try guest.setMaximumMemory(mib: 20) }
        try guest.setMaximumMemory(mib: 40)
        #expect(read(host, "\(d)/memory/static-max") == "40960" && guest.maximumMemoryMiB == 40)
        _ = guest.destroy()
        #expect(throws: LaunchError.self) { try guest.setMemoryTarget(mib: 16) }
    }

    @Test func theGuestsBalloonFollowsMemSetDownAndUpWithinMaxmem() throws {
        let host = try PVHost(memoryMiB: 96)
        defer { host.shutdown() }
        let guest = try host.create(PVDomainSpec(
            kernel: try PVHostTests.kernel("balloon"), kernelName: "balloon", memoryMiB: 16, maxMemoryMiB: 17))
        let text = { String(decoding: guest.console.contents, as: UTF8.self) }
        #expect(eventually(30) { text().contains("balloon: 4096 pages, target 16384 KiB, maximum 4352 pages") }, "\(text())")
        #expect(guest.currentMemoryMiB == 16)
        // Down by 1 MiB: the guest gives 256 frames back.
        try guest.setMemoryTarget(mib: 15)
        #expect(eventually(30) { text().contains("balloon: 3840 pages\n") }, "\(text())")
        #expect(guest.currentMemoryMiB == 15)
        // Up to maxmem: it takes them again (its pool holds 1 MiB, the domain may reach 17).
        try guest.setMemoryTarget(mib: 16)
        #expect(eventually(30) { text().contains("balloon: 4096 pages\n") }, "\(text())")
        #expect(guest.currentMemoryMiB == 16)
        try guest.requestShutdown(.poweroff)
        let outcome = guest.waitForStop(timeout: 60)
        #expect(outcome?.reason == .poweroff)
        #expect(text().contains("Test result: SUCCESS"), "\(text())")
        #expect(guest.destroy().leakedFrames == 0)
    }
}
