import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct PinTests {
    @Test func pinningATreeValidatesEveryLevel() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 2)
        try fx.pin(tree.l4)
        #expect(fx.state(tree.l4).type == .l4 && fx.state(tree.l4).isPinned && fx.state(tree.l4).typeCount == 1)
        #expect(fx.state(tree.l3).type == .l3 && fx.state(tree.l3).typeCount == 1)
        #expect(fx.state(tree.l2).type == .l2 && fx.state(tree.l2).typeCount == 1)
        #expect(fx.state(tree.l1).type == .l1 && fx.state(tree.l1).typeCount == 1)
        for d in tree.data { #expect(fx.state(d).type == .writable && fx.state(d).typeCount == 1) }
        // Fresh frames took a type: every vCPU of the domain must drop stale translations.
        #expect(fx.actions.list.isEmpty || fx.actions.list == [.flushTLB(.allVCPUs, .all)])
        fx.expectConsistent()
    }

    @Test func validationAppliesXensPV64Adjustments() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 2)
        fx.write(tree.l1, 1, makePTE(tree.data[1], PTEBits.prw | PTEBits.us))  // a user page
        try fx.pin(tree.l4)
        let slot4 = Int((tree.va >> 39) & 511)
        #expect(fx.read(tree.l4, slot4) == makePTE(tree.l3, PTEBits.prw | PTEBits.us | PTEBits.a))
        #expect(fx.read(tree.l3, 0) == makePTE(tree.l2, PTEBits.prw | PTEBits.us))
        #expect(fx.read(tree.l2, 2) == makePTE(tree.l1, PTEBits.prw | PTEBits.us))
        // Kernel page: US and the guest-kernel bit. User page: US and G.
        #expect(fx.read(tree.l1, 0) == makePTE(tree.data[0], PTEBits.prw | PTEBits.us | PTEBits.guestKernel))
        #expect(fx.read(tree.l1, 1) == makePTE(tree.data[1], PTEBits.prw | PTEBits.us | PTEBits.g))
    }

    @Test func xenSlotsAreKitesAfterValidation() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        let victim = try fx.frame()
        for slot in 256...271 { fx.write(tree.l4, slot, makePTE(victim, PTEBits.prw)) }  // garbage the guest left
        try fx.pin(tree.l4)
        #expect(fx.read(tree.l4, 256) == fx.machine.machineToPhysL4Entry)
        let perDomain = fx.read(tree.l4, 260)
        #expect(perDomain & PTEBits.p != 0 && perDomain & PTEBits.us == 0)
        #expect(fx.state((perDomain >> 12) & 0xFF_FFFF_FFFF).owner == .xen)
        for slot in 257...271 where slot != 260 { #expect(fx.read(tree.l4, slot) == 0) }
        #expect(fx.state(victim).referenceCount == 1)  // the guest's entries took nothing
        // Guests cannot change Xen's slots.
        #expect(xenErrno { try fx.set(tree.l4, 256, 0) } == .EINVAL)
        #expect(xenErrno { try fx.set(tree.l4, 271, makePTE(tree.l3, PTEBits.p)) } == .EINVAL)
        fx.expectConsistent()
    }

    @Test func pinTwiceUnpinTwiceAndUnpinUnpinned() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        try fx.pin(tree.l4)
        #expect(xenErrno { try fx.pin(tree.l4) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.unpinTable, tree.l3) } == .EINVAL)  // validated but not pinned
        fx.expectConsistent()
        try fx.ext(.unpinTable, tree.l4)
        #expect(xenErrno { try fx.ext(.unpinTable, tree.l4) } == .EINVAL)
        for f in tree.tables { #expect(fx.state(f).typeCount == 0 && !fx.state(f).isValidated) }
        for f in tree.all { #expect(fx.state(f).referenceCount == 1) }
        fx.expectConsistent()
        // Pin a level below: an L2 alone.
        try fx.pin(tree.l2, level: 2)
        #expect(xenErrno { try fx.pin(tree.l2, level: 1) } == .EINVAL)  // wrong level while in use
        try fx.ext(.unpinTable, tree.l2)
        fx.expectConsistent()
    }

    @Test func pinningWhatIsNotYoursFails() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        #expect(xenErrno { try fx.pin(theirs, level: 1) } == .EINVAL)
        #expect(xenErrno { try fx.pin(1 << 40, level: 1) } == .EINVAL)
        #expect(xenErrno { try fx.pin(~0, level: 4) } == .EINVAL)
        #expect(xenErrno { try fx.pin(0, level: 4) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.unpinTable, theirs) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.unpinTable, ~0) } == .EINVAL)
    }

    @Test func l1EntriesMayNameOnlyTheDomainsFrames() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        let l1 = try fx.frame()
        func pinWith(_ e: UInt64) -> XenError? {
            fx.write(l1, 7, e)
            defer { fx.write(l1, 7, 0) }
            let r = xenErrno { try fx.pin(l1, level: 1) }
            if r == nil { try? fx.ext(.unpinTable, l1) }
            return r
        }
        #expect(pinWith(makePTE(theirs, PTEBits.p)) == .EBUSY)  // another domain's frame
        #expect(pinWith(makePTE(fx.machine.frameCount - 1, PTEBits.p)) == .EBUSY)  // a free frame
        #expect(pinWith(makePTE(fx.machine.frameCount, PTEBits.p)) == .EPERM)  // beyond RAM: I/O space
        #expect(pinWith(makePTE(0xFF_FFFF_FFFF, PTEBits.p)) == .EINVAL)  // INVALID_MFN
        #expect(pinWith(makePTE(theirs, PTEBits.p) | PTEBits.pwt) == .EINVAL)  // cache attributes
        #expect(pinWith(makePTE(theirs, PTEBits.p) | PTEBits.pcd) == .EINVAL)
        #expect(pinWith(makePTE(theirs, PTEBits.p) | PTEBits.pse) == .EINVAL)  // PAT
        #expect(pinWith(makePTE(l1, PTEBits.p)) == nil)  // itself, read-only: fine
        #expect(pinWith(makePTE(l1, PTEBits.prw)) == .EBUSY)  // itself, writable
        let mine = try fx.frame()
        #expect(pinWith(makePTE(mine, PTEBits.prw | PTEBits.g | PTEBits.a | PTEBits.d | PTEBits.nx | (0x7FF << 52) | 0xE00)) == nil)
        #expect(pinWith(0xDEAD_BEEF_0000_0000) == nil)  // not present: anything goes
        #expect(fx.state(theirs).referenceCount == 1)
        fx.expectConsistent()
    }

    @Test func superpagesAndForbiddenUpperFlagsAreRefused() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        for bad in [PTEBits.pse, PTEBits.g, PTEBits.pwt, PTEBits.pcd] {
            fx.write(tree.l2, 2, makePTE(tree.l1, PTEBits.prw | bad))
            #expect(xenErrno { try fx.pin(tree.l4) } == .EINVAL)
            fx.write(tree.l2, 2, makePTE(tree.l1, PTEBits.prw))
            fx.write(tree.l3, 0, makePTE(tree.l2, PTEBits.prw | bad))
            #expect(xenErrno { try fx.pin(tree.l4) } == .EINVAL)
            fx.write(tree.l3, 0, makePTE(tree.l2, PTEBits.prw))
            fx.write(tree.l4, 0, makePTE(tree.l3, PTEBits.prw | bad))
            #expect(xenErrno { try fx.pin(tree.l4) } == .EINVAL)
            fx.write(tree.l4, 0, makePTE(tree.l3, PTEBits.prw))
        }
        for f in tree.all { #expect(fx.state(f).typeCount == 0 && fx.state(f).referenceCount == 1) }
        try fx.pin(tree.l4)
        fx.expectConsistent()
    }

    @Test func writableMappingThenPinFails() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        let table = tree.data[0]  // mapped writable by the tree
        try fx.pin(tree.l4)
        #expect(xenErrno { try fx.pin(table, level: 1) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.newBaseptr, table) } == .EINVAL)
        // Linking it into the tree as an L1 fails the same way.
        #expect(xenErrno { try fx.set(tree.l2, 3, makePTE(table, PTEBits.prw)) } == .EINVAL)
        fx.expectConsistent()
        // Read-only mapping first (what Linux does before pinning), then it can be pinned.
        try fx.set(tree.l1, 0, makePTE(table, PTEBits.p))
        try fx.pin(table, level: 1)
        fx.expectConsistent()
    }

    @Test func pinThenWritableMappingFails() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        for table in tree.tables {
            #expect(xenErrno { try fx.set(tree.l1, 5, makePTE(table, PTEBits.prw)) } == .EBUSY)
            #expect(xenErrno { try fx.uvm(tree.va + 5 * 4096, makePTE(table, PTEBits.prw)) } == .EBUSY)
            try fx.set(tree.l1, 5, makePTE(table, PTEBits.p))  // read-only is fine
        }
        fx.expectConsistent()
    }

    @Test func aBuilderTreeMappingItsTablesWritableIsRefused() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 0)
        fx.write(tree.l1, 0, makePTE(tree.l2, PTEBits.prw))
        #expect(xenErrno { try fx.tables.pinInitialTable(l4: MachineFrame(tree.l4), for: fx.id) } != nil)
        fx.write(tree.l1, 0, makePTE(tree.l2, PTEBits.p))
        try fx.tables.pinInitialTable(l4: MachineFrame(tree.l4), for: fx.id)
        try fx.tables.acquireBaseTable(MachineFrame(tree.l4), for: fx.id)
        #expect(fx.tables.mayLoadAsBase(MachineFrame(tree.l4), for: fx.id))
        #expect(!fx.tables.mayLoadAsBase(MachineFrame(tree.l3), for: fx.id))
        #expect(!fx.tables.mayLoadAsBase(MachineFrame(tree.l4), for: DomainID(2)))
        fx.expectConsistent(extraGeneral: [tree.l4: 1], extraType: [tree.l4: 1])
        fx.tables.releaseBaseTable(MachineFrame(tree.l4), for: fx.id, actions: &fx.actions)
        fx.expectConsistent()
    }

    @Test func failedValidationLeavesNoReferencesBehind() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 3)
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        // A second L3 entry whose subtree fails at its L1's last entry.
        let l2b = try fx.frame(), l1b = try fx.frame()
        fx.write(tree.l3, 1, makePTE(l2b, PTEBits.prw))
        fx.write(l2b, 0, makePTE(l1b, PTEBits.prw))
        fx.write(l1b, 0, makePTE(tree.data[0], PTEBits.p))
        fx.write(l1b, 511, makePTE(theirs, PTEBits.p))
        #expect(xenErrno { try fx.pin(tree.l4) } == .EBUSY)  // the L1's error comes up unchanged
        for f in tree.all + [l2b, l1b] {
            let s = fx.state(f)
            #expect(s.typeCount == 0 && s.referenceCount == 1, "\(f): \(s)")
            #expect(!s.isValidated || s.type == .writable, "\(f): \(s)")
        }
        #expect(fx.state(theirs).referenceCount == 1)
        fx.expectConsistent()
    }
}
