/// Jcc/JMP (short, near, indirect), LOOP/LOOPE/LOOPNE/JRCXZ and CALL/RET. Every branch goes
/// forward over a filler instruction, so both paths end at the same place.
extension CaseGenerator {
    /// `lea r64, [rip -> target]`.
    private func leaRIP(_ r: Int, _ target: UInt64) -> (Inst, String) {
        var i = Inst([0x8D], rexW: true)
        i.regField = r
        i.regOperand = Reg(r, 8)
        i.rm = .mem(Mem(base: .ripTarget(target)))
        return (i, "lea \(Reg(r, 8).name), [rip -> \(hex(target))]")
    }

    /// FF /2 (call) or FF /4 (jmp) through a register or memory.
    private func indirect(_ digit: Int, _ operand: RM) -> Inst {
        var i = Inst([0xFF])
        i.regField = digit
        i.rm = operand
        return i
    }

    mutating func genJump(_ b: inout SnippetBuilder) throws {
        let (fill, fillText) = try filler()
        let fillLen = try SnippetBuilder.length(fill)
        let cc = rng.below(16)
        let hint: [UInt8] = rng.oneIn(6) ? [rng.pick([0x2E, 0x3E])] : []
        let jccFlags = FlagEffect(reads: Condition.reads(cc))
        let skipped = FlagEffect(conditional: true)
        switch rng.below(7) {
        case 6:
            // Backward: mov r32, n; L: filler; dec r32; jnz L.
            let counter = reg(4, writable: true)
            try emitMovImm(&b, counter, UInt64(rng.range(1...4)))
            let (body, bodyText) = try filler(avoid: [counter.num])
            try b.emit(body, bodyText)
            var dec = Inst([0xFF])
            dec.regField = 1
            dec.rm = .reg(counter)
            try b.emit(dec, "dec \(counter.name)", FlagEffect(defines: FlagBits.status & ~FlagBits.cf))
            let rel = -(try SnippetBuilder.length(body)) - (try SnippetBuilder.length(dec)) - 2
            var jnz = Inst([0x75])
            jnz.imm = [UInt8(bitPattern: Int8(rel))]
            try b.emit(jnz, "jnz short \(rel)", FlagEffect(reads: FlagBits.zf))
        case 0, 1:
            let rel = rng.oneIn(8) ? 0 : fillLen
            var i = Inst([0x70 + UInt8(cc)], prefixes: hint)
            i.imm = [UInt8(rel)]
            try b.emit(i, "j\(Condition.names[cc]) short +\(rel)", jccFlags)
            if rel != 0 { try b.emit(fill, fillText, skipped) }
        case 2:
            var i = Inst([0x0F, 0x80 + UInt8(cc)], prefixes: hint)
            i.imm = le32(UInt64(fillLen))
            try b.emit(i, "j\(Condition.names[cc]) near +\(fillLen)", jccFlags)
            try b.emit(fill, fillText, skipped)
        case 3:
            let near = rng.bool()
            var i = Inst([near ? 0xE9 : 0xEB])
            i.imm = near ? le32(UInt64(fillLen)) : [UInt8(fillLen)]
            try b.emit(i, "jmp \(near ? "near" : "short") +\(fillLen)")
            try b.emit(fill, fillText, skipped)
        default:
            // lea r, [rip -> after the filler]; jmp r / jmp [mem]
            let r = reg(8, writable: true)
            let viaMemory = rng.bool()
            let (m, _) = viaMemory ? try mem(&b, span: 8, avoid: [r.num]) : (Mem(base: .none), 0)
            let jump = indirect(4, viaMemory ? .mem(m) : .reg(r))
            let store = Inst([0x89], rexW: true).with(reg: r, rm: .mem(m))
            let storeLen = viaMemory ? try SnippetBuilder.length(store, at: b.pc) : 0
            let leaLen = try SnippetBuilder.length(leaRIP(r.num, b.pc).0, at: b.pc)
            let target = b.pc + UInt64(leaLen + storeLen + (try SnippetBuilder.length(jump, at: b.pc)) + fillLen)
            let (lea, leaText) = leaRIP(r.num, target)
            try b.emit(lea, leaText)
            if viaMemory { try b.emit(store, "mov \(m.text(size: 8)), \(r.name)") }
            try b.emit(jump, "jmp \(viaMemory ? m.text(size: 8) : r.name)")
            try b.emit(fill, fillText, skipped)
        }
    }

