import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct MMUUpdateTests {
    @Test func l1UpdatesMoveReferences() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let page = try fx.frame()
        try fx.set(tree.l1, 9, makePTE(page, PTEBits.prw))
        #expect(fx.state(page).referenceCount == 2 && fx.state(page).typeCount == 1)
        #expect(fx.read(tree.l1, 9) == makePTE(page, PTEBits.prw | PTEBits.us | PTEBits.guestKernel))
        try fx.set(tree.l1, 9, makePTE(page, PTEBits.p))  // RW → RO: slow path
        #expect(fx.state(page).referenceCount == 2 && fx.state(page).typeCount == 0)
        fx.expectConsistent()
        try fx.set(tree.l1, 9, 0)
        #expect(fx.state(page).referenceCount == 1)
        fx.expectConsistent()
    }

    @Test func theFastPathKeepsReferencesAndPreserveADKeepsBits() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let page = tree.data[0]
        fx.write(tree.l1, 0, fx.read(tree.l1, 0) | PTEBits.a | PTEBits.d)  // the CPU set A and D
        try fx.set(tree.l1, 0, makePTE(page, PTEBits.prw | PTEBits.nx | PTEBits.g), preserveAD: true)
        #expect(fx.read(tree.l1, 0) == makePTE(page, PTEBits.prw | PTEBits.nx | PTEBits.g | PTEBits.a | PTEBits.d | PTEBits.us | PTEBits.guestKernel))
        #expect(fx.state(page).referenceCount == 2 && fx.state(page).typeCount == 1)
        try fx.set(tree.l1, 0, makePTE(page, PTEBits.prw))
        #expect(fx.read(tree.l1, 0) & (PTEBits.a | PTEBits.d) == 0)
        fx.expectConsistent()
    }

    @Test func upperLevelUpdatesValidateAndDevalidate() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let l1 = try fx.frame(), page = try fx.frame()
        fx.write(l1, 3, makePTE(page, PTEBits.prw))
        try fx.set(tree.l2, 100, makePTE(l1, PTEBits.prw))
        #expect(fx.state(l1).type == .l1 && fx.state(l1).typeCount == 1)
        #expect(fx.state(page).typeCount == 1)
        fx.expectConsistent()
        try fx.set(tree.l2, 100, 0)
        #expect(fx.state(l1).typeCount == 0 && !fx.state(l1).isValidated)
        #expect(fx.state(page).typeCount == 0 && fx.state(page).referenceCount == 1)
        fx.expectConsistent()
        // Replacing the whole lower tree through the L4.
        let other = try fx.buildTree(va: 0x80_0000_0000)
        try fx.set(tree.l4, 1, makePTE(other.l3, PTEBits.prw))
        #expect(fx.state(other.l3).type == .l3)
        fx.expectConsistent()
        try fx.set(tree.l4, 1, 0)
        fx.expectConsistent()
    }

    @Test func writesToPagesNotInUseArePlainWrites() throws {
        let fx = try MMUFixture()
        let page = try fx.frame()
        try fx.update(fx.entryAddress(page, 3), 0xDEAD_BEEF_DEAD_BEEF)  // garbage is fine
        #expect(fx.read(page, 3) == 0xDEAD_BEEF_DEAD_BEEF)
        #expect(fx.state(page).type == .writable && fx.state(page).typeCount == 0)
        // An unused former page table too.
        let tree = try fx.buildTree()
        try fx.pin(tree.l4)
        try fx.ext(.unpinTable, tree.l4)
        try fx.update(fx.entryAddress(tree.l2, 2), 0x1234)
        #expect(fx.state(tree.l2).type == .writable)
        fx.expectConsistent()
    }

    @Test func updatesOnFramesNotOwnedOrOddTypesFail() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        #expect(xenErrno { try fx.update(fx.entryAddress(theirs, 0), 0) } == .EINVAL)
        #expect(xenErrno { try fx.update(fx.entryAddress(1, 0), 0) } == .EINVAL)  // the M2P
        #expect(xenErrno { try fx.update(~UInt64(7), 0) } == .EINVAL)
        #expect(xenErrno { try fx.update(fx.machine.frameCount << 12, 0) } == .EINVAL)
        let gdt = try fx.frame()
        try fx.tables.acquireDescriptorPage(MachineFrame(gdt), for: fx.id) { _ in true }
        #expect(xenErrno { try fx.update(fx.entryAddress(gdt, 0), 0) } == .EINVAL)
        for bad: UInt64 in 4...7 { #expect(xenErrno { try fx.update(bad, 0) } == .ENOSYS) }
        fx.expectConsistent(extraGeneral: [gdt: 1], extraType: [gdt: 1])
    }

    @Test func machphysUpdates() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        let mine = try fx.frame()
        try fx.update((mine << 12) | 1, 0x4242)
        #expect(fx.machine.machineToPhys(MachineFrame(mine)) == 0x4242)
        #expect(xenErrno { try fx.update((theirs << 12) | 1, 7) } == .EINVAL)
        #expect(xenErrno { try fx.update((1 << 12) | 1, 7) } == .EINVAL)
        #expect(xenErrno { try fx.update(~UInt64(0) & ~6, 7) } == .EINVAL)
        #expect(xenErrno { try fx.update(((fx.machine.frameCount - 1) << 12) | 1, 7) } == .EINVAL)  // free
        #expect(fx.machine.machineToPhys(MachineFrame(theirs)) != 7)
        fx.expectConsistent()
    }

    @Test func foreignDomainArgument() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        let tree = try fx.buildTree()
        try fx.activate(tree)
        func fd(_ pg: UInt16, pt: UInt16 = 0) -> MMUForeignDomain {
            MMUForeignDomain(rawValue: UInt32(pg) | (UInt32(pt) << 16))
        }
        #expect(throws: XenError.ESRCH) { try fx.tables.resolveForeignDomain(fd(1), caller: fx.id) }
        #expect(throws: XenError.ESRCH) { try fx.tables.resolveForeignDomain(fd(9), caller: fx.id) }
        #expect(throws: XenError.ESRCH) { try fx.tables.resolveForeignDomain(fd(0x7FF4), caller: fx.id) }
        #expect(throws: XenError.ESRCH) { try fx.tables.resolveForeignDomain(fd(0x7FF0, pt: 10), caller: fx.id) }
        #expect(try fx.tables.resolveForeignDomain(fd(0x7FF0, pt: 2), caller: fx.id).pageTableOwner == fx.id)
        // Another domain's frames: -EPERM per request, for both commands.
        #expect(xenErrno { try fx.update(fx.entryAddress(tree.l1, 9), makePTE(theirs, PTEBits.p), foreign: fd(2)) } == .EPERM)
        #expect(xenErrno { try fx.update((theirs << 12) | 1, 0, foreign: fd(2)) } == .EPERM)
        #expect(xenErrno { try fx.update(fx.entryAddress(tree.l1, 9), 0, foreign: fd(0x7FF0, pt: 3)) } == .EPERM)
        #expect(xenErrno { try fx.update(fx.entryAddress(tree.l1, 9), 0, foreign: fd(0x7FF2)) } == .EPERM)
        // DOMID_IO passes the permission check but owns no RAM.
        #expect(xenErrno { try fx.update(fx.entryAddress(tree.l1, 9), makePTE(tree.data[0], PTEBits.p), foreign: fd(0x7FF1)) } == .EBUSY)
        #expect(xenErrno { try fx.update(fx.entryAddress(tree.l1, 9), makePTE(fx.machine.frameCount + 5, PTEBits.p), foreign: fd(0x7FF1)) } == .EPERM)
        #expect(xenErrno { try fx.update(fx.entryAddress(tree.l2, 9), 0, foreign: fd(0x7FF1)) } == .EINVAL)
        #expect(xenErrno { try fx.update((tree.data[0] << 12) | 1, 0, foreign: fd(0x7FF1)) } == .EINVAL)
        try fx.update(fx.entryAddress(tree.l1, 9), 0, foreign: fd(0x7FF1))  // a non-present L1 entry is fine
        fx.expectConsistent()
    }
}
