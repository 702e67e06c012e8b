import X86

extension Interpreter {
    /// System instructions. Those flagged `endsBlock` set RIP themselves; an intercept exit
    /// leaves RIP at the instruction.
    func executeSystem(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        switch d.op {
        case .hlt:
            guard cpl == 0 else { throw .generalProtection(0) }
            if intercepts.hlt { throw .exit(.hlt(length: d.length)) }
            // Without an intercept HLT waits for an interrupt; an engine without one pending
            // just moves on (the run loop delivers injected events first).
            rip = nextRIP(p)
        case .cpuid:
            if intercepts.cpuid { throw .exit(.cpuid(length: d.length)) }
            throw .undefinedOpcode  // PENDING: built-in CPUID policy
        default:
            throw .undefinedOpcode  // PENDING: implemented by a helper
        }
    }
}
