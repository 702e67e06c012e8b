import X86

/// The outcome of measuring one instruction.
public enum InstructionLengthResult: Equatable, Sendable {
    case length(Int)
    /// The encoding is undefined on this CPU (#UD).
    case invalidOpcode
    /// Longer than 15 bytes (#GP).
    case tooLong
    /// The bytes end before the instruction does.
    case truncated
}

/// Public entry points to the decoder, for tools (the length cross-check, disassembly in
/// diagnostics) that have bytes rather than a running CPU.
public enum X86Decoder {
    public static func instructionLength(_ bytes: [UInt8], mode: CPUMode) -> InstructionLengthResult {
        struct ArraySource: InstructionByteSource {
            let bytes: [UInt8]
            mutating func fetch(_ offset: Int) throws(DecodeFailure) -> UInt8 {
                guard offset < bytes.count else { throw .fetch(.pageFault(address: UInt64(offset), code: [])) }
                return bytes[offset]
            }
        }
        var src = ArraySource(bytes: bytes)
        do {
            let d = try Decoder(mode: mode).decode(&src)
            return d.op == .invalid ? .invalidOpcode : .length(Int(d.length))
        } catch {
            return error == .tooLong ? .tooLong : .truncated
        }
    }
}
