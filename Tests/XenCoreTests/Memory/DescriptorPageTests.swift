import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct DescriptorPageTests {
    @Test func descriptorPagesAreCheckedAndExclusive() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let gdt = try fx.frame()
        fx.write(gdt, 9, 0xBAD)
        #expect(throws: XenError.EINVAL) {
            try fx.tables.acquireDescriptorPage(MachineFrame(gdt), for: fx.id) { $0 != 0xBAD }
        }
        #expect(fx.state(gdt).typeCount == 0)
        fx.write(gdt, 9, 0)
        try fx.tables.acquireDescriptorPage(MachineFrame(gdt), for: fx.id) { $0 != 0xBAD }
        #expect(fx.state(gdt).type == .segmentDescriptor)
        // It may be mapped read-only, never writable.
        try fx.set(tree.l1, 7, makePTE(gdt, PTEBits.p))
        #expect(xenErrno { try fx.set(tree.l1, 8, makePTE(gdt, PTEBits.prw)) } == .EBUSY)
        // Removing a mapping of a live descriptor page drops the LDT shadows.
        fx.actions = MMUActions()
        try fx.set(tree.l1, 7, 0)
        #expect(fx.actions.list == [.invalidateLDTShadow(.allVCPUs)])
        // A frame mapped writable cannot become a descriptor page.
        #expect(throws: XenError.EINVAL) {
            try fx.tables.acquireDescriptorPage(MachineFrame(tree.data[0]), for: fx.id) { _ in true }
        }
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 4)
        let theirs = try fx.frame(other)
        #expect(throws: XenError.EINVAL) {
            try fx.tables.acquireDescriptorPage(MachineFrame(theirs), for: fx.id) { _ in true }
        }
        fx.expectConsistent(extraGeneral: [gdt: 1], extraType: [gdt: 1])
        fx.tables.releaseDescriptorPage(MachineFrame(gdt), for: fx.id, actions: &fx.actions)
        fx.tables.releaseDescriptorPage(MachineFrame(gdt), for: fx.id, actions: &fx.actions)  // ignored
        fx.expectConsistent()
    }

    @Test func updateDescriptor() throws {
        let fx = try MMUFixture()
        let page = try fx.frame()
        let check: DescriptorCheck = { $0 != 0xBAD }
        try fx.tables.updateDescriptor(at: fx.entryAddress(page, 3), descriptor: 0x00CF_9A00_0000_FFFF, domain: fx.id,
                                       check: check, actions: &fx.actions)
        #expect(fx.read(page, 3) == 0x00CF_9A00_0000_FFFF)
        #expect(throws: XenError.EINVAL) {
            try fx.tables.updateDescriptor(at: fx.entryAddress(page, 3), descriptor: 0xBAD, domain: fx.id,
                                           check: check, actions: &fx.actions)
        }
        #expect(throws: XenError.EINVAL) {
            try fx.tables.updateDescriptor(at: fx.entryAddress(page, 3) + 4, descriptor: 0, domain: fx.id,
                                           check: check, actions: &fx.actions)
        }
        // In use as a descriptor page: updated in place under its type.
        try fx.tables.acquireDescriptorPage(MachineFrame(page), for: fx.id, check: check)
        try fx.tables.updateDescriptor(at: fx.entryAddress(page, 4), descriptor: 1, domain: fx.id,
                                       check: check, actions: &fx.actions)
        #expect(fx.read(page, 4) == 1 && fx.state(page).typeCount == 1)
        // A page table is neither.
        let tree = try fx.buildTree()
        try fx.pin(tree.l4)
        #expect(throws: XenError.EINVAL) {
            try fx.tables.updateDescriptor(at: fx.entryAddress(tree.l3, 0), descriptor: 0, domain: fx.id,
                                           check: check, actions: &fx.actions)
        }
        fx.expectConsistent(extraGeneral: [page: 1], extraType: [page: 1])
    }

    @Test func emulatedWritesToL1Tables() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let page = try fx.frame()
        let slot = MachineAddress(fx.entryAddress(tree.l1, 20))
        var r = try fx.tables.emulatedL1Write(at: slot, value: makePTE(page, PTEBits.prw), domain: fx.id, actions: &fx.actions)
        #expect(r == .written(previous: 0))
        #expect(fx.read(tree.l1, 20) == makePTE(page, PTEBits.prw | PTEBits.us | PTEBits.guestKernel))
        // A compare-exchange with the wrong expectation changes nothing.
        r = try fx.tables.emulatedL1Write(at: slot, value: 0, expected: 5, domain: fx.id, actions: &fx.actions)
        #expect(r == .compareFailed(found: makePTE(page, PTEBits.prw | PTEBits.us | PTEBits.guestKernel)))
        fx.expectConsistent()
        r = try fx.tables.emulatedL1Write(at: slot, value: makePTE(page, PTEBits.p), expected: makePTE(page, PTEBits.prw | PTEBits.us | PTEBits.guestKernel),
                                          domain: fx.id, actions: &fx.actions)
        #expect(r == .written(previous: makePTE(page, PTEBits.prw | PTEBits.us | PTEBits.guestKernel)))
        #expect(fx.state(page).typeCount == 0)
        // Validation failures and frames that are not in-use L1s give the #PF back.
        #expect(throws: XenError.EBUSY) {
            try fx.tables.emulatedL1Write(at: slot, value: makePTE(tree.l2, PTEBits.prw), domain: fx.id, actions: &fx.actions)
        }
        #expect(throws: XenError.EINVAL) {
            try fx.tables.emulatedL1Write(at: MachineAddress(fx.entryAddress(tree.l2, 0)), value: 0, domain: fx.id,
                                          actions: &fx.actions)
        }
        #expect(throws: XenError.EINVAL) {
            try fx.tables.emulatedL1Write(at: MachineAddress(fx.entryAddress(page, 0)), value: 0, domain: fx.id,
                                          actions: &fx.actions)
        }
        #expect(throws: XenError.EINVAL) {
            try fx.tables.emulatedL1Write(at: MachineAddress(fx.entryAddress(tree.l1, 0) + 4), value: 0, domain: fx.id,
                                          actions: &fx.actions)
        }
        #expect(throws: XenError.EINVAL) {
            try fx.tables.emulatedL1Write(at: slot, value: 0, domain: DomainID(2), actions: &fx.actions)
        }
        fx.expectConsistent()
    }

    @Test func perDomainArea() throws {
        let fx = try MMUFixture()
        let frame = try fx.frame()
        let free = fx.machine.freeFrameCount
        try fx.dom.mapPerDomainPage(0, to: MachineFrame(frame), writable: true)
        try fx.dom.mapPerDomainPage(513, to: MachineFrame(frame), writable: false)
        #expect(fx.machine.freeFrameCount == free - 3)  // one L2, two L1s
        #expect(throws: XenError.EINVAL) {
            try fx.dom.mapPerDomainPage(DomainMemory.perDomainAreaPages, to: MachineFrame(frame), writable: false)
        }
        #expect(DomainMemory.perDomainAddress(page: 2) == 0xFFFF_8200_0000_2000)
        fx.dom.unmapPerDomainPage(513)
        fx.dom.unmapPerDomainPage(9999)
        #expect(fx.state(frame).referenceCount == 1)  // mappings there take no references
        fx.expectConsistent()
    }
}
