extension Decoder {
    /// The 0F opcodes whose forms `SSEForm.lookup` refines (most also have MMX forms without
    /// a prefix, which this CPU lacks).
    static let sseOpcodes: [UInt8] = Array(0x10...0x17) + [0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x50, 0x51, 0x52, 0x53]
        + Array(0x54...0x5F) + Array(0x60...0x76) + [0x7E, 0x7F, 0xC2, 0xC4, 0xC5, 0xC6]
        + Array(0xD1...0xEF) + Array(0xF1...0xFE)

    /// Refines an SSE opcode by its mandatory prefix: `sub` = the `SSEOperation`, `size` = the
    /// memory operand's bytes (MOVD/MOVQ: 8 with REX.W), `aligned16` when a 16-byte memory
    /// operand must be aligned; undefined or unimplemented forms become #UD.
    func decodeSSE(_ d: inout DecodedInstruction, opcode: UInt8, modrm: UInt8, prefix: SSEPrefix, rexW: Bool) {
        let isMemory = d.flags.contains(.memory)
        guard let form = SSEForm.lookup(opcode: opcode, prefix: prefix, reg: (modrm >> 3) & 7),
            form.memoryOnly == nil || form.memoryOnly == isMemory
        else {
            d.op = .invalid
            return
        }
        d.sub = form.operation.rawValue
        d.size = form.memorySize
        switch form.operation {
        case .movdToXMM, .movdFromXMM, .cvtsi2ss, .cvtsi2sd: d.size = rexW ? 8 : 4
        default: break
        }
        if form.aligned && form.memorySize == 16 { d.flags.insert(.aligned16) }
    }
}
