import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct ReleaseTests {
    /// Everything a running PV domain holds: pinned trees, bases, linear links, a shared
    /// frame mapped writable, descriptor pages, ballooned-out pages, per-domain mappings.
    @Test func destroyReturnsEveryFrame() throws {
        let fx = try MMUFixture()
        let initialFree = fx.machine.freeFrameCount
        let a = try fx.buildTree(pages: 3), b = try fx.buildTree(pages: 2), u = try fx.buildTree(pages: 1)
        let shared = try fx.dom.shareKiteFrame().rawValue
        fx.write(a.l1, 100, makePTE(shared, PTEBits.prw))
        fx.write(a.l4, 300, makePTE(a.l4, PTEBits.p))
        try fx.activate(a)
        try fx.pin(b.l4)
        try fx.set(a.l4, 301, makePTE(b.l4, PTEBits.p))
        try fx.ext(.newUserBaseptr, u.l4)
        let gdt = try fx.frame()
        try fx.tables.acquireDescriptorPage(MachineFrame(gdt), for: fx.id) { _ in true }
        try fx.dom.mapPerDomainPage(3, to: MachineFrame(gdt), writable: false)
        let loose = try fx.dom.populatePhysmap(gfn: GuestFrame(0x9000), order: 3)
        try fx.dom.decreaseReservation(extent: a.data[0], order: 0, actions: &fx.actions)  // still mapped
        #expect(fx.machine.freeFrameCount < initialFree)
        fx.expectConsistent(extraGeneral: [gdt: 1], extraType: [gdt: 1])

        let report = fx.dom.release(vcpuBases: [fx.context.kernelBase, fx.context.userBase].compactMap { $0 },
                                    descriptorPages: [MachineFrame(gdt)])
        #expect(report.remainingFrames.isEmpty)
        #expect(fx.machine.freeFrameCount == initialFree + 1)  // and the per-domain L3 made at creation
        for f in a.all + b.all + u.all + [shared, gdt, loose.rawValue] {
            #expect(fx.state(f).owner == nil)
            #expect(fx.machine.machineToPhys(MachineFrame(f)) == MachineToPhys.invalidEntry)
        }
        #expect(fx.machine.audit().isEmpty)
        #expect(!fx.machine.domainExists(fx.id))
        // A dead domain gets nothing more, and its id can be used again.
        #expect(throws: XenError.ENOMEM) { try fx.dom.populatePhysmap(gfn: GuestFrame(0), order: 0) }
        #expect(throws: XenError.ENOMEM) { try fx.dom.shareKiteFrame() }
        _ = try DomainMemory(machine: fx.machine, domain: fx.id, maximumPages: 4)
    }

    @Test func forgottenBasesAreDevalidatedAndReported() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 2)
        try fx.activate(tree)
        // The caller does not pass the vCPU's base: Xen's forced de-validation still frees
        // everything below it; the L4 itself stays until its reference goes.
        let report = fx.dom.release()
        #expect(report.remainingFrames == [MachineFrame(tree.l4)])
        for f in tree.all where f != tree.l4 { #expect(fx.state(f).owner == nil) }
        #expect(fx.machine.domainExists(fx.id) == false)
        #expect(fx.machine.audit().isEmpty)
        fx.tables.releaseBaseTable(MachineFrame(tree.l4), for: fx.id, actions: &fx.actions)
        #expect(fx.state(tree.l4).owner == nil)
        #expect(fx.machine.audit().isEmpty)
    }

    @Test func otherDomainsAreUntouched() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 16)
        let theirs = try fx.frame(other)
        let tree = try fx.buildTree()
        try fx.activate(tree)
        _ = fx.dom.release(vcpuBases: [MachineFrame(tree.l4)])
        #expect(fx.state(theirs).owner == DomainID(2) && fx.state(theirs).referenceCount == 1)
        #expect(other.currentPages == 1)
        #expect(fx.machine.audit().isEmpty)
    }
}
