import X86

// PENDING: implemented by a helper; throws #UD until then.
extension Interpreter {
    func executeShift(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
    func executeShiftDouble(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
}
