import Testing
import XenABI
@testable import XenStore

@Suite struct PermissionTests {
    /// dom0 builds /local/domain/5 (n0,r5) like a toolstack and introduces domain 5.
    private func guestSetup() -> (StoreHarness, XenStoreConnectionID) {
        var h = StoreHarness()
        let guest = h.introduce(5)
        h.write(h.dom0, "/local/domain/5", "")
        _ = h.setPerms(h.dom0, "/local/domain/5", ["n0", "r5"])
        return (h, guest)
    }

    @Test func guestReadsOnlyWhatItIsGranted() {
        var (h, guest) = guestSetup()
        h.write(h.dom0, "/local/domain/5/name", "guest")
        h.write(h.dom0, "/secret", "x")
        #expect(h.read(guest, "/local/domain/5/name") == "guest")   // inherited n0,r5
        #expect(h.read(guest, "name") == "guest")                   // relative
        #expect(h.read(guest, "/secret") == "ERR:EACCES")
        #expect(h.read(guest, "/tool") == "ERR:EACCES")
        #expect(h.error(guest, .directory, ["/"]) == "EACCES")
    }

    @Test func missingNodesDoNotLeakThroughUnreadableParents() {
        var (h, guest) = guestSetup()
        #expect(h.read(guest, "/nothing") == "ERR:EACCES")              // root n0
        #expect(h.read(guest, "/local/domain/5/nothing") == "ERR:ENOENT") // parent readable
    }

    @Test func guestCreatesOnlyUnderWritableNodes() {
        var (h, guest) = guestSetup()
        #expect(h.writeError(guest, "data/x", "1") == "EACCES")        // parent only r5
        h.write(h.dom0, "/local/domain/5/data", "")
        _ = h.setPerms(h.dom0, "/local/domain/5/data", ["n5"])          // guest-owned
        #expect(h.writeError(guest, "data/x/y", "1") == nil)
        #expect(h.ok(h.dom0, .getPermissions, ["/local/domain/5/data/x"]) == ["n5"])
        #expect(h.ok(h.dom0, .getPermissions, ["/local/domain/5/data/x/y"]) == ["n5"])
        #expect(h.error(guest, .mkdir, ["/newtop"]) == "EACCES")
        #expect(h.writeError(guest, "name", "evil") == "EACCES")
    }

    @Test func createdNodesInheritACLWithCreatorAsOwner() {
        var (h, guest) = guestSetup()
        h.server.domainCreated(DomainID(9))
        h.write(h.dom0, "/shared", "")
        _ = h.setPerms(h.dom0, "/shared", ["n0", "b5", "r9"])
        #expect(h.writeError(guest, "/shared/a/b", "v") == nil)
        #expect(h.ok(h.dom0, .getPermissions, ["/shared/a"]) == ["n5", "b5", "r9"])
        #expect(h.ok(h.dom0, .getPermissions, ["/shared/a/b"]) == ["n5", "b5", "r9"])
        // dom0 creating keeps the inherited owner.
        h.write(h.dom0, "/shared/c", "")
        #expect(h.ok(h.dom0, .getPermissions, ["/shared/c"]) == ["n0", "b5", "r9"])
    }

    @Test func firstEntryIsTheDefaultForEveryoneElse() {
        var (h, guest) = guestSetup()
        let other = h.introduce(6)
        h.write(h.dom0, "/pub", "p")
        _ = h.setPerms(h.dom0, "/pub", ["r0"])
        #expect(h.read(guest, "/pub") == "p")
        #expect(h.read(other, "/pub") == "p")
        #expect(h.writeError(guest, "/pub", "x") == "EACCES")
        _ = h.setPerms(h.dom0, "/pub", ["r0", "n6"])
        #expect(h.read(other, "/pub") == "ERR:EACCES")
        #expect(h.read(guest, "/pub") == "p")
    }

    @Test func writeOnlyEntries() {
        var (h, guest) = guestSetup()
        h.write(h.dom0, "/wo", "v")
        _ = h.setPerms(h.dom0, "/wo", ["n0", "w5"])
        #expect(h.writeError(guest, "/wo", "new") == nil)
        #expect(h.read(guest, "/wo") == "ERR:EACCES")
        #expect(h.read(h.dom0, "/wo") == "new")
    }

