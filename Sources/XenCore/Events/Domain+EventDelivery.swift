import GuestMemory
import XenABI

/// Raising ports on the 2-level ABI (xen-abi §5.5): bits in shared_info's evtchn_pending
/// and evtchn_mask, the vCPU's evtchn_pending_sel and evtchn_upcall_pending, all changed
/// with atomic bit operations because the guest's vCPUs change them concurrently.
extension Domain {
    /// The shared_info word holding `port`'s bit in the bitmap at `bitmap`.
    private func sharedInfoWord(_ bitmap: Int, _ port: UInt32) -> MachineAddress {
        MachineAddress(sharedInfoFrame.address.rawValue + UInt64(bitmap) + UInt64(port / EventChannel2L.bitsPerWord) * 8)
    }

    /// Xen: evtchn_2l_set_pending(). Called with this domain's port table locked.
    func setPending2L(port: UInt32, vcpu: UInt32) {
        guard port < EventChannel2L.maxPorts else { return }
        let bit = port % EventChannel2L.bitsPerWord
        guard machine.atomicTestAndSet(bit: bit, at: sharedInfoWord(SharedInfoLayout.eventChannelPending, port)) == false else {
            return
        }
        let maskWord = machine.atomicLoad64(at: sharedInfoWord(SharedInfoLayout.eventChannelMask, port)) ?? ~0
        if maskWord & (1 << UInt64(bit)) == 0 {
            raiseSelector(port / EventChannel2L.bitsPerWord, vcpu: vcpu)
        }
        checkPollers(port)
    }

    /// Sets bit `word` of the vCPU's evtchn_pending_sel; marks events pending when newly set.
    private func raiseSelector(_ word: UInt32, vcpu: UInt32) {
        guard let state = eventState(vcpu), let info = state.vcpuInfo else { return }
        let selector = MachineAddress(info &+ UInt64(VCPUInfoLayout.pendingSelector))
        if machine.atomicTestAndSet(bit: word, at: selector) == false {
            markEventsPending(vcpu)
        }
    }

    /// Xen: vcpu_mark_events_pending() — sets evtchn_upcall_pending; if it was clear, kicks
    /// the vCPU out of SCHEDOP_block or SCHEDOP_poll.
    func markEventsPending(_ vcpu: UInt32) {
        guard let state = eventState(vcpu), let info = state.vcpuInfo else { return }
        // evtchn_upcall_pending is byte 0 of the aligned vcpu_info: bit 0 of its first word.
        guard machine.atomicTestAndSet(bit: 0, at: MachineAddress(info)) == false else { return }
        wake(vcpu, endingPoll: true)
    }

    /// Xen: vcpu_kick()/vcpu_unblock() — ends a poll and wakes the host thread.
    func wake(_ vcpu: UInt32, endingPoll: Bool) {
        if endingPoll, let state = eventState(vcpu) {
            let ended = state.poll.withLock { poll -> Bool in
                guard poll.target != nil else { return false }
                poll.target = nil
                poll.woken = true
                return true
            }
            if ended { events.pollerCount.subtract(1, ordering: .relaxed) }
        }
        self.vcpu(vcpu)?.kick()
    }

    /// Xen: evtchn_check_pollers() — wakes vCPUs polling this port or polling several.
    private func checkPollers(_ port: UInt32) {
        guard events.pollerCount.load(ordering: .relaxed) > 0 else { return }
        for i in 0..<UInt32(vcpus.count) {
            guard let state = eventState(i) else { continue }
            let ended = state.poll.withLock { poll -> Bool in
                guard let target = poll.target, target == .anyPort || target == .port(port) else { return false }
                poll.target = nil
                poll.woken = true
                return true
            }
            if ended {
                events.pollerCount.subtract(1, ordering: .relaxed)
                vcpu(i)?.kick()
            }
        }
    }

    /// Xen: evtchn_2l_clear_pending()
    func clearPending2L(port: UInt32) {
        guard port < EventChannel2L.maxPorts else { return }
        machine.atomicTestAndClear(bit: port % EventChannel2L.bitsPerWord, at: sharedInfoWord(SharedInfoLayout.eventChannelPending, port))
    }

    /// Xen: evtchn_2l_unmask() — clears the mask bit; if the port was masked and is
    /// pending, raises it on `vcpu` now.
    func unmask2L(port: UInt32, vcpu: UInt32) {
        guard port < EventChannel2L.maxPorts else { return }
        let bit = port % EventChannel2L.bitsPerWord
        guard machine.atomicTestAndClear(bit: bit, at: sharedInfoWord(SharedInfoLayout.eventChannelMask, port)) == true else { return }
        let pending = machine.atomicLoad64(at: sharedInfoWord(SharedInfoLayout.eventChannelPending, port)) ?? 0
        if pending & (1 << UInt64(bit)) != 0 {
            raiseSelector(port / EventChannel2L.bitsPerWord, vcpu: vcpu)
        }
    }

    /// Xen: evtchn_2l_is_pending()
    func isPending2L(port: UInt32) -> Bool {
        guard port < EventChannel2L.maxPorts else { return false }
        let word = machine.atomicLoad64(at: sharedInfoWord(SharedInfoLayout.eventChannelPending, port)) ?? 0
        return word & (1 << UInt64(port % EventChannel2L.bitsPerWord)) != 0
    }

    /// Xen: send_guest_vcpu_virq() — a per-vCPU VIRQ (TIMER, DEBUG) on that vCPU's port.
    func sendVCPUVIRQ(_ virq: UInt32, vcpu: UInt32) {
        events.table.withLock { table in
            let port = table.virqPort(vcpu: vcpu, virq: virq)
            guard port != 0, table.isValid(port), table[port].state.isUsable else { return }
            setPending2L(port: port, vcpu: vcpu)
        }
    }

    /// Xen: send_guest_global_virq() — a global VIRQ (CONSOLE, DOM_EXC, …) on the port
    /// bound through vCPU 0, delivered to the port's notify vCPU. For Kite's own devices.
    public func sendGlobalVIRQ(_ virq: UInt32) {
        guard VIRQ.isGlobal(virq) else { return }
        events.table.withLock { table in
            let port = table.virqPort(vcpu: 0, virq: virq)
            guard port != 0, table.isValid(port), table[port].state.isUsable else { return }
            setPending2L(port: port, vcpu: table[port].notifyVCPU)
        }
    }

    /// Raises one of this domain's ports as if its peer had sent on it — the hook for
    /// Kite-side producers that own no port of their own. Xen: evtchn_port_set_pending on
    /// the port's notify vCPU. Free and reserved ports are ignored.
    public func raiseEvent(_ port: EventChannelPort) {
        events.table.withLock { table in
            guard table.isValid(port.rawValue), table[port.rawValue].state.isUsable else { return }
            setPending2L(port: port.rawValue, vcpu: table[port.rawValue].notifyVCPU)
        }
    }
}
