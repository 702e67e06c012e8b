/// CLC/STC/CMC/CLD/STD, LAHF/SAHF, NOP forms, fences and cache hints.
extension CaseGenerator {
    mutating func genFlagOps(_ b: inout SnippetBuilder) throws {
        for _ in 0..<rng.range(1...3) {
            switch rng.below(5) {
            case 0: try b.emit(Inst([0xF8]), "clc", FlagEffect(defines: FlagBits.cf))
            case 1: try b.emit(Inst([0xF9]), "stc", FlagEffect(defines: FlagBits.cf))
            case 2: try b.emit(Inst([0xF5]), "cmc", FlagEffect(reads: FlagBits.cf, defines: FlagBits.cf))
            case 3: try b.emit(Inst([0xFC]), "cld")
            default: try b.emit(Inst([0xFD]), "std")
            }
        }
    }

    mutating func genLahfSahf(_ b: inout SnippetBuilder) throws {
        let low = FlagBits.sf | FlagBits.zf | FlagBits.af | FlagBits.pf | FlagBits.cf
        if rng.bool() {
            try b.emit(Inst([0x9F]), "lahf", FlagEffect(reads: low))
        } else {
            if rng.bool() { try emitMovImm(&b, Reg(R.rax, 1, high: true), rng.next() & 0xFF) }
            try b.emit(Inst([0x9E]), "sahf", FlagEffect(defines: low))
        }
    }

    /// 90, 66 90, PAUSE, ENDBR64 and the multi-byte 0F 1F /0 with any address (never accessed).
    mutating func genNop(_ b: inout SnippetBuilder) throws {
        switch rng.below(6) {
        case 0: try b.emit(Inst([0x90]), "nop")
        case 1: try b.emit(Inst([0x90], prefixes: [0x66]), "xchg ax, ax (nop)")
        case 2: try b.emit(Inst([0x90], prefixes: [0xF3]), "pause")
        case 3: try b.emit(Inst([0x0F, 0x1E, 0xFA], prefixes: [0xF3]), "endbr64")
        default:
            let size = randomSize([2, 4, 4, 8])
            var m = Mem(base: .reg(rng.below(16)), index: rng.oneIn(2) ? nil : [0, 1, 2, 3, 5, 6, 7, 8, 13][rng.below(9)],
                        scale: rng.pick([1, 2, 4, 8]), disp: sx(rng.interesting(bits: 32), 32))
            if rng.oneIn(4) { m.disp = 0 }
            let operand: RM = rng.oneIn(4) ? .reg(Reg(rng.below(16), size)) : .mem(m)
            try b.emit(inst([0x0F, 0x1F], size: size, regField: 0, rm: operand), "nop \(operand.text(size: size))")
        }
    }

    /// LFENCE/MFENCE/SFENCE, CLFLUSH and PREFETCHh on the buffer.
    mutating func genFence(_ b: inout SnippetBuilder) throws {
        switch rng.below(5) {
        case 0: try b.emit(Inst([0x0F, 0xAE, 0xE8]), "lfence")
        case 1: try b.emit(Inst([0x0F, 0xAE, 0xF0]), "mfence")
        case 2: try b.emit(Inst([0x0F, 0xAE, 0xF8]), "sfence")
        case 3:
            let (m, _) = try mem(&b, span: 1)
            var i = Inst([0x0F, 0xAE])
            i.regField = 7
            i.rm = .mem(m)
            try b.emit(i, "clflush \(m.text(size: 1))")
        default:
            let hint = rng.below(4)
            let (m, _) = try mem(&b, span: 1)
            var i = Inst([0x0F, 0x18])
            i.regField = hint
            i.rm = .mem(m)
            try b.emit(i, "\(["prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"][hint]) \(m.text(size: 1))")
        }
    }
}
