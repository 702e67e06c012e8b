import Foundation
import GuestMemory
import Synchronization
import Testing
import XenABI
import XenControl

@testable import XenCore

/// The granting guest changes its entry while Kite maps it, as grant_table.h allows:
/// revoking an unused entry with a compare-exchange that requires !(GTF_reading|GTF_writing),
/// and making an entry read-only with one that requires !GTF_writing. Kite's pins set those
/// flags with compare-exchange (Xen's _set_status), so neither guest step can succeed under
/// a live mapping that depends on it.
@Suite struct GrantConcurrencyTests {
    /// Flags of the entry word as a guest vCPU sees them, changed with LOCK CMPXCHG.
    final class GuestEntry: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
        var word: UInt64 { PhysicalMemory.compareExchange64(pointer, expected: 0, desired: 0) }
        func exchange(_ old: UInt64, _ new: UInt64) -> Bool {
            PhysicalMemory.compareExchange64(pointer, expected: old, desired: new) == old
        }
    }

    static func entryPointer(_ g: GrantGuest, _ ref: UInt32) -> UnsafeMutableRawPointer? {
        g.owner.ram.pointer(to: MachineAddress(g.grants.frames[0].address.rawValue + UInt64(ref) * 8), length: 8)
    }

    @Test func revocationNeverSucceedsUnderALiveMapping() async throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper()
        let page = a.frame(20)
        a.grant(8, to: 0, frame: page)
        let entry = GuestEntry(try #require(Self.entryPointer(a, 8)))
        let granted = (page << 32) | UInt64(GrantEntryFlags.permitAccess.rawValue)
        let mapped = Atomic<Bool>(false)
        let stop = Atomic<Bool>(false)
        let violations = Atomic<Int>(0)
        let revocations = Atomic<Int>(0)
        let rounds = 3000
        let guest = Thread {
            while !stop.load(ordering: .acquiring) {
                let w = entry.word
                let flags = GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: w))
                guard flags.intersection([.reading, .writing]).isEmpty, flags.contains(.permitAccess) else { continue }
                // Revoke: allowed only because no flag said the entry is in use.
                if entry.exchange(w, w & ~0xFFFF) {
                    if mapped.load(ordering: .acquiring) { violations.add(1, ordering: .relaxed) }
                    revocations.add(1, ordering: .relaxed)
                    _ = entry.exchange(w & ~0xFFFF, granted)  // grant again
                }
            }
        }
        guest.start()
        var successes = 0
        for _ in 0..<rounds {
            guard let mapping = try? mapper.map(domain: a.id, ref: GrantReference(8), readOnly: false) else { continue }
            mapped.store(true, ordering: .releasing)
            successes += 1
            mapping.mutableBytes?.storeBytes(of: UInt64(successes), as: UInt64.self)
            mapped.store(false, ordering: .releasing)
            try mapper.unmap(mapping)
        }
        stop.store(true, ordering: .releasing)
        while !guest.isFinished { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(violations.load(ordering: .relaxed) == 0)
        #expect(successes > 0)
        #expect(a.grants.pin(8) == 0)
        #expect(!a.entryFlags(8).contains(.reading) && !a.entryFlags(8).contains(.writing))
        m.expectConsistent()
    }

    @Test func readOnlyFlipNeverMeetsAWritableMapping() async throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let mapper = m.hypervisor.makeGrantMapper()
        let page = a.frame(20)
        a.grant(8, to: 0, frame: page)
        let entry = GuestEntry(try #require(Self.entryPointer(a, 8)))
        let stop = Atomic<Bool>(false)
        let guest = Thread {
            var readOnly = false
            while !stop.load(ordering: .acquiring) {
                let w = entry.word
                let flags = GrantEntryFlags(rawValue: UInt16(truncatingIfNeeded: w))
                if readOnly {
                    // Read-only → writable: a plain bit clear is allowed at any time.
                    if entry.exchange(w, w & ~UInt64(GrantEntryFlags.readOnly.rawValue)) { readOnly = false }
                } else if !flags.contains(.writing) {
                    // Writable → read-only: only while nothing writes.
                    if entry.exchange(w, w | UInt64(GrantEntryFlags.readOnly.rawValue)) { readOnly = true }
                }
            }
        }
        guest.start()
        var writable = 0
        var refused = 0
        for i in 0..<4000 {
            let readOnly = i % 3 == 0
            do {
                let mapping = try mapper.map(domain: a.id, ref: GrantReference(8), readOnly: readOnly)
                let flags = a.entryFlags(8)
                if !readOnly {
                    writable += 1
                    // While mapped writable the guest can never have made it read-only.
                    #expect(flags.contains(.writing) && !flags.contains(.readOnly))
                }
                #expect(flags.contains(.reading))
                try mapper.unmap(mapping)
            } catch {
                #expect(error.status == .generalError)
                refused += 1
            }
        }
        stop.store(true, ordering: .releasing)
        while !guest.isFinished { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(writable > 0 && writable + refused <= 4000)
        #expect(a.grants.pin(8) == 0)
        #expect(!a.entryFlags(8).contains(.reading) && !a.entryFlags(8).contains(.writing))
        m.expectConsistent()
    }

    /// Several backends mapping and unmapping the same entry, and a guest mapping it too,
    /// at once: the pin count and the frame's references balance in the end.
    @Test func parallelMappersBalance() async throws {
        let m = try GrantTestMachine()
        let a = try m.guest(1)
        let b = try m.guest(2)
        let mapper = m.hypervisor.makeGrantMapper()
        let page = a.frame(20)
        a.grant(8, to: 0, frame: page)
        a.grant(9, to: 2, frame: page)
        let base = m.references(page)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<500 {
                        guard let mapping = try? mapper.map(domain: a.id, ref: GrantReference(8), readOnly: (i + t) % 2 == 0)
                        else { continue }
                        try? mapper.unmap(mapping)
                    }
                }
            }
            group.addTask {
                let d = GrantGuest.data
                for _ in 0..<300 {
                    b.writeMap(at: d, hostAddress: GrantGuest.window + 0x1000, flags: .hostMap, ref: 9, dom: 1)
                    _ = b.op(.mapGrantRef, d)
                    b.writeUnmap(at: d + 0x40, hostAddress: GrantGuest.window + 0x1000, handle: b.mapHandle(d))
                    _ = b.op(.unmapGrantRef, d + 0x40)
                }
            }
        }
        #expect(mapper.mappingCount == 0 && b.grants.mappingCount == 0)
        #expect(a.grants.pin(8) == 0 && a.grants.pin(9) == 0)
        #expect(m.references(page) == base)
        m.expectConsistent()
    }
}
