import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct ReservationTests {
    @Test func populateRecordsP2MAndM2PAndCounts() throws {
        let fx = try MMUFixture(maxPages: 64)
        let mfn = try fx.dom.populatePhysmap(gfn: GuestFrame(0x20), order: 2)
        #expect(mfn.rawValue % 4 == 0)
        #expect(fx.dom.currentPages == 4)
        for j in UInt64(0)..<4 {
            #expect(fx.dom.machineFrame(for: GuestFrame(0x20 + j)) == MachineFrame(mfn.rawValue + j))
            #expect(fx.dom.guestFrame(for: MachineFrame(mfn.rawValue + j)) == GuestFrame(0x20 + j))
            #expect(fx.machine.machineToPhys(MachineFrame(mfn.rawValue + j)) == 0x20 + j)
            let s = fx.state(mfn.rawValue + j)
            #expect(s.owner == fx.id && s.isAllocated && s.referenceCount == 1 && s.type == .none)
        }
        fx.expectConsistent()
    }

    @Test func theReservationLimitIsEnforced() throws {
        let fx = try MMUFixture(maxPages: 8)
        _ = try fx.dom.populatePhysmap(gfn: GuestFrame(0), order: 3)
        #expect(throws: XenError.ENOMEM) { try fx.dom.populatePhysmap(gfn: GuestFrame(8), order: 0) }
        let plan = try #require(fx.dom.planReservation(
            MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0), operation: .increaseReservation))
        #expect(throws: XenError.ENOMEM) { try fx.dom.increaseReservation(plan: plan) }
        fx.dom.setMaximumPages(9)
        _ = try fx.dom.increaseReservation(plan: plan)
        #expect(fx.dom.currentPages == 9)
        let r = try fx.dom.reservation(of: .selfDomain)
        #expect(r.current == 9 && r.maximum == 9)
        fx.expectConsistent()
    }

    @Test func reservationChecksFollowXen() throws {
        let fx = try MMUFixture()
        func plan(_ r: MemoryReservation, _ op: MemoryOp = .populatePhysmap, start: UInt64 = 0) -> ReservationPlan? {
            fx.dom.planReservation(r, operation: op, startExtent: start)
        }
        let ok = MemoryReservation(extentStart: 0x1000, extentCount: 4, extentOrder: 0)
        #expect(plan(ok)?.frameLimit == fx.machine.frameCount)
        #expect(plan(ok, start: 4) == nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: (1 << 26), extentOrder: 0)) == nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 10)) == nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 9)) != nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0, domain: DomainID(7))) == nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0, domain: fx.id)) != nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0, memoryFlags: 12)) == nil)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0, memoryFlags: 20))?.frameLimit == 256)
        #expect(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0, memoryFlags: 40))?.frameLimit
                == fx.machine.frameCount)
        let pod = MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0,
                                    memoryFlags: MemoryReservation.populateOnDemand)
        #expect(plan(pod) == nil)
        #expect(plan(pod, .increaseReservation) != nil)
        #expect(plan(ok, .memoryMap) == nil)
        // A frame limit is honoured.
        let low = try #require(plan(MemoryReservation(extentStart: 0, extentCount: 1, extentOrder: 0, memoryFlags: 20)))
        #expect(try fx.dom.populatePhysmap(gfn: GuestFrame(0), plan: low).rawValue < 256)
    }

    @Test func reservationQueriesOfOtherDomains() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 4)
        #expect(throws: XenError.EPERM) { try fx.dom.reservation(of: other.domain) }
        #expect(throws: XenError.ESRCH) { try fx.dom.reservation(of: DomainID(3)) }
        #expect(try fx.dom.reservation(of: fx.id).maximum == 512)
    }

    @Test func decreaseFreesFramesAndChecksOwnership() throws {
        let fx = try MMUFixture()
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 4)
        let theirs = try fx.frame(other)
        let mine = try fx.dom.populatePhysmap(gfn: GuestFrame(5), order: 1).rawValue
        let free = fx.machine.freeFrameCount
        var actions = MMUActions()
        #expect(throws: XenError.EINVAL) { try fx.dom.decreaseReservation(extent: theirs, order: 0, actions: &actions) }
        #expect(throws: XenError.EINVAL) { try fx.dom.decreaseReservation(extent: 1 << 50, order: 0, actions: &actions) }
        #expect(throws: XenError.EINVAL) { try fx.dom.decreaseReservation(extent: ~0, order: 1, actions: &actions) }
        #expect(throws: XenError.EINVAL) { try fx.dom.decreaseReservation(extent: 0, order: 0, actions: &actions) }
        try fx.dom.decreaseReservation(extent: mine, order: 1, actions: &actions)
        #expect(fx.machine.freeFrameCount == free + 2)
        #expect(fx.dom.currentPages == 0)
        #expect(fx.dom.machineFrame(for: GuestFrame(5)) == nil)
        #expect(fx.machine.machineToPhys(MachineFrame(mine)) == MachineToPhys.invalidEntry)
        #expect(fx.state(mine).owner == nil)
        #expect(actions.list.contains(.flushTLB(.allVCPUs, .all)))
        // Twice: the frame is no longer the domain's.
        #expect(throws: XenError.EINVAL) { try fx.dom.decreaseReservation(extent: mine, order: 0, actions: &actions) }
        fx.expectConsistent()
    }

    @Test func aFrameGivenBackWhileMappedStaysUntilUnmapped() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let page = tree.data[0]
        let pages = fx.dom.currentPages
        try fx.dom.decreaseReservation(extent: page, order: 0, actions: &fx.actions)
        var s = fx.state(page)
        #expect(s.owner == fx.id && !s.isAllocated && s.referenceCount == 1 && s.typeCount == 1)
        #expect(fx.dom.currentPages == pages)  // still owned, still counted
        fx.expectConsistent()
        // Unmapping drops the last reference: now it is freed.
        try fx.set(tree.l1, 0, 0)
        s = fx.state(page)
        #expect(s.owner == nil)
        #expect(fx.dom.currentPages == pages - 1)
        fx.expectConsistent()
    }

    @Test func decreasingAPinnedTableUnpinsIt() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        try fx.pin(tree.l4)
        try fx.dom.decreaseReservation(extent: tree.l4, order: 0, actions: &fx.actions)
        #expect(fx.state(tree.l4).owner == nil)
        #expect(fx.state(tree.l3).typeCount == 0)
        fx.expectConsistent()
    }

    @Test func memoryMapHasOneRAMEntryByDefault() throws {
        let fx = try MMUFixture(maxPages: 300)
        #expect(fx.dom.memoryMap == [E820Entry(address: 0, length: 300 * 4096, type: E820Entry.ram)])
        #expect(fx.dom.memoryMap[0].bytes.count == 20)
        let map = Array(repeating: E820Entry(address: 0, length: 4096, type: E820Entry.ram), count: 129)
        #expect(throws: XenError.EINVAL) { try fx.dom.setMemoryMap(map) }
        try fx.dom.setMemoryMap(Array(map.prefix(2)))
        #expect(fx.dom.memoryMap.count == 2)
    }

    @Test func sharedKiteFramesAreMappableButNeverPageTables() throws {
        let fx = try MMUFixture()
        let shared = try fx.dom.shareKiteFrame().rawValue
        let ro = try fx.dom.shareKiteFrame(writable: false).rawValue
        #expect(fx.dom.currentPages == 0)
        #expect(fx.state(shared).isXenShared && fx.state(shared).type == .writable)
        #expect(fx.machine.machineToPhys(MachineFrame(shared)) == MachineToPhys.invalidEntry)
        let tree = try fx.buildTree(pages: 0)
        fx.write(tree.l1, 0, makePTE(shared, PTEBits.prw))
        fx.write(tree.l1, 1, makePTE(ro, PTEBits.p))
        try fx.activate(tree)
        #expect(fx.state(shared).typeCount == 2)
        fx.expectConsistent()
        // Read-only shares cannot be mapped writable; no share can become a page table.
        #expect(xenErrno { try fx.set(tree.l1, 1, makePTE(ro, PTEBits.prw)) } == .EBUSY)
        #expect(xenErrno { try fx.pin(shared, level: 1) } == .EINVAL)
        #expect(xenErrno { try fx.pin(ro, level: 1) } == .EINVAL)
        #expect(throws: XenError.EINVAL) { try fx.dom.decreaseReservation(extent: shared, order: 0, actions: &fx.actions) }
        fx.expectConsistent()
    }
}