    mutating func genLoop(_ b: inout SnippetBuilder) throws {
        let op = rng.below(4)  // E0 loopne, E1 loope, E2 loop, E3 jrcxz
        let addr32 = rng.oneIn(4)
        let names = ["loopne", "loope", "loop", addr32 ? "jecxz" : "jrcxz"]
        if op < 3 && rng.oneIn(3) {
            // Backward: mov ecx, n; L: filler; loop L (n >= 1, so at most n rounds).
            try emitMovImm(&b, Reg(R.rcx, 4), UInt64(rng.range(1...4)))
            let (fill, fillText) = try filler(avoid: [R.rcx])
            try b.emit(fill, fillText)
            let len = addr32 ? 3 : 2
            var i = Inst([0xE0 + UInt8(op)], prefixes: addr32 ? [0x67] : [])
            let rel = -(try SnippetBuilder.length(fill)) - len
            i.imm = [UInt8(bitPattern: Int8(rel))]
            try b.emit(i, "\(names[op])\(addr32 ? " (ecx)" : " (rcx)") \(rel)", FlagEffect(reads: op < 2 ? FlagBits.zf : 0))
            return
        }
        if rng.bool() { try emitMovImm(&b, Reg(R.rcx, rng.bool() ? 4 : 8), UInt64(rng.below(3))) }
        let (fill, fillText) = try filler()
        let fillLen = try SnippetBuilder.length(fill)
        var i = Inst([0xE0 + UInt8(op)], prefixes: addr32 ? [0x67] : [])
        i.imm = [UInt8(fillLen)]
        let count = op == 3 ? "" : (addr32 ? " (ecx)" : " (rcx)")
        try b.emit(i, "\(names[op])\(count) +\(fillLen)", FlagEffect(reads: op < 2 ? FlagBits.zf : 0))
        try b.emit(fill, fillText, FlagEffect(conditional: true))
    }

    /// call L; jmp over; L: filler; ret [imm16]; over:   (the call direct, through a
    /// register or through memory; the return plain, REP-prefixed or with imm16).
    mutating func genCallRet(_ b: inout SnippetBuilder) throws {
        let (fill, fillText) = try filler()
        let fillLen = try SnippetBuilder.length(fill)
        var ret: Inst
        var retText: String
        switch rng.below(4) {
        case 0:
            let n = UInt64(rng.pick([0, 8, 16, 2, 24, 64]))
            ret = Inst([0xC2])
            ret.imm = le16(n)
            retText = "ret \(hex(n))"
        case 1:
            ret = Inst([0xC3], prefixes: [0xF3])
            retText = "rep ret"
        default:
            ret = Inst([0xC3])
            retText = "ret"
        }
        let retLen = try SnippetBuilder.length(ret)
        let jmpOverLen = 2
        switch rng.below(3) {
        case 0:
            var call = Inst([0xE8])
            call.imm = le32(UInt64(jmpOverLen))
            try b.emit(call, "call +\(jmpOverLen)")
        default:
            let r = reg(8, writable: true)
            let viaMemory = rng.bool()
            let (m, _) = viaMemory ? try mem(&b, span: 8, avoid: [r.num]) : (Mem(base: .none), 0)
            let call = indirect(2, viaMemory ? .mem(m) : .reg(r))
            let store = Inst([0x89], rexW: true).with(reg: r, rm: .mem(m))
            let leaLen = try SnippetBuilder.length(leaRIP(r.num, b.pc).0, at: b.pc)
            let storeLen = viaMemory ? try SnippetBuilder.length(store, at: b.pc) : 0
            let target = b.pc + UInt64(leaLen + storeLen + (try SnippetBuilder.length(call, at: b.pc)) + jmpOverLen)
            let (lea, leaText) = leaRIP(r.num, target)
            try b.emit(lea, leaText)
            if viaMemory { try b.emit(store, "mov \(m.text(size: 8)), \(r.name)") }
            try b.emit(call, "call \(viaMemory ? m.text(size: 8) : r.name)")
        }
        var over = Inst([0xEB])
        over.imm = [UInt8(fillLen + retLen)]
        try b.emit(over, "jmp short +\(fillLen + retLen)")
        try b.emit(fill, fillText)
        try b.emit(ret, retText)
    }
}

extension Inst {
    /// This instruction with a register in the reg field and an r/m operand.
    func with(reg: Reg, rm: RM) -> Inst {
        var i = self
        i.regField = reg.code
        i.regOperand = reg
        i.rm = rm
        return i
    }
}
