import X86

// PENDING: implemented by a helper; throws #UD until then.
extension Interpreter {
    func executeCmpxchg(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
    func executeCmpxchgDouble(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
    func executeXadd(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
}
