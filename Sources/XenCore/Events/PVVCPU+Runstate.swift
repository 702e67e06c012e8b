import GuestMemory
import XenABI

/// The vCPU's runstate (running, blocked, offline) with the time spent in each, and the
/// guest areas Xen keeps up to date with it (xen-abi §4.13). Kite has no scheduler between
/// vCPUs and host threads, so "runnable" is never entered.
extension PVVCPU {
    /// Nanoseconds of system time this vCPU spent running and blocked so far (Xen:
    /// vcpu_runstate_get), for diagnosis.
    public var runstateTimes: (running: UInt64, blocked: UInt64) {
        let r = eventState.runstate.withLock { $0.snapshot(now: domain.clock.systemTime()) }
        return (r.time.0, r.time.2)
    }

    /// Xen: vcpu_runstate_change() on this vCPU's own thread, then update_runstate_area().
    func changeRunstate(to new: Runstate) {
        let now = domain.clock.systemTime()
        eventState.runstate.withLock { $0.change(to: new, now: now) }
        pv.eventLocal.runstateRunning = new == .running
        publishRunstate()
    }

    /// Xen: update_runstate_area() — writes the record into the registered areas. A guest
    /// virtual area is written through this vCPU's page tables, with XEN_RUNSTATE_UPDATE
    /// around the copy when VMASST_TYPE_runstate_update_flag is on; a machine-address area
    /// always uses the flag. Failures are ignored, as in Xen.
    func publishRunstate() {
        let ev = eventState
        let areas = ev.areas.withLock { $0 }
        guard areas.runstateVirtual != nil || areas.runstateMachine != nil else { return }
        let record = ev.runstate.withLock { $0 }
        if let machine = areas.runstateMachine {
            writeRunstate(record, machine: MachineAddress(machine))
        }
        if let va = areas.runstateVirtual {
            writeRunstate(record, virtual: va, flagged: domain.isAssistEnabled(VMAssist.runstateUpdateFlag))
        }
    }

    func writeRunstate(_ record: RunstateRecord, virtual va: UInt64, flagged: Bool) {
        let entryAddress = va &+ UInt64(RunstateInfoLayout.stateEntryTime)
        if flagged { try? writeGuest(record.entryTime | RunstateInfoLayout.updateFlag, at: entryAddress) }
        try? copyToGuest(record.encoded(updating: flagged), at: va)
        if flagged { try? writeGuest(record.entryTime, at: entryAddress) }
    }

    private func writeRunstate(_ record: RunstateRecord, machine: MachineAddress) {
        let memory = domain.machine
        let entry = MachineAddress(machine.rawValue &+ UInt64(RunstateInfoLayout.stateEntryTime))
        memory.store(record.entryTime | RunstateInfoLayout.updateFlag, at: entry)
        memory.write(record.encoded(updating: true), at: machine)
        memory.store(record.entryTime, at: entry)
    }

    /// Xen: vcpu_runstate_get() for any vCPU of the domain.
    func runstateSnapshot(of target: VCPUEventState) -> RunstateRecord {
        let now = domain.clock.systemTime()
        return target.runstate.withLock { $0.snapshot(now: now) }
    }
}

extension VCPUEventState {
    /// A runstate change made by another thread (VCPUOP_down of another vCPU); the owner
    /// rewrites the guest areas on its next loop.
    func changeRunstateRemotely(to new: Runstate, now: UInt64) {
        runstate.withLock { $0.change(to: new, now: now) }
        requestOwnerWork(OwnerWork.runstateChanged)
    }
}
