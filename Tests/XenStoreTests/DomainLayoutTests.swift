import Testing
import XenABI
@testable import XenStore

@Suite struct DomainLayoutTests {
    private let layout = XenStoreDomainLayout(
        domain: DomainID(5), name: "guest", uuid: "00000000-0000-0000-0000-000000000005",
        targetMemoryKiB: 262_144, vcpus: 2, storePort: EventChannelPort(1), storeFrame: 0x1234,
        consolePort: EventChannelPort(2), consoleFrame: 0x1235)

    @Test func writesTheLibxlKeys() throws {
        var server = XenStoreServer()
        try server.writeDomainLayout(layout)
        let base = "/local/domain/5"
        #expect(try server.readString(base + "/name") == "guest")
        #expect(try server.readString(base + "/domid") == "5")
        #expect(try server.readString(base + "/vm") == "/vm/00000000-0000-0000-0000-000000000005")
        #expect(try server.readString(base + "/memory/target") == "262144")
        #expect(try server.readString(base + "/memory/static-max") == "262144")
        #expect(try server.readString(base + "/store/port") == "1")
        #expect(try server.readString(base + "/store/ring-ref") == "4660")
        #expect(try server.readString(base + "/console/port") == "2")
        #expect(try server.readString(base + "/console/type") == "xenconsoled")
        #expect(try server.readString(base + "/cpu/1/availability") == "online")
        #expect(try server.readString(base + "/control/platform-feature-xs_reset_watches") == "1")
        #expect(try server.readString("/libxl/5/type") == "pv")
        #expect(try server.permissions(base) == ["n0", "r5"])
        #expect(try server.permissions(base + "/memory/target") == ["n0", "r5"])
        #expect(try server.permissions(base + "/control/shutdown") == ["n5"])
        #expect(try server.permissions(base + "/device/suspend/event-channel") == ["n5"])
        #expect(try server.permissions(base + "/data") == ["n5"])
        #expect(try server.permissions("/libxl/5") == ["n0"])
        #expect(try server.permissions("/vm/00000000-0000-0000-0000-000000000005/name") == ["n0", "r5"])
    }

    @Test func theGuestSeesWhatLinuxNeeds() throws {
        var h = StoreHarness()
        try h.server.writeDomainLayout(layout)
        let guest = h.introduce(5)
        #expect(h.read(guest, "memory/target") == "262144")
        #expect(h.read(guest, "control/shutdown") == "")
        #expect(h.writeError(guest, "control/feature-poweroff", "1") == nil)
        #expect(h.writeError(guest, "data/updated", "1") == nil)
        #expect(h.writeError(guest, "name", "evil") == "EACCES")
        #expect(h.writeError(guest, "device/vbd/51712/state", "1") == "EACCES")
        #expect(h.read(guest, "/libxl/5/type") == "ERR:EACCES")
        #expect(h.read(guest, "/local/domain/6") == "ERR:EACCES")
        // The toolstack asks for a shutdown; the guest's watch on control/shutdown fires.
        h.send(guest, .watch, ["control/shutdown", "ctl"])
        #expect(StoreHarness.events(try h.server.write("/local/domain/5/control/shutdown", "poweroff"),
                                    for: guest) == ["control/shutdown"])
    }

    @Test func rewritingReplacesAndRemovingCleansUp() throws {
        var server = XenStoreServer()
        try server.writeDomainLayout(layout)
        try server.write("/local/domain/5/stale", "x")
        try server.writeDomainLayout(layout)
        #expect(throws: XenError.ENOENT) { try server.read("/local/domain/5/stale") }
        try server.removeDomainLayout(layout)
        #expect(throws: XenError.ENOENT) { try server.read("/local/domain/5") }
        #expect(throws: XenError.ENOENT) { try server.read("/libxl/5") }
        #expect(throws: XenError.ENOENT) { try server.read("/vm/00000000-0000-0000-0000-000000000005") }
    }

    @Test func destructionLeavesOnlyTheToolstacksNodes() throws {
        var h = StoreHarness()
        try h.server.writeDomainLayout(layout)
        _ = h.introduce(5)
        _ = h.server.domainDestroyed(DomainID(5))
        #expect(h.read(h.dom0, "/local/domain/5/name") == "guest")
        #expect(h.read(h.dom0, "/local/domain/5/control/shutdown") == "ERR:ENOENT")
        #expect(h.read(h.dom0, "/local/domain/5/data") == "ERR:ENOENT")
    }
}
