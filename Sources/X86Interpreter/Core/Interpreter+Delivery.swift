import X86

// PENDING: IDT delivery is implemented by a helper; until then every exception exits.
extension Interpreter {
    /// Handles an exception raised by an instruction: returns the exit if it is intercepted,
    /// or delivers it through the guest IDT and returns nil.
    func raise(_ e: X86Exception) -> VCPUExit? {
        .exception(e)
    }

    /// Delivers the first queued injected event.
    func deliverPendingEvent() throws(CPUEvent) {
        pendingEvents.removeFirst()
    }
}
