import GuestMemory
import Testing
import X86
import XenABI
@testable import XenCore

@Suite struct MMUExtTests {
    @Test func newBaseptrMovesTheReference() throws {
        let fx = try MMUFixture()
        let a = try fx.buildTree(), b = try fx.buildTree()
        try fx.pin(a.l4)
        fx.actions = MMUActions()
        try fx.ext(.newBaseptr, a.l4)
        #expect(fx.context.kernelBase == MachineFrame(a.l4))
        #expect(fx.actions.list.contains(.setKernelBase(MachineFrame(a.l4))))
        #expect(fx.actions.list.contains(.flushTLB(.currentVCPU, .all)))
        #expect(fx.actions.list.contains(.invalidateLDTShadow(.currentVCPU)))
        #expect(fx.state(a.l4).typeCount == 2)
        // An unpinned table becomes the base and is validated for it.
        try fx.ext(.newBaseptr, b.l4)
        #expect(fx.state(b.l4).typeCount == 1 && fx.state(a.l4).typeCount == 1)
        fx.expectConsistent()
        // The same base again: a reload, no reference change.
        fx.actions = MMUActions()
        try fx.ext(.newBaseptr, b.l4)
        #expect(fx.state(b.l4).typeCount == 1)
        #expect(fx.actions.list == [.setKernelBase(MachineFrame(b.l4)), .flushTLB(.currentVCPU, .all)])
        // Bad bases leave the old one in place.
        #expect(xenErrno { try fx.ext(.newBaseptr, b.l3) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.newBaseptr, 0) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.newBaseptr, 1 << 45) } == .EINVAL)
        #expect(fx.context.kernelBase == MachineFrame(b.l4))
        fx.expectConsistent()
        // Leaving b: it is de-validated once nothing holds it.
        try fx.ext(.newBaseptr, a.l4)
        #expect(fx.state(b.l4).typeCount == 0 && fx.state(b.l3).typeCount == 0)
        fx.expectConsistent()
    }

