import GuestMemory
import Testing
import XenABI
import XenControl

@testable import XenCore

/// The backends' side: Kite as domain 0 maps and copies guests' grants through XenControl's
/// GrantMapper, and a guest dying under a live mapping neither frees the page early nor
/// leaks it.
@Suite struct HostGrantAccessTests {
    typealias G = GrantGuest

    @Test func mapReadWriteUnmap() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper: any GrantMapper = m.hypervisor.makeGrantMapper()
        let page = a.dataFrame(G.data + 0x1000)
        a.store(UInt64(0x1122_3344_5566_7788), at: G.data + 0x1000)
        a.grant(8, to: 0, frame: page)
        let base = m.references(page)
        let mapping = try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: false)
        #expect(mapping.frame == MachineFrame(page) && !mapping.isReadOnly)
        #expect(mapping.bytes.load(as: UInt64.self) == 0x1122_3344_5566_7788)
        let bytes = try #require(mapping.mutableBytes)
        bytes.storeBytes(of: UInt64(0x0BAC_CE4D), toByteOffset: 16, as: UInt64.self)
        mapping.noteWrite(offset: 16, length: 8)
        #expect(a.load(UInt64.self, at: G.data + 0x1010) == 0x0BAC_CE4D)
        #expect(a.entryFlags(8) == [.permitAccess, .reading, .writing])
        #expect(m.references(page) == (base.0 + 1, base.1 + 1))
        // The guest cannot make the page a page table while Kite maps it writable.
        #expect(m.references(page).1 > 0 && m.machine.frameState(MachineFrame(page))?.type == .writable)
        try mapper.unmap(mapping)
        #expect(a.entryFlags(8) == .permitAccess && a.grants.pin(8) == 0)
        #expect(m.references(page) == base)
        #expect(throws: GrantError(.badHandle)) { try mapper.unmap(mapping) }
        m.expectConsistent()
    }

    /// While Kite holds a writable mapping the guest cannot turn the page into a page table
    /// (its writable type is held); once unmapped it can.
    @Test func writableMappingKeepsThePageOutOfPageTables() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper()
        let page = a.frame(20)
        m.ram.zero(MachineFrame(page))
        a.grant(8, to: 0, frame: page)
        func pinAsL1() -> XenError? {
            var actions = MMUActions()
            do {
                try m.machine.operate(&actions) { (s: inout MemoryState) throws(XenError) in
                    try s.pin(page, as: .l1, owner: a.id.rawValue)
                }
                return nil
            } catch { return error }
        }
        let mapping = try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: false)
        #expect(pinAsL1() == .EINVAL)
        try mapper.unmap(mapping)
        #expect(pinAsL1() == nil)
        #expect(m.machine.frameState(MachineFrame(page))?.type == .l1)
        // And a page table cannot be mapped writable through a grant.
        #expect(throws: GrantError(.generalError)) { try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: false) }
        let ro = try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: true)
        try mapper.unmap(ro)
        m.expectConsistent()
    }

    @Test func readOnlyMappingsTakeNoWritableType() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper()
        let table = a.frame(35)  // one of the guest's L1 tables
        a.grant(8, to: 0, frame: table, flags: [.permitAccess, .readOnly])
        let base = m.references(table)
        let mapping = try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: true)
        #expect(mapping.mutableBytes == nil && mapping.isReadOnly)
        #expect(m.references(table) == (base.0 + 1, base.1))
        #expect(a.entryFlags(8) == [.permitAccess, .readOnly, .reading])
        // Writable: the grant is read-only, and the frame is a page table anyway.
        #expect(throws: GrantError(.generalError)) { try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: false) }
        a.grant(9, to: 0, frame: table)
        #expect(throws: GrantError(.generalError)) { try mapper.map(domain: a.id, ref: GrantReference(9), readOnly: false) }
        #expect(a.entryFlags(9) == .permitAccess && a.grants.pin(9) == 0)
        try mapper.unmap(mapping)
        #expect(m.references(table) == base)
        m.expectConsistent()
    }

    @Test func mapFailures() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper()
        a.grant(8, to: 2, frame: a.frame(20))         // for domain 2, not Kite
        a.grant(9, to: 0, frame: 0x10)                 // a frame domain 1 does not own
        func map(_ d: UInt16, _ ref: UInt32) -> GrantStatus {
            do {
                let mapping = try mapper.map(domain: DomainID(d), ref: GrantReference(ref), readOnly: true)
                try? mapper.unmap(mapping)
                return .okay
            } catch { return error.status }
        }
        #expect(map(5, 8) == .badDomain)
        #expect(map(0, 8) == .badDomain)
        #expect(map(0x7FF0, 8) == .badDomain)
        #expect(map(1, 512) == .badGrantReference)
        #expect(map(1, 8) == .generalError)
        #expect(map(1, 9) == .badPage)
        #expect(map(1, 10) == .generalError)          // never granted
        #expect(mapper.mappingCount == 0)
        // An unmap must name the mapping it was given.
        a.grant(10, to: 0, frame: a.frame(20))
        let mapping = try mapper.map(domain: a.id, ref: GrantReference(10), readOnly: true)
        let forged = GrantMapping(domain: a.id, ref: GrantReference(11), handle: mapping.handle, isReadOnly: true,
                                  frame: mapping.frame, page: mapping.page, memory: m.ram)
        #expect(throws: GrantError(.badHandle)) { try mapper.unmap(forged) }
        try mapper.unmap(mapping)
        m.expectConsistent()
    }

    @Test func maptrackExhaustion() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper(maximumMaptrackFrames: 1)
        for ref in UInt32(8)..<270 { a.grant(ref, to: 0, frame: a.frame(20), flags: [.permitAccess, .readOnly]) }
        var mappings: [GrantMapping] = []
        for ref in UInt32(8)..<264 { mappings.append(try mapper.map(domain: a.id, ref: GrantReference(ref), readOnly: true)) }
        #expect(mapper.mappingCount == 256)
        #expect(throws: GrantError(.noDeviceSpace)) { try mapper.map(domain: a.id, ref: GrantReference(264), readOnly: true) }
        #expect(a.grants.pin(264) == 0 && !a.entryFlags(264).contains(.reading))
        try mapper.unmap(mappings.removeLast())
        let again = try mapper.map(domain: a.id, ref: GrantReference(264), readOnly: true)
        #expect(again.handle == GrantHandle(255))
        for mapping in mappings + [again] { try mapper.unmap(mapping) }
        #expect(mapper.mappingCount == 0)
        m.expectConsistent()
    }

    /// A guest's maptrack is bounded the same way (map_grant_ref from guest code, one batch
    /// over a continuation).
    @Test func guestMaptrackExhaustion() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        b.grants.setLimits(maximumFrames: 64, maximumMaptrackFrames: 1)
        for ref in UInt32(8)..<268 { a.grant(ref, to: 2, frame: a.frame(20), flags: [.permitAccess, .readOnly]) }
        let d = G.data
        for i in 0..<UInt64(260) {
            b.writeMap(at: d + i * 32, hostAddress: 0, flags: [.deviceMap, .readOnly], ref: UInt32(8 + i), dom: 1)
        }
        let (rax, invocations) = b.opToCompletion(.mapGrantRef, d, count: 260)
        #expect(rax == 0 && invocations == 2)
        for i in 0..<UInt64(256) { #expect(b.mapStatus(d + i * 32) == .okay) }
        for i in 256..<UInt64(260) { #expect(b.mapStatus(d + i * 32) == .noDeviceSpace) }
        #expect(b.grants.mappingCount == 256)
        m.destroy(b)
        for ref in UInt32(8)..<268 { #expect(a.grants.pin(ref) == 0) }
        m.expectConsistent()
    }

    @Test func copiesBetweenKiteBuffersAndGrants() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let mapper = m.hypervisor.makeGrantMapper()
        let pa = a.frame(20)
        let pb = b.frame(20)
        a.grant(8, to: 0, frame: pa)
        a.grant(9, to: 0, frame: pa, flags: [.permitAccess, .readOnly])
        b.grant(8, to: 0, frame: pb)
        let out = Array("from a backend's buffer".utf8)
        var back = [UInt8](repeating: 0, count: 64)
        let statuses = out.withUnsafeBytes { src in
            back.withUnsafeMutableBytes { dst in
                mapper.copy([
                    GrantCopy(source: .buffer(src), destination: .grant(a.id, GrantReference(8), offset: 300), length: UInt16(out.count)),
                    GrantCopy(source: .grant(a.id, GrantReference(9), offset: 300), destination: .grant(b.id, GrantReference(8), offset: 7),
                              length: UInt16(out.count)),
                    GrantCopy(source: .grant(b.id, GrantReference(8), offset: 7), destination: .buffer(dst), length: UInt16(out.count)),
                    // Failures: a buffer too short, beyond the page, a read-only grant as destination.
                    GrantCopy(source: .buffer(src), destination: .grant(a.id, GrantReference(8), offset: 0), length: 200),
                    GrantCopy(source: .grant(a.id, GrantReference(9), offset: 4090), destination: .buffer(dst), length: 10),
                    GrantCopy(source: .buffer(src), destination: .grant(a.id, GrantReference(9), offset: 0), length: 4),
                    GrantCopy(source: .grant(DomainID(9), GrantReference(8), offset: 0), destination: .buffer(dst), length: 4),
                    GrantCopy(source: .grant(a.id, GrantReference(600), offset: 0), destination: .buffer(dst), length: 4),
                ])
            }
        }
        #expect(statuses == [.okay, .okay, .okay, .badCopyArgument, .badCopyArgument, .generalError, .badDomain, .badGrantReference])
        #expect(Array(back.prefix(out.count)) == out)
        #expect(m.ram.read(at: MachineAddress((pb << 12) + 7), count: out.count) == out)
        #expect(a.grants.pin(8) == 0 && a.grants.pin(9) == 0 && b.grants.pin(8) == 0)
        #expect(a.entryFlags(8) == .permitAccess)
        #expect(throws: GrantError(.generalError)) {
            try mapper.copy(GrantCopy(source: .grant(a.id, GrantReference(10), offset: 0),
                                      destination: .grant(a.id, GrantReference(8), offset: 0), length: 1))
        }
        m.expectConsistent()
    }

    /// The toolstack seeds refs 0 and 1 for Kite's console and xenstore backends.
    @Test func seededReservedEntriesAreMappableByKite() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let console = MachineFrame(a.frame(21))
        let store = MachineFrame(a.frame(22))
        try a.domain.seedToolstackGrants(console: console, xenstore: store)
        #expect(a.grants.entry(GrantTableLimits.consoleReference)! == (.permitAccess, .controlDomain, UInt32(console.rawValue)))
        #expect(a.grants.entry(GrantTableLimits.xenstoreReference)! == (.permitAccess, .controlDomain, UInt32(store.rawValue)))
        let mapper = m.hypervisor.makeGrantMapper()
        let ring = try mapper.map(domain: a.id, ref: GrantTableLimits.xenstoreReference, readOnly: false)
        #expect(ring.frame == store)
        try mapper.unmap(ring)
    }

    /// A guest destroyed while Kite maps its page: the page stays allocated (still the
    /// guest's, its account kept) until Kite unmaps; then everything is free again.
    @Test func domainDeathWithALiveHostMapping() throws {
        let m = try GrantTestMachine()
        let freeBefore = m.machine.freeFrameCount
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper()
        let page = a.dataFrame(G.data + 0x2000)
        a.store(UInt64(0xDEAD_BEEF), at: G.data + 0x2000)
        a.grant(8, to: 0, frame: page)
        let mapping = try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: false)
        let report = try #require(m.destroy(a))
        #expect(report.remainingFrames == [MachineFrame(page)])
        m.expectConsistent("after destroy")
        let s = try #require(m.machine.frameState(MachineFrame(page)))
        #expect(s.owner == DomainID(1) && s.referenceCount == 1 && s.typeCount == 1)
        #expect(mapping.bytes.load(as: UInt64.self) == 0xDEAD_BEEF)
        // The domain is gone: new maps fail, the old mapping still unmaps.
        #expect(throws: GrantError(.badDomain)) { try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: true) }
        try mapper.unmap(mapping)
        #expect(m.machine.frameState(MachineFrame(page))?.owner == nil)
        #expect(m.machine.freeFrameCount == freeBefore)
        #expect(!m.machine.domainExists(DomainID(1)))
        m.expectConsistent("after unmap")
        // The id can be used again.
        _ = try m.guest(1)
    }

    /// A guest destroyed while another guest maps its page, and a mapper destroyed with live
    /// PTE mappings: pins, flags and references all come back.
    @Test func domainDeathWithLiveGuestMappings() throws {
        let m = try GrantTestMachine()
        let freeBefore = m.machine.freeFrameCount
        let a = try m.guest(1)
        let b = try m.guest(2)
        let c = try m.guest(3)
        let pa = a.frame(20)
        let pb = b.frame(20)
        a.grant(8, to: 2, frame: pa)
        b.grant(8, to: 3, frame: pb)
        let d = G.data
        // b maps a's page; c maps b's page (writable PTEs both).
        b.writeMap(at: d, hostAddress: G.window + 0x1000, flags: .hostMap, ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d).isSuccess && b.mapStatus(d) == .okay)
        c.writeMap(at: d, hostAddress: G.window + 0x1000, flags: .hostMap, ref: 8, dom: 2)
        #expect(c.op(.mapGrantRef, d).isSuccess && c.mapStatus(d) == .okay)
        // a dies first: its page lives on in b's tables.
        let ra = try #require(m.destroy(a))
        #expect(ra.remainingFrames == [MachineFrame(pa)])
        m.expectConsistent("a destroyed")
        // b dies with its mapping of a's page and its own page mapped by c.
        let rb = try #require(m.destroy(b))
        #expect(rb.remainingFrames == [MachineFrame(pb)])
        #expect(m.machine.frameState(MachineFrame(pa))?.owner == nil)  // b's PTE was the last user
        m.expectConsistent("b destroyed")
        // c unmaps b's page through the grant interface: b's account goes with it.
        c.writeUnmap(at: d + 0x40, hostAddress: G.window + 0x1000, handle: c.mapHandle(d))
        #expect(c.op(.unmapGrantRef, d + 0x40).isSuccess && c.unmapStatus(d + 0x40) == .okay)
        #expect(m.machine.frameState(MachineFrame(pb))?.owner == nil)
        #expect(!m.machine.domainExists(DomainID(2)))
        m.destroy(c)
        #expect(m.machine.freeFrameCount == freeBefore)
        m.expectConsistent("all destroyed")
    }
}