    @Test func onlyOwnerOrDom0ChangesPermissions() {
        var (h, guest) = guestSetup()
        let other = h.introduce(6)
        h.write(h.dom0, "/o", "")
        _ = h.setPerms(h.dom0, "/o", ["n5", "b6"])
        #expect(h.setPerms(other, "/o", ["n5", "b6"]) == "EACCES")   // writer but not owner
        #expect(h.setPerms(guest, "/o", ["n5", "r6"]) == nil)
        #expect(h.setPerms(guest, "/o", ["n6"]) == "EPERM")          // guests may not give away
        #expect(h.setPerms(h.dom0, "/o", ["n6"]) == nil)             // dom0 may
        #expect(h.ok(other, .getPermissions, ["/o"]) == ["n6"])
        #expect(h.setPerms(guest, "/o", ["n5"]) == "EACCES")
    }

    @Test func entriesForUnknownDomainsAreIgnored() {
        var (h, guest) = guestSetup()
        h.write(h.dom0, "/u", "v")
        // Domain 8 does not exist yet: its entry is stored but grants nothing.
        _ = h.setPerms(h.dom0, "/u", ["n0", "r8"])
        #expect(h.ok(h.dom0, .getPermissions, ["/u"]) == ["n0", "r8"])
        let late = h.introduce(8)
        #expect(h.read(late, "/u") == "ERR:EACCES")
        _ = h.setPerms(h.dom0, "/u", ["n0", "r8", "r5"])
        #expect(h.read(late, "/u") == "v")
        #expect(h.read(guest, "/u") == "v")
    }

    @Test func aReusedDomainIDInheritsNothing() {
        var (h, _) = guestSetup()
        h.server.domainCreated(DomainID(7))
        h.write(h.dom0, "/grant", "v")
        _ = h.setPerms(h.dom0, "/grant", ["n0", "r7"])
        let first = h.introduce(7)
        #expect(h.read(first, "/grant") == "v")
        #expect(h.ok(h.dom0, .release, ["7"]) == ["OK"])
        // Domains take the current generation, nodes a fresh one: as in xenstored, the new
        // domain must come after some later write to be told apart (the toolstack's writes).
        h.write(h.dom0, "/unrelated", "")
        let second = h.introduce(7)
        #expect(h.read(second, "/grant") == "ERR:EACCES")
        // Rewriting the node does not revive the stale entry either.
        h.write(h.dom0, "/grant", "w")
        #expect(h.read(second, "/grant") == "ERR:EACCES")
    }

    @Test func setTargetGrantsTheTargetsRights() {
        var (h, guest) = guestSetup()
        let stub = h.introduce(6)
        h.write(h.dom0, "/local/domain/5/device", "")
        _ = h.setPerms(h.dom0, "/local/domain/5/device", ["n5"])
        #expect(h.read(stub, "/local/domain/5/device") == "ERR:EACCES")
        #expect(h.ok(h.dom0, .setTarget, ["6", "5"]) == ["OK"])
        #expect(h.read(stub, "/local/domain/5/device") == "")
        #expect(h.writeError(stub, "/local/domain/5/device/x", "1") == nil)
        // As in xenstored the creator, not the target, owns what it creates.
        #expect(h.ok(h.dom0, .getPermissions, ["/local/domain/5/device/x"]) == ["n6"])
        #expect(h.read(guest, "/local/domain/5/device/x") == "ERR:EACCES")
        #expect(h.error(h.dom0, .setTarget, ["6", "99"]) == "ENOENT")
        #expect(h.error(h.dom0, .setTarget, ["6"]) == "EINVAL")
    }

    @Test func specialNodesKeepTheirOwnPermissions() {
        var (h, guest) = guestSetup()
        #expect(h.error(guest, .getPermissions, ["@releaseDomain"]) == "EACCES")
        _ = h.setPerms(h.dom0, "@releaseDomain", ["n0", "r5"])
        #expect(h.ok(guest, .getPermissions, ["@releaseDomain"]) == ["n0", "r5"])
        #expect(h.setPerms(guest, "@releaseDomain", ["n5"]) == "EACCES")
    }
}
