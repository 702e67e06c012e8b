import X86

// PENDING: implemented by a helper; throws #UD until then.
extension Interpreter {
    func executeString(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
}
