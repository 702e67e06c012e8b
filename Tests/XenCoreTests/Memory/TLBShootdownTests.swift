import GuestMemory
import Synchronization
import Testing
import X86
import XenABI
@testable import XenCore

/// Xen flushes other CPUs synchronously before a frame changes type and before freed frames
/// can be reused; Kite calls the vCPU owner's shootdown hook at those points.
@Suite struct TLBShootdownTests {
    final class Recorder: Sendable {
        let calls = Mutex<[DomainID]>([])
    }

    @Test func typeChangesShootDownBeforeValidation() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let page = tree.data[0]  // writable now
        let recorder = Recorder()
        fx.machine.setTLBShootdown { [recorder] d in recorder.calls.withLock { $0.append(d) } }
        fx.actions = MMUActions()
        try fx.set(tree.l1, 0, makePTE(page, PTEBits.p))  // RO: no type change yet
        #expect(recorder.calls.withLock { $0.isEmpty })
        try fx.pin(page, level: 1)  // writable → L1
        let calls = recorder.calls.withLock { $0 }
        #expect(calls == [fx.id])
        #expect(fx.actions.list.isEmpty)  // the hook replaces the flush action
        // A pin of a fresh frame (type none) needs no shootdown.
        let fresh = try fx.frame()
        try fx.pin(fresh, level: 1)
        #expect(recorder.calls.withLock { $0.count } == 1)
        fx.expectConsistent()
    }

    @Test func freedFramesAreShotDownBeforeTheLockIsReleased() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        let count = Atomic<Int>(0)
        fx.actions = MMUActions()
        fx.machine.setTLBShootdown { _ in count.add(1, ordering: .relaxed) }
        try fx.dom.decreaseReservation(extent: tree.data[0], order: 0, actions: &fx.actions)
        #expect(count.load(ordering: .relaxed) == 0)  // still mapped: not freed
        try fx.set(tree.l1, 0, 0)  // the last reference: freed
        #expect(count.load(ordering: .relaxed) == 1)
        #expect(fx.actions.list.isEmpty)
        fx.machine.setTLBShootdown(nil)
        let other = try fx.frame()
        try fx.dom.decreaseReservation(extent: other, order: 0, actions: &fx.actions)
        #expect(fx.actions.list == [.flushTLB(.allVCPUs, .all)])
    }
}
