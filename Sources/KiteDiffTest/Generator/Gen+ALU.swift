/// ADD/OR/ADC/SBB/AND/SUB/XOR/CMP in every form, TEST, INC/DEC, NOT/NEG.
extension CaseGenerator {
    private static let aluNames = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]

    private static func aluFlags(_ op: Int) -> FlagEffect {
        var f: FlagEffect = [1, 4, 6].contains(op) ? .logic : .arith
        if op == 2 || op == 3 { f.reads = FlagBits.cf }
        return f
    }

    private func lockText(_ lock: Bool) -> String { lock ? "lock " : "" }

    mutating func genALU(_ b: inout SnippetBuilder) throws {
        let op = rng.below(8)
        let name = Self.aluNames[op]
        let size = randomSize()
        let legacy = size == 1 && rng.bool()
        let writes = op != 7
        let flags = Self.aluFlags(op)
        let base = UInt8(op * 8)
        switch rng.below(4) {
        case 0:  // r/m, r
            let src = reg(size, writable: false, legacy: legacy)
            let dst = try rm(&b, size, writable: writes, legacy: legacy)
            let lock = lockable(writes && rng.oneIn(3), dst, span: size)
            try b.emit(inst([sized(base, size)], size: size, reg: src, rm: dst, lock: lock),
                       "\(lockText(lock))\(name) \(dst.text(size: size)), \(src.name)", flags)
        case 1:  // r, r/m
            let src = try rm(&b, size, writable: false, legacy: legacy)
            let dst = reg(size, writable: writes, legacy: legacy)
            try b.emit(inst([sized(base + 2, size)], size: size, reg: dst, rm: src),
                       "\(name) \(dst.name), \(src.text(size: size))", flags)
        case 2:  // accumulator, imm
            let (imm, text) = immediate(size)
            try b.emit(inst([sized(base + 4, size)], size: size, imm: imm),
                       "\(name) \(Reg(R.rax, size).name), \(text)", flags)
        default:  // group 1: 80 /op ib, 81 /op iz, 83 /op ib
            let dst = try rm(&b, size, writable: writes, legacy: legacy)
            let lock = lockable(writes && rng.oneIn(3), dst, span: size)
            let short = size != 1 && rng.bool()
            let (imm, text) = immediate(size, byteSignExtended: short)
            let opcode: UInt8 = size == 1 ? 0x80 : (short ? 0x83 : 0x81)
            try b.emit(inst([opcode], size: size, regField: op, rm: dst, imm: imm, lock: lock),
                       "\(lockText(lock))\(name) \(dst.text(size: size)), \(text)", flags)
        }
    }

    mutating func genTest(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let legacy = size == 1 && rng.bool()
        switch rng.below(3) {
        case 0:
            let src = reg(size, writable: false, legacy: legacy)
            let dst = try rm(&b, size, writable: false, legacy: legacy)
            try b.emit(inst([sized(0x84, size)], size: size, reg: src, rm: dst),
                       "test \(dst.text(size: size)), \(src.name)", .logic)
        case 1:
            let (imm, text) = immediate(size)
            try b.emit(inst([sized(0xA8, size)], size: size, imm: imm), "test \(Reg(R.rax, size).name), \(text)", .logic)
        default:
            let dst = try rm(&b, size, writable: false, legacy: legacy)
            let (imm, text) = immediate(size)
            try b.emit(inst([sized(0xF6, size)], size: size, regField: 0, rm: dst, imm: imm),
                       "test \(dst.text(size: size)), \(text)", .logic)
        }
    }

    mutating func genIncDec(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let dec = rng.bool()
        let dst = try rm(&b, size, writable: true, legacy: size == 1 && rng.bool())
        let lock = lockable(rng.oneIn(3), dst, span: size)
        let flags = FlagEffect(defines: FlagBits.status & ~FlagBits.cf)
        try b.emit(inst([sized(0xFE, size)], size: size, regField: dec ? 1 : 0, rm: dst, lock: lock),
                   "\(lockText(lock))\(dec ? "dec" : "inc") \(dst.text(size: size))", flags)
    }

    mutating func genNotNeg(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let neg = rng.bool()
        let dst = try rm(&b, size, writable: true, legacy: size == 1 && rng.bool())
        let lock = lockable(rng.oneIn(3), dst, span: size)
        try b.emit(inst([sized(0xF6, size)], size: size, regField: neg ? 3 : 2, rm: dst, lock: lock),
                   "\(lockText(lock))\(neg ? "neg" : "not") \(dst.text(size: size))", neg ? .arith : .none)
    }
}
