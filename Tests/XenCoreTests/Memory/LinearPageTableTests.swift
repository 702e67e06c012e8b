import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

/// Xen's linear (recursive) page-table rules: define_get_linear_pagetable.
@Suite struct LinearPageTableTests {
    @Test func aReadOnlySelfMapTakesNoReferences() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        fx.write(tree.l4, 300, makePTE(tree.l4, PTEBits.p))  // Linux-style recursive slot
        try fx.activate(tree)
        #expect(fx.state(tree.l4).typeCount == 2)  // the pin and the base only
        #expect(fx.state(tree.l4).linearCount == 0)
        fx.expectConsistent()
        // Through mmu_update too, at every level.
        try fx.set(tree.l4, 301, makePTE(tree.l4, PTEBits.p))
        try fx.set(tree.l3, 5, makePTE(tree.l3, PTEBits.p))
        try fx.set(tree.l2, 5, makePTE(tree.l2, PTEBits.p))
        fx.expectConsistent()
        try fx.set(tree.l4, 301, 0)
        fx.expectConsistent()
    }

    @Test func aWritableSelfMapIsRefused() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        fx.write(tree.l4, 300, makePTE(tree.l4, PTEBits.prw))
        #expect(xenErrno { try fx.pin(tree.l4) } == .EINVAL)
        fx.write(tree.l4, 300, 0)
        try fx.activate(tree)
        for (table, slot) in [(tree.l4, 300), (tree.l3, 5), (tree.l2, 5)] {
            #expect(xenErrno { try fx.set(table, slot, makePTE(table, PTEBits.prw)) } == .EINVAL)
        }
        fx.expectConsistent()
    }

    @Test func sameLevelLinksToOtherValidatedTables() throws {
        let fx = try MMUFixture()
        let a = try fx.buildTree(), b = try fx.buildTree()
        try fx.activate(a)
        try fx.pin(b.l4)
        // L4 a → L4 b read-only: b gains a type reference; a counts one linear entry.
        try fx.set(a.l4, 400, makePTE(b.l4, PTEBits.p))
        #expect(fx.state(b.l4).typeCount == 2 && fx.state(b.l4).linearCount == -1)
        #expect(fx.state(a.l4).linearCount == 1)
        // The same for L3 and L2.
        try fx.set(a.l3, 7, makePTE(b.l3, PTEBits.p))
        try fx.set(a.l2, 7, makePTE(b.l2, PTEBits.p))
        #expect(fx.state(b.l2).linearCount == -1 && fx.state(a.l2).linearCount == 1)
        fx.expectConsistent()
        // Writable links, and links to tables not validated as that level, are refused.
        #expect(xenErrno { try fx.set(a.l4, 401, makePTE(b.l4, PTEBits.prw)) } == .EINVAL)
        #expect(xenErrno { try fx.set(a.l2, 8, makePTE(b.l3, PTEBits.p)) } == .EINVAL)  // an L3 under an L2
        // Removing the links gives everything back.
        try fx.set(a.l4, 400, 0)
        try fx.set(a.l3, 7, 0)
        try fx.set(a.l2, 7, 0)
        for f in [a.l4, b.l4, a.l2, b.l2] { #expect(fx.state(f).linearCount == 0) }
        fx.expectConsistent()
    }

    @Test func linearChainsAreRefused() throws {
        let fx = try MMUFixture()
        let a = try fx.buildTree(), b = try fx.buildTree(), c = try fx.buildTree()
        try fx.activate(a)
        try fx.pin(b.l4)
        try fx.pin(c.l4)
        try fx.set(a.l4, 400, makePTE(b.l4, PTEBits.p))  // a has a linear entry, b is a linear target
        // b is a target, so it may not get linear entries of its own.
        #expect(xenErrno { try fx.set(b.l4, 400, makePTE(c.l4, PTEBits.p)) } == .EINVAL)
        // a has linear entries, so it may not become a target.
        #expect(xenErrno { try fx.set(c.l4, 400, makePTE(a.l4, PTEBits.p)) } == .EINVAL)
        // A second target for a is fine.
        try fx.set(a.l4, 401, makePTE(c.l4, PTEBits.p))
        fx.expectConsistent()
        #expect(fx.state(a.l4).linearCount == 2)
    }

    @Test func aTableNotInUseIsTakenAsTheLowerLevel() throws {
        let fx = try MMUFixture()
        let a = try fx.buildTree(), b = try fx.buildTree()
        try fx.activate(a)
        // b.l4 is not in use: an L4 entry naming it validates it as an L3 (its own entries
        // then pass as L3 entries), never as a linear L4 — it is just another L3 now.
        try fx.set(a.l4, 400, makePTE(b.l4, PTEBits.p))
        #expect(fx.state(b.l4).type == .l3 && fx.state(b.l4).linearCount == 0)
        #expect(fx.state(b.l2).type == .l1)
        #expect(xenErrno { try fx.pin(b.l4) } == .EINVAL)
        fx.expectConsistent()
    }

    @Test func unpinningALinearTargetKeepsItUntilTheLinkGoes() throws {
        let fx = try MMUFixture()
        let a = try fx.buildTree(), b = try fx.buildTree()
        try fx.activate(a)
        try fx.pin(b.l4)
        try fx.set(a.l4, 400, makePTE(b.l4, PTEBits.p))
        try fx.ext(.unpinTable, b.l4)
        #expect(fx.state(b.l4).isValidated && fx.state(b.l4).typeCount == 1)
        fx.expectConsistent()
        try fx.set(a.l4, 400, 0)
        #expect(!fx.state(b.l4).isValidated && fx.state(b.l3).typeCount == 0)
        fx.expectConsistent()
    }
}