    @Test func grubReplacesItsTablesInOneBatch() throws {
        let fx = try MMUFixture()
        let old = try fx.buildTree(), new = try fx.buildTree()
        try fx.activate(old)
        try fx.pin(new.l4)
        try fx.ext(.newBaseptr, new.l4)
        try fx.ext(.unpinTable, old.l4)
        for f in old.tables { #expect(fx.state(f).typeCount == 0) }
        #expect(fx.context.kernelBase == MachineFrame(new.l4))
        fx.expectConsistent()
    }

    @Test func actionsKeepOnlyTheLatestBase() throws {
        let fx = try MMUFixture()
        let a = try fx.buildTree(), b = try fx.buildTree()
        try fx.pin(a.l4)
        try fx.pin(b.l4)
        fx.actions = MMUActions()
        try fx.ext(.newBaseptr, a.l4)
        try fx.ext(.newBaseptr, b.l4)
        try fx.ext(.newBaseptr, a.l4)
        let bases = fx.actions.list.filter { if case .setKernelBase = $0 { true } else { false } }
        #expect(bases == [.setKernelBase(MachineFrame(a.l4))])
        #expect(fx.actions.list.filter { $0 == .flushTLB(.currentVCPU, .all) }.count == 1)
        fx.expectConsistent()
    }

    @Test func newUserBaseptr() throws {
        let fx = try MMUFixture()
        let k = try fx.buildTree(), u = try fx.buildTree()
        try fx.activate(k)
        try fx.ext(.newUserBaseptr, u.l4)
        #expect(fx.context.userBase == MachineFrame(u.l4))
        #expect(fx.actions.list.contains(.setUserBase(MachineFrame(u.l4))))
        #expect(fx.read(u.l4, 256) != 0)
        fx.expectConsistent()
        fx.actions = MMUActions()
        try fx.ext(.newUserBaseptr, u.l4)  // unchanged: nothing at all
        #expect(fx.actions.isEmpty)
        #expect(xenErrno { try fx.ext(.newUserBaseptr, u.l2) } == .EINVAL)
        try fx.ext(.newUserBaseptr, 0)
        #expect(fx.context.userBase == nil && fx.state(u.l4).typeCount == 0)
        fx.expectConsistent()
        // m2p_strict hides the M2P from user tables; kernel tables keep (or regain) it.
        fx.context.m2pStrict = true
        try fx.ext(.newUserBaseptr, u.l4)
        #expect(fx.read(u.l4, 256) == 0)
        fx.context.m2pStrict = false
        try fx.ext(.newUserBaseptr, 0)
        try fx.ext(.newBaseptr, u.l4)
        #expect(fx.read(u.l4, 256) == fx.machine.machineToPhysL4Entry)
        fx.expectConsistent()
    }

    @Test func flushesBecomeActions() throws {
        let fx = try MMUFixture()
        let mask = VCPUBitmap([VCPUID(0), VCPUID(3)])
        try fx.ext(.tlbFlushLocal)
        try fx.ext(.invlpgLocal, 0x40_1000)
        try fx.ext(.invlpgLocal, 0x8000_0000_0000)  // non-canonical: ignored
        try fx.ext(.tlbFlushMulti, 0, 0xDEAD, bitmap: mask)
        try fx.ext(.invlpgMulti, 0xFFFF_8000_0000_1000, 0xDEAD, bitmap: mask)  // Xen's range: ignored
        try fx.ext(.invlpgMulti, 0x1000, 0xDEAD, bitmap: mask)
        try fx.ext(.tlbFlushAll)
        try fx.ext(.invlpgAll, 0xFFFF_FFFF_8000_0000)
        #expect(fx.actions.list == [
            .flushTLB(.currentVCPU, .all), .flushTLB(.currentVCPU, .address(0x40_1000)),
            .flushTLB(.vcpus(mask), .all), .flushTLB(.vcpus(mask), .address(0x1000)),
            .flushTLB(.allVCPUs, .all), .flushTLB(.allVCPUs, .address(0xFFFF_FFFF_8000_0000)),
        ])
        #expect(xenErrno { try fx.ext(.tlbFlushMulti, 0, 0xDEAD) } == .EINVAL)  // unreadable bitmap
        #expect(xenErrno { try fx.ext(.invlpgMulti, 0x1000, 0xDEAD) } == .EINVAL)
        #expect(mask.contains(VCPUID(3)) && !mask.contains(VCPUID(2)) && !mask.contains(VCPUID(64)))
    }

    @Test func setLDTChecksItsArguments() throws {
        let fx = try MMUFixture()
        try fx.ext(.setLDT, 0x7000_0000, 16)
        try fx.ext(.setLDT, 0x7000_0123, 0)  // no entries: the base is ignored
        #expect(fx.actions.list == [.setLDT(base: 0, entries: 0)])  // only the latest LDT counts
        #expect(xenErrno { try fx.ext(.setLDT, 0x7000_0008, 16) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.setLDT, 0x7000_0000, 8193) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.setLDT, 0xFFFF_8000_0000_0000, 1) } == .EINVAL)
        try fx.ext(.setLDT, 0x7000_0000, (1 << 32) | 8)  // only nr_ents' 32 bits count
        #expect(fx.actions.list.last == .setLDT(base: 0x7000_0000, entries: 8))
    }

    @Test func clearAndCopyPage() throws {
        let fx = try MMUFixture()
        let src = try fx.frame(), dst = try fx.frame()
        fx.write(src, 0, 0x1111)
        fx.write(src, 511, 0x2222)
        fx.write(dst, 7, 0x3333)
        try fx.ext(.copyPage, dst, src)
        #expect(fx.read(dst, 0) == 0x1111 && fx.read(dst, 511) == 0x2222 && fx.read(dst, 7) == 0)
        try fx.ext(.clearPage, src)
        #expect(fx.read(src, 0) == 0 && fx.read(src, 511) == 0)
        let tree = try fx.buildTree()
        try fx.pin(tree.l4)
        let other = try DomainMemory(machine: fx.machine, domain: DomainID(2), maximumPages: 8)
        let theirs = try fx.frame(other)
        #expect(xenErrno { try fx.ext(.clearPage, tree.l1) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.copyPage, tree.l2, src) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.copyPage, dst, theirs) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.copyPage, theirs, dst) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.clearPage, theirs) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.clearPage, ~0) } == .EINVAL)
        try fx.ext(.copyPage, dst, tree.l1)  // reading a page table is fine
        fx.expectConsistent()
    }

    @Test func refusedAndUnknownCommands() throws {
        let fx = try MMUFixture()
        #expect(xenErrno { try fx.ext(.flushCache) } == .EACCES)
        #expect(xenErrno { try fx.ext(.flushCacheGlobal) } == .EINVAL)
        #expect(xenErrno { try fx.ext(.markSuper, 1) } == .EOPNOTSUPP)
        #expect(xenErrno { try fx.ext(.unmarkSuper, 1) } == .EOPNOTSUPP)
        for cmd: UInt32 in [14, 21, 99, 0xFFFF_FFFF] {
            #expect(xenErrno {
                try fx.tables.mmuextOp(MMUExtRequest(cmd: cmd), context: &fx.context, actions: &fx.actions)
            } == .ENOSYS)
        }
        let check = { (raw: UInt32) -> XenError? in
            xenErrno { try fx.tables.checkExtendedForeignDomain(raw, caller: fx.id) }
        }
        #expect(check(0x7FF0) == nil)
        #expect(check(0x1_7FF0) == nil)  // only 16 bits count
        #expect(check(1) == .ESRCH)
        #expect(check(5) == .ESRCH)
        #expect(check(0x7FF1) == .EPERM)
        _ = try DomainMemory(machine: fx.machine, domain: DomainID(5), maximumPages: 1)
        #expect(check(5) == .EPERM)
    }

    @Test func requestsDecodeFromGuestBytes() {
        var bytes = [UInt8](repeating: 0, count: 24)
        bytes[0] = 5
        bytes[8] = 0x34; bytes[9] = 0x12
        bytes[16] = 0xFF
        #expect(MMUExtRequest(bytes: bytes) == MMUExtRequest(cmd: 5, arg1: 0x1234, arg2: 0xFF))
        #expect(MMUExtRequest(bytes: bytes.prefix(23)) == nil)
        #expect(MMUUpdateRequest(bytes: bytes.prefix(16))?.ptr == 5)
        #expect(MMUUpdateRequest(bytes: bytes.prefix(16))?.command == nil)  // command 5
        bytes[0] = 0x12  // ptr 0x1234_12: command 2
        #expect(MMUUpdateRequest(bytes: bytes.prefix(16))?.command == .pageTableUpdatePreserveAD)
        #expect(MMUUpdateRequest(ptr: 6, val: 0).command == nil)
        let flags = UpdateVAFlags(rawValue: 0x7000_0002)
        #expect(flags.flushKind == .invlpg && flags.target == .bitmap(pointer: 0x7000_0000) && flags.needsVCPUBitmap)
        #expect(!UpdateVAFlags(rawValue: 0x7000_0000).needsVCPUBitmap)
        #expect(UpdateVAFlags(rawValue: 3).flushKind == .none)
        #expect(MachphysMapping.pv64.maximumMFN == (1 << 35) - 1)
        #expect(VCPUBitmap.wordCount(maxVCPUs: 65) == 2)
    }
}
