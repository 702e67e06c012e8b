import Testing
import XenABI
@testable import XenStore

@Suite struct QuotaTests {
    /// A guest owning /local/domain/<d>/data.
    private func guest(_ quotas: XenStoreQuotas = XenStoreQuotas()) -> (StoreHarness, XenStoreConnectionID) {
        var h = StoreHarness(quotas: quotas)
        let guest = h.introduce(3)
        h.write(h.dom0, "/local/domain/3/data", "")
        _ = h.setPerms(h.dom0, "/local/domain/3/data", ["n3"])
        return (h, guest)
    }

    @Test func defaultsAreXenstoreds() {
        let quotas = XenStoreQuotas()
        #expect(quotas.nodesPerDomain == 1000)
        #expect(quotas.watchesPerDomain == 128)
        #expect(quotas.transactionsPerDomain == 10)
        #expect(quotas.outstandingRequests == 20)
        #expect(quotas.nodesPerTransaction == 1024)
        #expect(quotas.permissionsPerNode == 5)
        #expect(quotas.pathLength == 2048)
        #expect(quotas.nodeSize == 2048)
    }

    @Test func nodeQuotaIsENOSPCAndOnlyForThatDomain() {
        var quotas = XenStoreQuotas()
        quotas.nodesPerDomain = 5
        var (h, guest) = guest(quotas)
        // The guest owns data already (1 node): four more fit.
        for index in 0..<4 { #expect(h.writeError(guest, "data/n\(index)", "") == nil) }
        #expect(h.writeError(guest, "data/n4", "") == "ENOSPC")
        #expect(h.writeError(guest, "data/n0", "changed") == nil)     // modifying is fine
        #expect(h.error(guest, .remove, ["data/n0"]) == nil)
        #expect(h.writeError(guest, "data/again", "") == nil)
        // Creating several levels at once needs room for all of them; nothing is left behind.
        #expect(h.error(guest, .remove, ["data/again"]) == nil)
        #expect(h.writeError(guest, "data/x/y", "") == "ENOSPC")
        #expect(h.read(h.dom0, "/local/domain/3/data/x") == "ERR:ENOENT")
        for index in 0..<20 { #expect(h.writeError(h.dom0, "/local/domain/3/data/dom0-\(index)", "") == nil) }
        let other = h.introduce(4)
        h.write(h.dom0, "/local/domain/4", "")
        _ = h.setPerms(h.dom0, "/local/domain/4", ["n4"])
        #expect(h.writeError(other, "a", "") == nil)
    }

    @Test func nodesCreatedByDom0ForAGuestCountForTheGuest() {
        var quotas = XenStoreQuotas()
        quotas.nodesPerDomain = 3
        var (h, guest) = guest(quotas)
        h.write(h.dom0, "/local/domain/3/data/a", "")   // inherits owner 3
        h.write(h.dom0, "/local/domain/3/data/b", "")
        #expect(h.writeError(guest, "data/c", "") == "ENOSPC")
    }

    @Test func transactionCommitRechecksTheNodeQuota() {
        var quotas = XenStoreQuotas()
        quotas.nodesPerDomain = 4
        var (h, guest) = guest(quotas)
        let tx = h.startTransaction(guest)
        #expect(h.writeError(guest, "data/a", "", tx: tx) == nil)
        #expect(h.writeError(guest, "data/b", "", tx: tx) == nil)
        // Outside the transaction the guest reaches 3 nodes meanwhile.
        #expect(h.writeError(guest, "data/z", "") == nil)
        // 3 + 2 would exceed; xenstored refuses a commit reaching the quota as well.
        #expect(h.error(guest, .transactionEnd, ["T"], tx: tx) == "ENOSPC")
        #expect(h.read(h.dom0, "/local/domain/3/data/a") == "ERR:ENOENT")
    }

    @Test func nodeSizeQuotaLimitsValuesOfUnprivilegedWriters() {
        var (h, guest) = guest()
        // 16 header + 8 per permission + value must stay within 2048.
        let fits = String(repeating: "v", count: 2048 - 16 - 8)
        #expect(h.writeError(guest, "data/big", fits) == nil)
        #expect(h.writeError(guest, "data/big", fits + "v") == "ENOSPC")
        #expect(h.read(guest, "data/big") == fits)
        // dom0 is not limited.
        #expect(h.writeError(h.dom0, "/local/domain/3/data/big", fits + "vvvv") == nil)
    }

    @Test func aParentGrowingPastTheNodeSizeRefusesNewChildren() {
        var (h, guest) = guest()
        let name = String(repeating: "c", count: 200)
        var created = 0
        while created < 20, h.writeError(guest, "data/\(name)\(created)", "") == nil { created += 1 }
        // data: 16 + 8 + children; each child name 201 bytes + NUL: 10 fit (2044), 11 would not (2246).
        #expect(created == 10)
    }

    @Test func permissionCountQuota() {
        var (h, guest) = guest()
        for domid: UInt16 in 4...9 { h.server.domainCreated(DomainID(domid)) }
        #expect(h.setPerms(guest, "data", ["n3", "r4", "r5", "r6", "r7"]) == nil)
        #expect(h.setPerms(guest, "data", ["n3", "r4", "r5", "r6", "r7", "r8"]) == "ENOSPC")
        #expect(h.setPerms(h.dom0, "/local/domain/3/data", ["n3", "r4", "r5", "r6", "r7", "r8", "r9"]) == nil)
    }

    @Test func pathLengthQuotaIsEINVALForGuestsOnly() {
        var (h, guest) = guest()
        // 2048 bytes after /local/domain/3/, in short components (a long leaf name would
        // overflow its parent's node size instead).
        let component = "/" + String(repeating: "p", count: 99)
        let fits = "data" + String(repeating: component, count: 20) + "/" + String(repeating: "p", count: 43)
        #expect(fits.utf8.count == 2048)
        #expect(h.writeError(guest, fits, "") == nil)
        #expect(h.writeError(guest, fits + "p", "") == "EINVAL")
        #expect(h.writeError(h.dom0, "/local/domain/3/" + fits + "pp", "") == nil)
    }
}
