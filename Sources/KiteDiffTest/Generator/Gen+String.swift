/// MOVS/STOS/LODS/SCAS/CMPS, with and without REP/REPE/REPNE, both directions, 32-bit
/// addressing when the buffer is low, and a small RCX, always inside the buffer.
extension CaseGenerator {
    private struct StringOp {
        let name: String
        let opcode: UInt8
        let compares: Bool
        let usesSource: Bool
        let usesDestination: Bool
    }

    private static let stringOps = [
        StringOp(name: "movs", opcode: 0xA4, compares: false, usesSource: true, usesDestination: true),
        StringOp(name: "cmps", opcode: 0xA6, compares: true, usesSource: true, usesDestination: true),
        StringOp(name: "stos", opcode: 0xAA, compares: false, usesSource: false, usesDestination: true),
        StringOp(name: "lods", opcode: 0xAC, compares: false, usesSource: true, usesDestination: false),
        StringOp(name: "scas", opcode: 0xAE, compares: true, usesSource: false, usesDestination: true),
    ]

    /// `lea r64, [base+disp]`.
    private mutating func emitPointer(_ b: inout SnippetBuilder, _ r: Int, offset: Int) throws {
        let disp = Int64(offset) - Int64(Layout.bufferSize / 2)
        var i = Inst([0x8D], rexW: true)
        i.regField = r
        i.regOperand = Reg(r, 8)
        i.rm = .mem(Mem(base: .reg(base), disp: disp))
        try b.emit(i, "lea \(Reg(r, 8).name), [\(Reg(base, 8).name)\(signedHex(disp))]")
    }

    mutating func genString(_ b: inout SnippetBuilder) throws {
        let op = rng.pick(Self.stringOps)
        let size = randomSize()
        let addr32 = layout.isLow && rng.oneIn(4)
        // Prefix: none, REP (F3) or, for the comparing ones, REPE (F3) / REPNE (F2).
        let rep: UInt8? = rng.oneIn(3) ? nil : (op.compares && rng.bool() ? 0xF2 : 0xF3)
        let down = rng.bool()
        try b.emit(Inst([down ? 0xFD : 0xFC]), down ? "std" : "cld")

        // Offsets leave room for 32 elements of 8 bytes in either direction; a third of them
        // start near the middle, where the buffer's two pages meet.
        let room = 0x180
        let middle = Int(Layout.bufferSize) / 2
        let srcOff = rng.oneIn(3) ? middle + rng.range(-64...64) : rng.range(room...Int(Layout.bufferSize) - room)
        var dstOff = rng.oneIn(3) ? middle + rng.range(-64...64) : rng.range(room...Int(Layout.bufferSize) - room)
        if op.compares && op.usesSource && rng.oneIn(3) { dstOff = srcOff }  // equal strings
        if op.usesSource { try emitPointer(&b, R.rsi, offset: srcOff) }
        if op.usesDestination { try emitPointer(&b, R.rdi, offset: dstOff) }
        var count = 1
        if rep != nil {
            count = rng.oneIn(4) ? rng.range(9...32) : rng.range(0...8)
            try emitMovImm(&b, Reg(R.rcx, addr32 || rng.bool() ? 4 : 8), UInt64(count))
        }
        if op.name == "scas" && rng.bool() {
            // The accumulator equal to the first element.
            try emitMovLoad(&b, Reg(R.rax, size), .mem(Mem(base: .reg(R.rdi))))
        }
        var prefixes: [UInt8] = []
        if let rep { prefixes.append(rep) }
        if size == 2 { prefixes.append(0x66) }
        if addr32 { prefixes.append(0x67) }
        if prefixes.count > 1 { prefixes.swapAt(0, rng.below(prefixes.count)) }  // prefix order is free
        let i = Inst([size == 1 ? op.opcode : op.opcode + 1], prefixes: prefixes, rexW: size == 8)
        let suffix = ["", "b", "w", "", "d", "", "", "", "q"][size]
        let repText = rep == nil ? "" : (op.compares ? (rep == 0xF3 ? "repe " : "repne ") : "rep ")
        let flags = op.compares && count > 0 ? FlagEffect.arith : .none
        try b.emit(i, "\(repText)\(op.name)\(suffix)\(addr32 ? " (a32)" : "")", flags)
    }
}
