import Dispatch
import GuestMemory
import Synchronization
import Testing
import X86
import XenABI
@testable import XenCore

/// Several vCPU threads of one domain using the MMU at once never leave torn state.
@Suite struct ConcurrentMMUTests {
    @Test func racingPinsAndUnpinsOfOneTree() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 4)
        let tables = fx.tables
        let domain = fx.id
        let l4 = tree.l4
        let pins = Atomic<Int>(0), unpins = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            var context = MMUContext(domain: domain, vcpu: VCPUID(UInt32(t)))
            var actions = MMUActions()
            for _ in 0..<200 {
                if (try? tables.mmuextOp(MMUExtRequest(.pinL4Table, arg1: l4), context: &context, actions: &actions)) != nil {
                    pins.add(1, ordering: .relaxed)
                }
                if (try? tables.mmuextOp(MMUExtRequest(.unpinTable, arg1: l4), context: &context, actions: &actions)) != nil {
                    unpins.add(1, ordering: .relaxed)
                }
            }
        }
        let pinned = fx.state(l4).isPinned
        #expect(pins.load(ordering: .relaxed) == unpins.load(ordering: .relaxed) + (pinned ? 1 : 0))
        #expect(pins.load(ordering: .relaxed) > 0)
        fx.expectConsistent()
    }

    @Test func racingUpdatesBasesAndPins() throws {
        let fx = try MMUFixture(megabytes: 32, maxPages: 2048)
        let a = try fx.buildTree(pages: 1), b = try fx.buildTree(pages: 1)
        try fx.pin(a.l4)
        try fx.pin(b.l4)
        var pages: [UInt64] = []
        for _ in 0..<40 { pages.append(try fx.frame()) }
        let spare = try fx.buildTree(pages: 1)
        let tables = fx.tables
        let domain = fx.id
        let finalContexts = Mutex<[MMUContext]>([])
        let pageList = pages
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            var context = MMUContext(domain: domain, vcpu: VCPUID(UInt32(t)))
            var actions = MMUActions()
            let owners = MMUOwners(pageTableOwner: domain, pageOwner: domain)
            for i in 0..<300 {
                let page = pageList[(t * 10) + (i % 10)]
                let slot = UInt64(100 + t * 10 + i % 10)
                let l1 = (i / 10) % 2 == 0 ? a.l1 : b.l1
                let flags: UInt64 = [PTEBits.prw, PTEBits.p, 0][i % 3]
                let value = flags == 0 ? 0 : makePTE(page, flags)
                _ = try? tables.mmuUpdate(MMUUpdateRequest(ptr: (l1 << 12) + slot * 8, val: value), context: &context,
                                          owners: owners, actions: &actions)
                _ = try? tables.mmuextOp(MMUExtRequest(.newBaseptr, arg1: i % 2 == 0 ? a.l4 : b.l4),
                                         context: &context, actions: &actions)
                if t == 0 {
                    _ = try? tables.mmuextOp(MMUExtRequest(i % 2 == 0 ? .pinL4Table : .unpinTable, arg1: spare.l4),
                                             context: &context, actions: &actions)
                }
                // Another vCPU mapping one of these pages writable while it is being pinned.
                if t == 1 {
                    _ = try? tables.mmuextOp(MMUExtRequest(.pinL1Table, arg1: pageList[i % 40]), context: &context,
                                             actions: &actions)
                    _ = try? tables.mmuextOp(MMUExtRequest(.unpinTable, arg1: pageList[i % 40]), context: &context,
                                             actions: &actions)
                }
            }
            let done = context
            finalContexts.withLock { $0.append(done) }
        }
        var extraGeneral: [UInt64: UInt32] = [:], extraType: [UInt64: UInt32] = [:]
        for c in finalContexts.withLock({ $0 }) {
            if let k = c.kernelBase?.rawValue {
                extraGeneral[k, default: 0] += 1
                extraType[k, default: 0] += 1
            }
        }
        fx.expectConsistent(extraGeneral: extraGeneral, extraType: extraType)
        // No page is both writable-mapped and a page table.
        for p in pages {
            let s = fx.state(p)
            #expect(!(s.type == .l1 && s.typeCount > 0) || (0..<512).allSatisfy { slot in
                [a.l1, b.l1].allSatisfy { fx.read($0, slot) & PTEBits.rw == 0 || (fx.read($0, slot) >> 12) & 0xFF_FFFF_FFFF != p }
            })
        }
    }
}
