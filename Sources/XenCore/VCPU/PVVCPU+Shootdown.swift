import Foundation
import X86

/// TLB shootdown between vCPUs. Only a vCPU's own thread may touch its engine, so another
/// thread asks for the flush: a vCPU outside guest code flushes before it next enters it; one
/// inside guest code is kicked out (`requestExit`) and the requester waits until it has
/// flushed — what Xen's flush IPIs guarantee before a frame changes type or is freed.
///
/// Lock order: `guestEntry` is taken after MachineMemory's lock (the shootdown hook runs
/// under it) and never before it; nothing is called under `guestEntry` but the engine.
final class GuestEntryGate: @unchecked Sendable {
    let condition = NSCondition()
    /// The vCPU's thread is inside `engine.run`.
    var inGuest = false
    /// A flush was asked for and has not happened yet.
    var flushPending = false
}

extension PVVCPU {
    /// Called by the vCPU's own thread right before `engine.run`.
    func enterGuest() {
        let gate = guestEntry
        gate.condition.lock()
        if gate.flushPending { performRequestedFlush(gate) }
        gate.inGuest = true
        gate.condition.unlock()
    }

    /// Called by the vCPU's own thread right after `engine.run` returns, before the exit is
    /// handled (handling may need the memory lock a waiting requester holds).
    func leaveGuest() {
        let gate = guestEntry
        gate.condition.lock()
        gate.inGuest = false
        if gate.flushPending { performRequestedFlush(gate) }
        gate.condition.broadcast()
        gate.condition.unlock()
    }

    /// From another thread: returns once this vCPU is not running guest code.
    func waitUntilOutOfGuest() {
        let gate = guestEntry
        gate.condition.lock()
        while gate.inGuest {
            engine.requestExit()
            gate.condition.wait()
        }
        gate.condition.unlock()
    }

    private func performRequestedFlush(_ gate: GuestEntryGate) {
        engine.flushTLB(.all)
        gate.flushPending = false
        gate.condition.broadcast()
    }

    /// From another thread: make this vCPU drop every cached translation before it runs
    /// guest code again, waiting if it is running guest code now.
    func shootdownTLB() {
        let gate = guestEntry
        gate.condition.lock()
        gate.flushPending = true
        if gate.inGuest {
            engine.requestExit()
            while gate.flushPending && gate.inGuest { gate.condition.wait() }
        }
        gate.condition.unlock()
    }
}

extension Domain {
    /// Every vCPU of the domain has dropped its cached translations, or will before it runs
    /// guest code again (those not in guest code now, the calling one included). The PV
    /// MMU's shootdown hook.
    func shootdownTLBs() {
        for vcpu in vcpus { vcpu.shootdownTLB() }
    }
}
