import GuestMemory
import Testing
import XenABI

@testable import XenCore

/// The table-level sub-commands of grant_table_op and the call's own errors, with Xen's
/// status codes and errnos (common/grant_table.c).
@Suite struct GrantTableOpTests {
    typealias G = GrantGuest
    typealias S = GrantTableArgs.SetupTable
    typealias Q = GrantTableArgs.QuerySize

    /// A guest's boot sequence as Linux runs it: set_version(1), query_size, setup_table,
    /// then it writes an entry through its mapping of frame 0.
    @Test func guestSetsUpItsTableLikeLinux() throws {
        let d = G.data
        var c = GuestCode()
        c.grantOp(.setVersion, d, slot: 0)
        c.grantOp(.querySize, d + 0x10, slot: 1)
        c.grantOp(.setupTable, d + 0x20, slot: 2)
        c.grantOp(.getVersion, d + 0x80, slot: 3)
        // Entry 8: frame 0x1234, domid 0, flags GTF_permit_access, written through 0x900000.
        c.movImm(0, 0x1234_0000_0001)
        c.storeRAX(at: G.grantTable + 8 * 8)
        c.shutdown()
        let m = try GrantTestMachine()
        let g = try m.guest(1, code: c.bytes)
        g.store(UInt32(1), at: d)
        g.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x10)
        g.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x20 + UInt64(S.dom))
        g.store(UInt32(3), at: d + 0x20 + UInt64(S.frameCount))
        g.store(d + 0x40, at: d + 0x20 + UInt64(S.frameList))
        g.store(UInt16(DomainID.selfDomain.rawValue), at: d + 0x80)
        #expect(g.run() == .domainShutdown)
        #expect(g.domain.crashReason == nil)
        for i in 0..<4 { #expect(g.result(i) == 0, "result \(i)") }
        #expect(g.load(UInt32.self, at: d) == 1)
        #expect(g.load(UInt32.self, at: d + 0x10 + UInt64(Q.frameCount)) == 1)
        #expect(g.load(UInt32.self, at: d + 0x10 + UInt64(Q.maximumFrameCount)) == 64)
        #expect(g.status(at: d + 0x10 + UInt64(Q.status)) == .okay)
        #expect(g.status(at: d + 0x20 + UInt64(S.status)) == .okay)
        let frames = g.grants.frames
        #expect(frames.count == 3)
        for i in 0..<3 { #expect(g.load(UInt64.self, at: d + 0x40 + UInt64(i) * 8) == frames[i].rawValue) }
        #expect(g.load(UInt32.self, at: d + 0x84) == 1)
        let e = try #require(g.grants.entry(GrantReference(8)))
        #expect(e.flags == .permitAccess && e.domain == DomainID(0) && e.frame == 0x1234)
        // The new frames are Kite frames shared writable with the guest.
        for f in frames {
            let s = try #require(m.machine.frameState(f))
            #expect(s.owner == g.id && s.isXenShared && s.type == .writable)
        }
        m.expectConsistent()
    }

    @Test func setupTableStatusesAndErrnos() throws {
        let m = try GrantTestMachine()
        let g = try m.guest(1)
        _ = try m.guest(2)
        let d = G.data
        func setup(dom: DomainID, frames: UInt32, list: UInt64 = G.data + 0x100, count: UInt32 = 1) -> (XenError?, GrantStatus?) {
            g.store(dom.rawValue, at: d + UInt64(S.dom))
            g.store(frames, at: d + UInt64(S.frameCount))
            g.store(UInt16(0x7777), at: d + UInt64(S.status))
            g.store(list, at: d + UInt64(S.frameList))
            return (g.op(.setupTable, d, count: count).errno, g.status(at: d + UInt64(S.status)))
        }
        #expect(setup(dom: .selfDomain, frames: 0) == (nil, .okay))
        #expect(setup(dom: g.id, frames: 2) == (nil, .okay))           // its own id is fine too
        #expect(setup(dom: .selfDomain, frames: 65) == (nil, .generalError))  // above max_grant_frames
        #expect(setup(dom: DomainID(2), frames: 1) == (nil, .permissionDenied))
        #expect(setup(dom: .controlDomain, frames: 1) == (nil, .permissionDenied))
        #expect(setup(dom: DomainID(77), frames: 1) == (nil, .badDomain))
        #expect(setup(dom: .io, frames: 1) == (nil, .badDomain))
        #expect(setup(dom: .selfDomain, frames: 1, count: 2).0 == .EINVAL)
        #expect(setup(dom: .selfDomain, frames: 1, count: 0).0 == .EINVAL)
        #expect(setup(dom: .selfDomain, frames: 1, list: 0x8000_0000_0000).0 == .EFAULT)  // non-canonical
        // A list that is canonical but unmapped: each frame faults on its own.
        #expect(setup(dom: .selfDomain, frames: 2, list: 0x7000_0000) == (nil, .badVirtualAddress))
        #expect(g.op(.setupTable, 0x7000_0000).errno == .EFAULT)
        #expect(g.grants.frameCount == 2)
        // The toolstack's limit applies.
        g.grants.setLimits(maximumFrames: 4, maximumMaptrackFrames: 1)
        #expect(setup(dom: .selfDomain, frames: 5) == (nil, .generalError))
        #expect(setup(dom: .selfDomain, frames: 4) == (nil, .okay))
        g.store(UInt16(DomainID.selfDomain.rawValue), at: d)
        #expect(g.op(.querySize, d).isSuccess)
        #expect(g.load(UInt32.self, at: d + UInt64(Q.frameCount)) == 4)
        #expect(g.load(UInt32.self, at: d + UInt64(Q.maximumFrameCount)) == 4)
        m.expectConsistent()
    }

    @Test func querySizeOfOtherDomainsAndCounts() throws {
        let m = try GrantTestMachine()
        let g = try m.guest(1)
        _ = try m.guest(2)
        let d = G.data
        func query(_ dom: UInt16, count: UInt32 = 1) -> (XenError?, GrantStatus?, UInt32) {
            g.store(dom, at: d)
            g.store(UInt32(0xAAAA), at: d + UInt64(Q.frameCount))
            let e = g.op(.querySize, d, count: count).errno
            return (e, g.status(at: d + UInt64(Q.status)), g.load(UInt32.self, at: d + UInt64(Q.frameCount)))
        }
        #expect(query(0x7FF0) == (nil, .okay, 1))
        #expect(query(2) == (nil, .permissionDenied, 0xAAAA))
        #expect(query(99) == (nil, .badDomain, 0xAAAA))
        #expect(query(0x7FF0, count: 2).0 == .EINVAL)
        #expect(g.op(.querySize, 0xFFFF_9000_0000_0000).errno == .EFAULT)
    }

    @Test func versionsAndStatusFrames() throws {
        let m = try GrantTestMachine()
        let g = try m.guest(1)
        _ = try m.guest(2)
        let d = G.data
        func setVersion(_ v: UInt32) -> (XenError?, UInt32) {
            g.store(v, at: d)
            return (g.op(.setVersion, d, count: 0).errno, g.load(UInt32.self, at: d))
        }
        #expect(setVersion(1) == (nil, 1))
        #expect(setVersion(2) == (.ENOSYS, 1))  // version 2 is not offered
        #expect(setVersion(0) == (.EINVAL, 1))
        #expect(setVersion(3) == (.EINVAL, 1))
        #expect(g.op(.setVersion, 0x10).errno == .EFAULT)
        func getVersion(_ dom: UInt16) -> (XenError?, UInt32) {
            g.store(dom, at: d)
            g.store(UInt32(0xBB), at: d + 4)
            return (g.op(.getVersion, d).errno, g.load(UInt32.self, at: d + 4))
        }
        #expect(getVersion(0x7FF0) == (nil, 1))
        #expect(getVersion(1) == (nil, 1))
        #expect(getVersion(2) == (.EPERM, 0xBB))
        #expect(getVersion(0) == (.EPERM, 0xBB))
        #expect(getVersion(50) == (.ESRCH, 0xBB))
        typealias F = GrantTableArgs.GetStatusFrames
        func statusFrames(_ n: UInt32, dom: UInt16 = 0x7FF0, count: UInt32 = 1) -> (XenError?, GrantStatus?) {
            g.store(n, at: d + UInt64(F.frameCount))
            g.store(dom, at: d + UInt64(F.dom))
            g.store(UInt16(0x7777), at: d + UInt64(F.status))
            g.store(d + 0x100, at: d + UInt64(F.frameList))
            return (g.op(.getStatusFrames, d, count: count).errno, g.status(at: d + UInt64(F.status)))
        }
        #expect(statusFrames(0) == (nil, .okay))
        #expect(statusFrames(1) == (nil, .generalError))  // a v1 table has no status frames
        #expect(statusFrames(0, dom: 2) == (nil, .permissionDenied))
        #expect(statusFrames(0, dom: 40) == (nil, .badDomain))
        #expect(statusFrames(0, count: 3).0 == .EINVAL)
    }

    @Test func unknownAndRetiredCommandsAndBadCounts() throws {
        let m = try GrantTestMachine()
        let g = try m.guest(1)
        let d = G.data
        #expect(g.op(.dumpTable, d).errno == .ENOSYS)     // removed from Xen
        #expect(g.op(.cacheFlush, d).errno == .ENOSYS)    // removed on x86 (Xen 4.21)
        #expect(g.op(.setupTable, d, raw: 13).errno == .ENOSYS)
        #expect(g.op(.setupTable, d, raw: 0xFFF).errno == .ENOSYS)
        // Continuation bits are for cache_flush only.
        #expect(g.op(.querySize, d, raw: 0x1000 | 6).errno == .EINVAL)
        #expect(g.op(.cacheFlush, d, raw: 0x3000 | 12).errno == .ENOSYS)
        #expect(g.op(.copy, d, count: 0x8000_0000).errno == .EINVAL)
        #expect(g.op(.copy, d, count: 0xFFFF_FFFF).errno == .EINVAL)
        // The 32-bit cmd and count: upper register bits are ignored.
        g.store(UInt16(DomainID.selfDomain.rawValue), at: d)
        let wide = g.vcpu.call(Hypercall.grantTableOp.rawValue, HypercallArguments([0xFFFF_FFFF_0000_0006, d, 0x1_0000_0001]))
        #expect(wide.isSuccess)
        #expect(g.status(at: d + UInt64(Q.status)) == .okay)
        // A batch whose array is not addressable fails as a whole.
        #expect(g.op(.copy, 0xFFFF_8000_0000_0000, count: 1).errno == .EFAULT)
        #expect(g.op(.mapGrantRef, 0x7FFF_FFFF_FFF0, count: 1).errno == .EFAULT)
        #expect(g.op(.unmapGrantRef, 0xFFFF_FFFF_FFFF_FFF0, count: 2).errno == .EFAULT)
        // Zero elements: nothing to do.
        #expect(g.op(.mapGrantRef, 0, count: 0).isSuccess)
        #expect(g.op(.swapGrantRef, 0, count: 0).isSuccess)
    }

    @Test func transferIsRefusedWithTheGuestKeepingItsPage() throws {
        let m = try GrantTestMachine()
        let g = try m.guest(1)
        _ = try m.guest(2)
        typealias T = GrantTableArgs.Transfer
        let d = G.data
        let page = g.frame(20)
        let before = try #require(m.machine.frameState(MachineFrame(page)))
        for i in 0..<UInt64(3) {
            g.store(page, at: d + i * 24 + UInt64(T.mfn))
            g.store(UInt16(2), at: d + i * 24 + UInt64(T.domid))
            g.store(UInt32(8), at: d + i * 24 + UInt64(T.ref))
            g.store(UInt16(0x7777), at: d + i * 24 + UInt64(T.status))
        }
        #expect(g.op(.transfer, d, count: 3).isSuccess)
        for i in 0..<UInt64(3) { #expect(g.status(at: d + i * 24 + UInt64(T.status)) == .badPage) }
        #expect(m.machine.frameState(MachineFrame(page)) == before)
    }

    @Test func swapExchangesIdleEntriesOnly() throws {
        let m = try GrantTestMachine()
        let g = try m.guest(1)
        typealias W = GrantTableArgs.Swap
        g.grant(8, to: 2, frame: 0x111)
        g.grant(9, to: 3, frame: 0x222, flags: [.permitAccess, .readOnly])
        let d = G.data
        func swap(_ pairs: [(UInt32, UInt32)]) -> [GrantStatus?] {
            for (i, p) in pairs.enumerated() {
                g.store(p.0, at: d + UInt64(i * 12 + W.refA))
                g.store(p.1, at: d + UInt64(i * 12 + W.refB))
                g.store(UInt16(0x7777), at: d + UInt64(i * 12 + W.status))
            }
            #expect(g.op(.swapGrantRef, d, count: UInt32(pairs.count)).isSuccess)
            return pairs.indices.map { g.status(at: d + UInt64($0 * 12 + W.status)) }
        }
        #expect(swap([(8, 9), (8, 8), (512, 8), (8, 512), (0xFFFF_FFFF, 0)])
                == [.okay, .okay, .badGrantReference, .badGrantReference, .badGrantReference])
        #expect(g.grants.entry(GrantReference(8))! == ([.permitAccess, .readOnly], DomainID(3), 0x222))
        #expect(g.grants.entry(GrantReference(9))! == (.permitAccess, DomainID(2), 0x111))
        // Entry 9 in use (mapped by Kite as domain 0): both orders are GNTST_eagain.
        g.grant(9, to: 0, frame: g.frame(20))
        let mapper = m.hypervisor.makeGrantMapper()
        let pinned = try mapper.map(domain: g.id, ref: GrantReference(9), readOnly: true)
        #expect(g.grants.pin(9) != 0)
        #expect(swap([(9, 8), (8, 9)]) == [.eagain, .eagain])
        try mapper.unmap(pinned)
        #expect(swap([(9, 8)]) == [.okay])
        #expect(g.grants.entry(GrantReference(8))!.frame == UInt32(g.frame(20)))
        m.expectConsistent()
    }
}
