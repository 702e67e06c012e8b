import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct UpdateVAMappingTests {
    @Test func mapsThroughTheCurrentTables() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let page = try fx.frame()
        fx.actions = MMUActions()
        try fx.uvm(tree.va + 4 * 4096, makePTE(page, PTEBits.prw), flags: UpdateVAFlags.invlpg)
        #expect(fx.read(tree.l1, 4) == makePTE(page, PTEBits.prw | PTEBits.us | PTEBits.guestKernel))
        #expect(fx.actions.list == [.flushTLB(.currentVCPU, .address(tree.va + 4 * 4096))])
        #expect(fx.tables.l1EntryAddress(for: tree.va + 4 * 4096, base: MachineFrame(tree.l4))
                == MachineAddress(fx.entryAddress(tree.l1, 4)))
        fx.expectConsistent()
        // Linux's set_page_prot: make a page read-only before using it as a page table.
        try fx.uvm(tree.va + 4 * 4096, makePTE(page, PTEBits.p), flags: UpdateVAFlags.invlpg | UpdateVAFlags.all)
        try fx.pin(page, level: 1)
        fx.expectConsistent()
    }

    @Test func flushFlags() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let va = tree.va
        let e = fx.read(tree.l1, 0)
        let mask = VCPUBitmap([VCPUID(1)])
        for (flags, expected) in [
            (UpdateVAFlags.none, nil),
            (UpdateVAFlags.tlbFlush, MMUAction.flushTLB(.currentVCPU, .all)),
            (UpdateVAFlags.tlbFlush | UpdateVAFlags.all, .flushTLB(.allVCPUs, .all)),
            (UpdateVAFlags.invlpg | UpdateVAFlags.all, .flushTLB(.allVCPUs, .address(va))),
            (UpdateVAFlags.invlpg | 0x5000, .flushTLB(.vcpus(mask), .address(va))),
            (3 | UpdateVAFlags.all, nil),
        ] as [(UInt64, MMUAction?)] {
            fx.actions = MMUActions()
            try fx.uvm(va, e, flags: flags, bitmap: mask)
            #expect(fx.actions.list == (expected.map { [$0] } ?? []), "flags \(flags)")
        }
        // An unreadable bitmap: the entry is updated, the call fails with -EFAULT.
        let page = try fx.frame()
        #expect(xenErrno { try fx.uvm(va + 4096, makePTE(page, PTEBits.p), flags: UpdateVAFlags.tlbFlush | 0x5000) } == .EFAULT)
        #expect(fx.read(tree.l1, 1) & 0x000F_FFFF_FFFF_F000 == makePTE(page, 0))
        fx.expectConsistent()
    }

    @Test func missingTablesAndBadAddresses() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        #expect(xenErrno { try fx.uvm(tree.va, 0) } == .EINVAL)  // no base yet
        try fx.activate(tree)
        let page = try fx.frame()
        #expect(xenErrno { try fx.uvm(0x0000_0080_0000_0000, makePTE(page, PTEBits.p)) } == .EINVAL)  // no L4 entry
        #expect(xenErrno { try fx.uvm(tree.va + (1 << 30), makePTE(page, PTEBits.p)) } == .EINVAL)  // no L3 entry
        #expect(xenErrno { try fx.uvm(tree.va + (1 << 21), makePTE(page, PTEBits.p)) } == .EINVAL)  // no L2 entry
        #expect(xenErrno { try fx.uvm(0xFFFF_8000_0000_0000, makePTE(page, PTEBits.p)) } == .EINVAL)  // Xen's range
        #expect(xenErrno { try fx.uvm(0xFFFF_8000_0000_0000 + 4096 * 3, makePTE(page, PTEBits.p)) } == .EINVAL)
        #expect(xenErrno { try fx.uvm(0x0000_8000_0000_0000, makePTE(page, PTEBits.p)) } == .EINVAL)  // M2P slot via the hole
        #expect(xenErrno { try fx.uvm(0x1234_0000_0000_0000, makePTE(page, PTEBits.p)) } == .EINVAL)  // non-canonical
        // A self-map makes the walk end on a table that is not an L1.
        try fx.set(tree.l4, 300, makePTE(tree.l4, PTEBits.p))
        #expect(xenErrno { try fx.uvm(0xFFFF_9600_0000_0000, makePTE(page, PTEBits.p)) } == .EINVAL)
        fx.expectConsistent()
    }

    @Test func theOtherDomainVariant() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        _ = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 1)
        func other(_ d: UInt16) -> XenError? {
            xenErrno {
                try fx.tables.updateVAMapping(va: tree.va, value: 0, flags: UpdateVAFlags(rawValue: 0),
                                              context: fx.context, foreignDomain: DomainID(d), actions: &fx.actions)
            }
        }
        #expect(other(2) == .EPERM)
        #expect(other(3) == .ESRCH)
        #expect(other(1) == .ESRCH)
        #expect(other(0x7FF1) == .EPERM)
        #expect(other(0x7FF0) == nil)
        fx.expectConsistent()
    }
}
