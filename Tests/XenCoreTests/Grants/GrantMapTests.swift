import GuestMemory
import Synchronization
import Testing
import XenABI

@testable import XenCore

/// A PV guest mapping another guest's grants into its page tables: map_grant_ref,
/// unmap_grant_ref, unmap_and_replace, with the references, PTEs and GTF flags Xen keeps.
@Suite struct GrantMapTests {
    typealias G = GrantGuest
    typealias M = GrantTableArgs.Map

    /// Domain 1 grants one of its data pages to domain 2; domain 2's code maps it, reads
    /// and writes it through the mapping, then unmaps it.
    @Test func guestMapsReadsWritesAndUnmapsAnotherDomainsPage() throws {
        let d = G.data
        let va = G.window + 0x1000
        var c = GuestCode()
        c.grantOp(.mapGrantRef, d, slot: 0)
        c.grantLoadRAX(va)
        c.storeRAX(at: G.results + 8)
        c.movImm(0, 0xB0B0_0002_0000_0042)
        c.storeRAX(at: va + 8)
        c.grantLoadRAX(d + UInt64(M.handle))
        c.storeRAX(at: d + 0x40 + UInt64(GrantTableArgs.Unmap.handle))
        c.grantOp(.unmapGrantRef, d + 0x40, slot: 2)
        c.shutdown()
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2, code: c.bytes)
        let page = a.dataFrame(G.data + 0x1000)
        a.store(UInt64(0xA11C_E000_0000_0001), at: G.data + 0x1000)
        a.grant(8, to: 2, frame: page)
        let before = try #require(m.machine.frameState(MachineFrame(page)))
        b.writeMap(at: d, hostAddress: va, flags: .hostMap, ref: 8, dom: 1)
        b.writeUnmap(at: d + 0x40, hostAddress: va, handle: 0xFFFF)
        #expect(b.run() == .domainShutdown)
        #expect(b.domain.crashReason == nil)
        #expect(b.result(0) == 0 && b.result(2) == 0)
        #expect(b.mapStatus(d) == .okay)
        #expect(b.load(UInt64.self, at: d + UInt64(M.deviceBusAddress)) == page << 12)
        #expect(b.unmapStatus(d + 0x40) == .okay)
        #expect(b.result(1) == 0xA11C_E000_0000_0001)              // read through the grant
        #expect(a.load(UInt64.self, at: G.data + 0x1008) == 0xB0B0_0002_0000_0042)  // written through it
        #expect(b.pte(va) == 0)
        #expect(a.entryFlags(8) == .permitAccess)                  // GTF_reading/writing cleared
        #expect(a.grants.pin(8) == 0)
        #expect(b.grants.mappingCount == 0)
        #expect(m.machine.frameState(MachineFrame(page)) == before)
        m.expectConsistent()
    }

    /// The state between map and unmap: the PTE Xen writes, the references it holds, the
    /// GTF flags in the granter's entry.
    @Test func mappingHoldsReferencesAndSetsStatusFlags() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let page = a.frame(20)
        a.grant(8, to: 2, frame: page)
        a.grant(9, to: 2, frame: page, flags: [.permitAccess, .readOnly])
        let d = G.data
        let base = try #require(m.machine.frameState(MachineFrame(page)))
        // Writable host mapping of ref 8.
        b.writeMap(at: d, hostAddress: G.window + 0x1000, flags: .hostMap, ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d).isSuccess)
        #expect(b.mapStatus(d) == .okay)
        #expect(b.mapHandle(d) == 0)
        let pte = b.pte(G.window + 0x1000)
        #expect(pte >> 12 & 0xFF_FFFF_FFFF == page)
        // P, RW, A, D, NX, and a kernel mapping: US plus Xen's guest-kernel bit.
        #expect(pte & 0xFFF == 0x067 && pte & (1 << 63) != 0 && pte & (1 << 52) != 0)
        #expect(a.entryFlags(8) == [.permitAccess, .reading, .writing])
        var s = try #require(m.machine.frameState(MachineFrame(page)))
        #expect(s.referenceCount == base.referenceCount + 1 && s.type == .writable && s.typeCount == base.typeCount + 1)
        // A read-only, application mapping of ref 9 (same frame) at the next page.
        b.writeMap(at: d + 0x40, hostAddress: G.window + 0x2000, flags: [.hostMap, .readOnly, .applicationMap], ref: 9, dom: 1)
        #expect(b.op(.mapGrantRef, d + 0x40).isSuccess)
        #expect(b.mapStatus(d + 0x40) == .okay && b.mapHandle(d + 0x40) == 1)
        let ro = b.pte(G.window + 0x2000)
        #expect(ro & 0xFFF == 0x165)  // P, US, A, D, G: a user mapping without RW
        #expect(a.entryFlags(9) == [.permitAccess, .readOnly, .reading])
        s = try #require(m.machine.frameState(MachineFrame(page)))
        #expect(s.referenceCount == base.referenceCount + 2 && s.typeCount == base.typeCount + 1)
        #expect(a.grants.pin(8) == GrantPin.hostWritable && a.grants.pin(9) == GrantPin.hostReadOnly)
        // Unmap both in one call.
        b.writeUnmap(at: d + 0x80, hostAddress: G.window + 0x1000, handle: 0)
        b.writeUnmap(at: d + 0x98, hostAddress: G.window + 0x2000, handle: 1)
        #expect(b.op(.unmapGrantRef, d + 0x80, count: 2).isSuccess)
        #expect(b.unmapStatus(d + 0x80) == .okay && b.unmapStatus(d + 0x98) == .okay)
        #expect(b.pte(G.window + 0x1000) == 0 && b.pte(G.window + 0x2000) == 0)
        #expect(a.entryFlags(8) == .permitAccess && a.entryFlags(9) == [.permitAccess, .readOnly])
        #expect(m.references(page) == (base.referenceCount, base.typeCount))
        m.expectConsistent()
    }

    /// map_grant_ref's statuses, each in Xen's order of checks.
    @Test func mapFailuresHaveXensStatuses() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        _ = try m.guest(3)
        let page = a.frame(20)
        let l1 = try #require(m.machine.frameState(MachineFrame(a.frame(32 + 3))))
        #expect(l1.type == .l1)  // the builder's L1 (gfn 35) maps 0x400000…
        a.grant(8, to: 2, frame: page)
        a.grant(9, to: 3, frame: page)                                      // someone else's
        a.grant(10, to: 2, frame: page, flags: [.permitAccess, .readOnly])
        a.grant(11, to: 2, frame: b.frame(20))                              // not domain 1's frame
        a.grant(12, to: 2, frame: a.frame(35))                              // a page table of domain 1
        a.grant(13, to: 2, frame: page, flags: .acceptTransfer)
        a.grant(14, to: 2, frame: 0xFFFF_FFFF)                              // beyond RAM
        a.grant(15, to: 2, frame: page, flags: [])                          // invalid
        let d = G.data
        let va = G.window + 0x3000
        func map(_ ref: UInt32, dom: UInt16 = 1, flags: GrantMapFlags = .hostMap, at host: UInt64 = G.window + 0x3000) -> GrantStatus? {
            b.writeMap(at: d, hostAddress: host, flags: flags, ref: ref, dom: dom)
            #expect(b.op(.mapGrantRef, d).isSuccess)
            return b.mapStatus(d)
        }
        #expect(map(8, flags: []) == .badGrantReference)
        #expect(map(8, flags: [.readOnly, .applicationMap]) == .badGrantReference)
        #expect(map(8, dom: 99) == .badDomain)
        #expect(map(8, dom: 0x7FF0) == .badDomain)          // DOMID_SELF is not an id for map
        #expect(map(8, dom: 0x7FF2) == .badDomain)
        #expect(map(8, dom: 0) == .badGrantReference)       // Kite's domain 0 grants nothing
        #expect(map(512) == .badGrantReference)             // beyond the 1-frame table
        #expect(map(0xFFFF_FFFF) == .badGrantReference)
        #expect(map(9) == .generalError)                    // granted to domain 3
        #expect(map(10) == .generalError)                   // read-only grant, writable map
        #expect(map(13) == .generalError)
        #expect(map(15) == .generalError)
        #expect(map(11) == .badPage)                        // the frame is not domain 1's
        #expect(map(14) == .badPage)
        #expect(map(12) == .generalError)                   // a page table cannot be mapped writable
        #expect(map(8, at: 0x7FFF_0000_0000) == .generalError)     // no L1 there
        #expect(map(8, at: 0xFFFF_8000_0000_1000) == .generalError)  // Xen's range
        #expect(map(8, flags: [.hostMap, .containsPTE], at: 0x1003) == .generalError)  // misaligned
        #expect(map(8, flags: [.hostMap, .containsPTE], at: a.frame(35) << 12) == .generalError)  // not its L1
        // None of the failures left a pin, a flag or a reference behind.
        for ref in UInt32(8)...15 {
            #expect(a.grants.pin(ref) == 0, "ref \(ref)")
            #expect(!a.entryFlags(ref).contains(.reading) && !a.entryFlags(ref).contains(.writing), "ref \(ref)")
        }
        #expect(b.grants.mappingCount == 0)
        #expect(b.pte(va) == 0)
        // Read-only mappings of a page table, and of a read-only grant, are fine.
        #expect(map(12, flags: [.hostMap, .readOnly]) == .okay)
        #expect(map(10, flags: [.hostMap, .readOnly], at: G.window + 0x4000) == .okay)
        m.expectConsistent()
    }

    @Test func unmapFailuresHaveXensStatuses() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let page = a.frame(20)
        a.grant(8, to: 2, frame: page)
        let d = G.data
        let va = G.window + 0x1000
        b.writeMap(at: d, hostAddress: va, flags: [.hostMap, .deviceMap], ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d).isSuccess && b.mapStatus(d) == .okay)
        let handle = b.mapHandle(d)
        func unmap(_ h: UInt32, host: UInt64 = 0, bus: UInt64 = 0) -> GrantStatus? {
            b.writeUnmap(at: d + 0x40, hostAddress: host, busAddress: bus, handle: h)
            #expect(b.op(.unmapGrantRef, d + 0x40).isSuccess)
            return b.unmapStatus(d + 0x40)
        }
        #expect(unmap(handle + 1, host: va) == .badHandle)     // allocated to nobody
        #expect(unmap(9999, host: va) == .badHandle)            // beyond the maptrack
        #expect(unmap(handle, host: va + 0x1000) == .generalError)  // the PTE there is not this grant
        #expect(unmap(handle, bus: (page + 1) << 12) == .generalError)
        #expect(unmap(handle) == .okay)                         // nothing named: nothing done
        #expect(a.grants.pin(8) == GrantPin.hostWritable | GrantPin.deviceWritable)
        #expect(unmap(handle, bus: page << 12) == .okay)        // the device part only
        #expect(a.grants.pin(8) == GrantPin.hostWritable)
        #expect(b.grants.mappingCount == 1)
        #expect(unmap(handle, host: va) == .okay)               // then the host part: gone
        #expect(b.pte(va) == 0 && a.grants.pin(8) == 0 && a.entryFlags(8) == .permitAccess)
        #expect(unmap(handle, host: va) == .badHandle)
        #expect(b.grants.mappingCount == 0)
        m.expectConsistent()
    }

    /// GNTMAP_contains_pte names the L1 entry by machine address; GNTMAP_device_map alone
    /// only pins and references the frame (dev_bus_addr is what a device would use).
    @Test func pteAddressAndDeviceMappings() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let page = a.frame(20)
        a.grant(8, to: 2, frame: page, flags: [.permitAccess, .readOnly])
        let d = G.data
        let pteAddress = try #require(m.hypervisor.pageTables.l1EntryAddress(for: G.window + 0x5000, base: b.vcpu.pv.kernelBase!))
        b.writeMap(at: d, hostAddress: pteAddress.rawValue, flags: [.hostMap, .containsPTE, .readOnly], ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d).isSuccess && b.mapStatus(d) == .okay)
        #expect(b.pte(G.window + 0x5000) >> 12 & 0xFF_FFFF_FFFF == page)
        b.writeMap(at: d + 0x40, hostAddress: 0, flags: [.deviceMap, .readOnly], ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d + 0x40).isSuccess && b.mapStatus(d + 0x40) == .okay)
        #expect(b.load(UInt64.self, at: d + 0x40 + UInt64(M.deviceBusAddress)) == page << 12)
        #expect(a.grants.pin(8) == GrantPin.hostReadOnly | GrantPin.deviceReadOnly)
        // Unmapping the PTE mapping by the PTE's machine address (the mode it was made in).
        b.writeUnmap(at: d + 0x80, hostAddress: pteAddress.rawValue, handle: b.mapHandle(d))
        b.writeUnmap(at: d + 0x98, hostAddress: 0, busAddress: page << 12, handle: b.mapHandle(d + 0x40))
        #expect(b.op(.unmapGrantRef, d + 0x80, count: 2).isSuccess)
        #expect(b.unmapStatus(d + 0x80) == .okay && b.unmapStatus(d + 0x98) == .okay)
        #expect(b.pte(G.window + 0x5000) == 0 && a.grants.pin(8) == 0)
        #expect(a.entryFlags(8) == [.permitAccess, .readOnly])
        m.expectConsistent()
    }

    /// unmap_and_replace moves the PTE at `new_addr` into the grant's place.
    @Test func unmapAndReplaceMovesAnotherPTEIn() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        a.grant(8, to: 2, frame: a.frame(20))
        let d = G.data
        let va = G.window + 0x1000
        b.writeMap(at: d, hostAddress: va, flags: .hostMap, ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d).isSuccess && b.mapStatus(d) == .okay)
        let spare = b.pte(G.window)  // the window's first page (gfn 14)
        typealias R = GrantTableArgs.UnmapAndReplace
        b.store(va, at: d + 0x40 + UInt64(R.hostAddress))
        b.store(G.window, at: d + 0x40 + UInt64(R.newAddress))
        b.store(b.mapHandle(d), at: d + 0x40 + UInt64(R.handle))
        #expect(b.op(.unmapAndReplace, d + 0x40).isSuccess)
        #expect(b.status(at: d + 0x40 + UInt64(R.status)) == .okay)
        #expect(b.pte(va) == spare && b.pte(G.window) == 0)
        #expect(a.grants.pin(8) == 0 && a.entryFlags(8) == .permitAccess)
        // The handle is stale now.
        #expect(b.op(.unmapAndReplace, d + 0x40).isSuccess)
        #expect(b.status(at: d + 0x40 + UInt64(R.status)) == .badHandle)
        m.expectConsistent()
    }

    /// A guest that zaps its grant PTE itself (mmu_update) drops the mapping's references
    /// (as in Xen); the grant stays pinned until unmapped — which now fails — or the mapper dies.
    @Test func implicitUnmapByPageTableUpdate() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let page = a.frame(20)
        a.grant(8, to: 2, frame: page)
        let base = try #require(m.machine.frameState(MachineFrame(page)))
        let d = G.data
        let va = G.window + 0x1000
        b.writeMap(at: d, hostAddress: va, flags: .hostMap, ref: 8, dom: 1)
        #expect(b.op(.mapGrantRef, d).isSuccess && b.mapStatus(d) == .okay)
        let shotDown = ShootdownLog()
        m.machine.setTLBShootdown { [shotDown] id in shotDown.ids.withLock { $0.append(id) } }
        let pteAddress = try #require(m.hypervisor.pageTables.l1EntryAddress(for: va, base: b.vcpu.pv.kernelBase!))
        b.store(pteAddress.rawValue, at: d + 0x40)
        b.store(UInt64(0), at: d + 0x48)
        #expect(b.vcpu.call(Hypercall.mmuUpdate.rawValue, HypercallArguments([d + 0x40, 1, 0, 0x7FF0])).isSuccess)
        // The mapper's vCPUs were made to drop the translation before the references went.
        #expect(shotDown.ids.withLock { $0 }.contains(b.id))
        #expect(m.references(page) == (base.referenceCount, base.typeCount))
        #expect(a.grants.pin(8) == GrantPin.hostWritable && a.entryFlags(8).contains(.writing))
        b.writeUnmap(at: d + 0x80, hostAddress: va, handle: b.mapHandle(d))
        #expect(b.op(.unmapGrantRef, d + 0x80).isSuccess && b.unmapStatus(d + 0x80) == .generalError)
        m.expectConsistent()
        m.machine.setTLBShootdown(nil)
        m.destroy(b)
        #expect(a.grants.pin(8) == 0 && a.entryFlags(8) == .permitAccess)
        #expect(m.references(page) == (base.referenceCount, base.typeCount))
        m.expectConsistent()
    }

    /// Xen refuses a pin that could overflow one of the 8-bit counts.
    @Test func pinCountsCannotOverflow() throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        a.grant(8, to: 2, frame: a.frame(20), flags: [.permitAccess, .readOnly])
        let d = G.data
        for i in 0..<UInt64(129) {
            b.writeMap(at: d + i * 32, hostAddress: 0, flags: [.deviceMap, .readOnly], ref: 8, dom: 1)
        }
        let (rax, invocations) = b.opToCompletion(.mapGrantRef, d, count: 129)
        #expect(rax == 0 && invocations == 1)
        for i in 0..<UInt64(128) { #expect(b.mapStatus(d + i * 32) == .okay) }
        #expect(b.mapStatus(d + 128 * 32) == .generalError)
        #expect(a.grants.pin(8) == 128 * GrantPin.deviceReadOnly)
        m.destroy(b)
        #expect(a.grants.pin(8) == 0)
        m.expectConsistent()
    }
}

final class ShootdownLog: Sendable {
    let ids = Mutex<[DomainID]>([])
}
