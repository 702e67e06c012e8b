import X86

// PENDING: implemented by a helper; throws #UD until then.
extension Interpreter {
    func executeMulDiv(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
    func executeIMul(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
}
