import X86

/// What interrupts the straight-line execution of an instruction: an architectural exception
/// (delivered through the IDT or exited, per the intercept controls) or an exit the
/// hypervisor asked for. Thrown with typed throws so the non-throwing path stays cheap.
enum CPUEvent: Error {
    case fault(X86Exception)
    case exit(VCPUExit)
}

extension CPUEvent {
    static let undefinedOpcode = CPUEvent.fault(.undefinedOpcode)
    static func generalProtection(_ code: UInt32 = 0) -> CPUEvent { .fault(.generalProtection(code)) }
}
