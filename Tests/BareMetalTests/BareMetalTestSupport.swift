import BareMetal
import X86
import X86Interpreter

/// Builds a bare machine around hand-assembled bytes on the interpreter.
func machine(_ code: [UInt8], memoryMiB: UInt64 = 4, maxInstructions: UInt64? = 100_000, consoleCapacity: Int = 1 << 20) throws -> BareMetalMachine {
    try BareMetalMachine(
        image: code,
        configuration: BareMetalConfiguration(
            memoryBytes: memoryMiB << 20, maxInstructions: maxInstructions, consoleCapacity: consoleCapacity),
        engine: InterpreterFactory())
}

let load = BareMetalConfiguration.defaultLoadAddress

extension BareMetalOutcome {
    var failure: BareMetalFailure? {
        if case .failed(let f) = self { return f }
        return nil
    }
}
