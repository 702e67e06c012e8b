/// MUL/IMUL (one, two and three operands) and DIV/IDIV with operands that cannot fault.
extension CaseGenerator {
    /// After MUL/IMUL: CF and OF defined, SF ZF AF PF undefined.
    private static let mulFlags = FlagEffect(defines: FlagBits.cf | FlagBits.of, undefines: FlagBits.sf | FlagBits.zf | FlagBits.af | FlagBits.pf)
    /// After DIV/IDIV every status flag is undefined.
    private static let divFlags = FlagEffect(undefines: FlagBits.status)

    mutating func genMul(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let signed = rng.bool()
        let src = try rm(&b, size, writable: false, legacy: size == 1 && rng.bool())
        try b.emit(inst([sized(0xF6, size)], size: size, regField: signed ? 5 : 4, rm: src),
                   "\(signed ? "imul" : "mul") \(src.text(size: size))", Self.mulFlags)
    }

    mutating func genIMul(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let src = try rm(&b, size, writable: false)
        let dst = reg(size, writable: true)
        switch rng.below(3) {
        case 0:
            try b.emit(inst([0x0F, 0xAF], size: size, reg: dst, rm: src),
                       "imul \(dst.name), \(src.text(size: size))", Self.mulFlags)
        case 1:
            let (imm, text) = immediate(size, byteSignExtended: true)
            try b.emit(inst([0x6B], size: size, reg: dst, rm: src, imm: imm),
                       "imul \(dst.name), \(src.text(size: size)), \(text)", Self.mulFlags)
        default:
            let (imm, text) = immediate(size)
            try b.emit(inst([0x69], size: size, reg: dst, rm: src, imm: imm),
                       "imul \(dst.name), \(src.text(size: size)), \(text)", Self.mulFlags)
        }
    }

    /// `mov reg, imm` at the register's width (B0+r / B8+r, REX.W B8+r imm64).
    mutating func emitMovImm(_ b: inout SnippetBuilder, _ r: Reg, _ value: UInt64) throws {
        var i = Inst([r.size == 1 ? 0xB0 : 0xB8], prefixes: r.size == 2 ? [0x66] : [], rexW: r.size == 8)
        i.opcodeReg = r
        i.imm = immBytes(value, size: r.size)
        try b.emit(i, "mov \(r.name), \(hex(value & mask(r.size)))")
    }

    /// DIV/IDIV: the dividend is built as quotient*divisor+remainder with the quotient in
    /// range and |remainder| < |divisor|, so the instruction never raises #DE.
    mutating func genDiv(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let bits = size * 8
        let signed = rng.bool()
        let m = mask(size)
        var divisor: UInt64 = 0
        while divisor == 0 { divisor = rng.interesting(bits: bits) }
        let dividend: UInt128
        if signed {
            let d = Int128(sx(divisor, bits))
            var q = Int128(sx(rng.interesting(bits: bits), bits))
            if q == -(Int128(1) << (bits - 1)) { q += 1 }
            let p = q * d
            let magnitude = Int128(rng.next() % UInt64(d.magnitude))
            let r = p > 0 || (p == 0 && rng.bool()) ? magnitude : -magnitude
            dividend = UInt128(truncatingIfNeeded: p + r)
        } else {
            let q = rng.interesting(bits: bits)
            let r = rng.next() % divisor
            dividend = UInt128(q) * UInt128(divisor) + UInt128(r)
        }
        let low = UInt64(truncatingIfNeeded: dividend) & m
        let high = UInt64(truncatingIfNeeded: dividend >> bits) & m

        // The divisor: a register other than RAX/RDX, or memory written through a scratch register.
        let implicit: Set<Int> = [R.rax, R.rdx]
        let operand: RM
        if rng.bool() {
            let legacy = size == 1 && rng.bool()
            let r = reg(size, writable: true, legacy: legacy, avoid: implicit)
            try emitMovImm(&b, r, divisor)
            operand = .reg(r)
        } else {
            let (mm, _) = try mem(&b, span: size, avoid: implicit)
            let scratch = reg(size, writable: true, avoid: implicit.union(indexRegisters(mm)))
            try emitMovImm(&b, scratch, divisor)
            try b.emit(inst([sized(0x88, size)], size: size, reg: scratch, rm: .mem(mm)),
                       "mov \(mm.text(size: size)), \(scratch.name)")
            operand = .mem(mm)
        }
        if size == 1 {
            try emitMovImm(&b, Reg(R.rax, 2), low | high << 8)
        } else {
            try emitMovImm(&b, Reg(R.rdx, size), high)
            try emitMovImm(&b, Reg(R.rax, size), low)
        }
        try b.emit(inst([sized(0xF6, size)], size: size, regField: signed ? 7 : 6, rm: operand),
                   "\(signed ? "idiv" : "div") \(operand.text(size: size))", Self.divFlags)
    }

    /// Registers a memory operand's address depends on.
    func indexRegisters(_ m: Mem) -> Set<Int> {
        var s: Set<Int> = []
        if case .reg(let r) = m.base { s.insert(r) }
        if let i = m.index { s.insert(i) }
        return s
    }
}

func mask(_ size: Int) -> UInt64 { size >= 8 ? ~0 : (1 << UInt64(size * 8)) - 1 }

/// Sign-extends the low `bits` of `v`.
func sx(_ v: UInt64, _ bits: Int) -> Int64 {
    let shift = UInt64(64 - bits)
    return Int64(bitPattern: v << shift) >> Int64(shift)
}
