import GuestMemory
import Testing
import XenABI

@testable import XenCore

/// GNTTABOP_copy issued by a guest: grant references of any domain or the caller's own
/// frames, Xen's checks in Xen's order, GTF flags only for the duration, continuations.
@Suite struct GrantCopyTests {
    typealias G = GrantGuest
    static let selfID: UInt16 = 0x7FF0

    /// Domain 2's code copies from domain 1's grant into its own frame and back into
    /// another grant of domain 1, in one call.
    @Test func guestCopiesBetweenGrantsAndItsOwnFrames() throws {
        let d = G.data
        var c = GuestCode()
        c.grantOp(.copy, d, count: 2, slot: 0)
        c.shutdown()
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2, code: c.bytes)
        let source = a.frame(20)
        let target = a.frame(21)
        a.grant(8, to: 2, frame: source, flags: [.permitAccess, .readOnly])
        a.grant(9, to: 2, frame: target)
        let message = Array("grant copy through Kite".utf8)
        m.ram.write(message, at: MachineAddress((source << 12) + 100))
        let own = b.dataFrame(d + 0x2000)
        b.writeCopy(at: d, source: (8, 1, 100), destination: (own, Self.selfID, 0x10), length: UInt16(message.count),
                    flags: .sourceGrantReference)
        b.writeCopy(at: d + 40, source: (own, Self.selfID, 0x10), destination: (9, 1, 4000), length: 20,
                    flags: .destinationGrantReference)
        #expect(b.run() == .domainShutdown)
        #expect(b.domain.crashReason == nil)
        #expect(b.result(0) == 0)
        #expect(b.copyStatus(d) == .okay && b.copyStatus(d + 40) == .okay)
        #expect(b.bytes(d + 0x2010, message.count) == message)
        #expect(m.ram.read(at: MachineAddress((target << 12) + 4000), count: 20) == Array(message.prefix(20)))
        #expect(a.entryFlags(8) == [.permitAccess, .readOnly] && a.entryFlags(9) == .permitAccess)
        #expect(a.grants.pin(8) == 0 && a.grants.pin(9) == 0)
        m.expectConsistent()
    }

    @Test func copyStatusesFollowXensOrderOfChecks() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let page = a.frame(20)
        a.grant(8, to: 2, frame: page, flags: [.permitAccess, .readOnly])
        a.grant(9, to: 2, frame: page)
        a.grant(10, to: 3, frame: page)
        a.grant(11, to: 2, frame: a.frame(35))  // domain 1's L1 table
        a.grant(12, to: 2, frame: b.frame(20))  // not domain 1's frame
        let own = b.frame(20)
        let d = G.data
        let s = GrantCopyFlags.sourceGrantReference
        let t = GrantCopyFlags.destinationGrantReference
        func copy(_ src: (UInt64, UInt16, UInt16), _ dst: (UInt64, UInt16, UInt16), length: UInt16 = 16,
                  flags: GrantCopyFlags) -> GrantStatus? {
            b.writeCopy(at: d, source: src, destination: dst, length: length, flags: flags)
            #expect(b.op(.copy, d).isSuccess)
            return b.copyStatus(d)
        }
        let me = Self.selfID
        // Frames only for DOMID_SELF — checked before the domain is looked up.
        #expect(copy((own, 2, 0), (9, 1, 0), flags: t) == .permissionDenied)
        #expect(copy((own, 99, 0), (9, 1, 0), flags: t) == .permissionDenied)
        #expect(copy((8, 99, 0), (own, me, 0), flags: s) == .badDomain)
        #expect(copy((8, 1, 0), (own, 2, 0), flags: s) == .permissionDenied)
        #expect(copy((8, 1, 0), (9, 0x7FF1, 0), flags: [s, t]) == .badDomain)
        // Claiming the source, then the destination.
        #expect(copy((512, 1, 0), (own, me, 0), flags: s) == .badGrantReference)
        #expect(copy((10, 1, 0), (own, me, 0), flags: s) == .generalError)      // granted to 3
        #expect(copy((12, 1, 0), (own, me, 0), flags: s) == .badPage)
        #expect(copy((a.frame(20), me, 0), (own, me, 0), flags: []) == .badPage)  // not its frame
        #expect(copy((8, 1, 0), (8, 1, 0), flags: [s, t]) == .generalError)     // read-only grant as destination
        #expect(copy((8, 1, 0), (11, 1, 0), flags: [s, t]) == .generalError)    // page table as destination
        #expect(copy((8, 1, 0), (b.frame(35), me, 0), flags: s) == .generalError)  // its own L1 likewise
        #expect(copy((8, 0, 0), (own, me, 0), flags: s) == .badGrantReference)  // Kite grants nothing
        // Ranges, checked once both sides are claimed.
        #expect(copy((8, 1, 4000), (own, me, 0), length: 100, flags: s) == .badCopyArgument)
        #expect(copy((8, 1, 0), (own, me, 4090), length: 7, flags: s) == .badCopyArgument)
        #expect(copy((512, 1, 4000), (own, me, 0), length: 100, flags: s) == .badGrantReference)
        #expect(copy((8, 1, 0xFFFF), (own, me, 0xFFFF), length: 0xFFFF, flags: s) == .badCopyArgument)
        #expect(copy((8, 1, 4096), (own, me, 0), length: 0, flags: s) == .okay)
        #expect(copy((8, 1, 0), (own, me, 0), length: 4096, flags: s) == .okay)
        #expect(copy((own, me, 0), (own, me, 8), length: 64, flags: []) == .okay)  // overlapping, its own frame
        // Nothing stays pinned or flagged, no reference is left over.
        for ref in UInt32(8)...12 {
            #expect(a.grants.pin(ref) == 0, "ref \(ref)")
            #expect(!a.entryFlags(ref).contains(.reading) && !a.entryFlags(ref).contains(.writing), "ref \(ref)")
        }
        m.expectConsistent()
    }

    /// While a grant is mapped its pin and flags stay; copies through it come and go.
    @Test func copiesShareThePinOfAMappedGrant() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        a.grant(8, to: 2, frame: a.frame(20))
        let d = G.data
        b.writeMap(at: d + 0x100, hostAddress: 0, flags: [.deviceMap, .readOnly], ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d + 0x100).isSuccess && b.mapStatus(d + 0x100) == .okay)
        #expect(a.entryFlags(8) == [.permitAccess, .reading])
        b.writeCopy(at: d, source: (b.frame(20), Self.selfID, 0), destination: (8, 1, 0), length: 8,
                    flags: .destinationGrantReference)
        #expect(b.op(.copy, d).isSuccess && b.copyStatus(d) == .okay)
        // The writable copy raised and dropped GTF_writing; the read-only map keeps reading.
        #expect(a.entryFlags(8) == [.permitAccess, .reading])
        #expect(a.grants.pin(8) == GrantPin.deviceReadOnly)
        // Revoked by the guest meanwhile (it must not, but may): the pin still rules.
        a.grant(8, to: 7, frame: a.frame(21), flags: [.permitAccess, .reading])
        #expect(b.op(.copy, d).isSuccess && b.copyStatus(d) == .okay)
        m.expectConsistent()
    }

    /// A long batch yields every 256 elements and resumes where it stopped.
    @Test func longBatchesContinue() throws {
        let count = 600
        let d = G.data
        var c = GuestCode()
        c.grantOp(.copy, d, count: UInt64(count), slot: 0)
        c.shutdown()
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2, code: c.bytes)
        let page = a.frame(20)
        m.ram.write((0..<255).map { UInt8($0) }, at: MachineAddress(page << 12))
        a.grant(8, to: 2, frame: page, flags: [.permitAccess, .readOnly])
        let own = b.dataFrame(d + 0x7000 - 0x1000)
        for i in 0..<count {
            b.writeCopy(at: d + UInt64(i) * 40, source: (8, 1, UInt16(i % 200)), destination: (own, Self.selfID, UInt16(i % 256)),
                        length: 1, flags: .sourceGrantReference)
        }
        #expect(b.run() == .domainShutdown)
        #expect(b.result(0) == 0)
        for i in 0..<count { #expect(b.copyStatus(d + UInt64(i) * 40) == .okay, "op \(i)") }
        // The same batch from the hypercall table: three invocations.
        let (rax, invocations) = b.opToCompletion(.copy, d, count: UInt32(count))
        #expect(rax == 0 && invocations == 3)
        #expect(a.grants.pin(8) == 0)
        m.expectConsistent()
    }
}
