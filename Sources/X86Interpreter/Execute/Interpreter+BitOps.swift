import X86

// PENDING: implemented by a helper; throws #UD until then.
extension Interpreter {
    func executeBitTest(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
    func executeBitScan(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) { throw .undefinedOpcode }
}
