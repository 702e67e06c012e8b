/// The vCPU's timers (single-shot, periodic). Not built yet: nothing is ever armed.
extension PVVCPU {
    /// Fires expired timers (raises VIRQ_TIMER); called before each return to the guest.
    func checkTimers() {}

    /// Host monotonic ns of the next timer of this vCPU; nil while none is armed.
    func nextTimerDeadline() -> UInt64? { nil }
}
