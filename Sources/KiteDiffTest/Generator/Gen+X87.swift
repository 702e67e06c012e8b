import X86

/// x87 instructions on a random register stack: loads, stores and arithmetic with the data
/// buffer, register forms, comparisons (FCOMI into RFLAGS, FCMOVcc from it), the control
/// and environment instructions. Every exception stays masked (a pending unmasked one would
/// be #MF on the next instruction, a SIGFPE on the host), so FLDCW loads only masked words
/// and FLDENV/FRSTOR only reload what FNSTENV/FNSAVE just stored.
extension CaseGenerator {
    /// The initial x87/SSE state (an FXSAVE image): for the x87 class a random control word
    /// with every exception masked and 0-8 values pushed, for the SSE class random XMM
    /// registers and MXCSR; otherwise the FNINIT state.
    mutating func initialFPU(x87: Bool, sse: Bool) -> [UInt8] {
        var s = FPUState()
        if sse { randomizeSSE(&s) }
        guard x87 else { return s.fxsaveImage() }
        s.controlWord = 0x037F & ~0x0F00 | UInt16(rng.below(4)) << 10 | rng.pick([0, 2, 3, 3]) << 8
        let depth = rng.below(9)
        let top = (8 - depth) & 7
        s.statusWord = UInt16(top) << 11 | (rng.oneIn(4) ? UInt16(rng.next() & 0x3F) : 0)
        for i in 0..<depth {
            s.registers[(top + i) & 7] = x87Value()
            s.abridgedTags |= 1 << UInt8((top + i) & 7)
        }
        return s.fxsaveImage()
    }

    /// A register value: mostly ordinary numbers, with zeros, denormals, infinities, NaNs,
    /// unsupported encodings and range edges mixed in.
    mutating func x87Value() -> X87Register {
        let sign: UInt16 = rng.bool() ? 0x8000 : 0
        let j: UInt64 = 1 << 63
        let fraction = rng.interesting(bits: 64) & ~j
        let exponent: UInt16 = switch rng.below(12) {
        case 0: 0
        case 1: 0x7FFF
        case 2: UInt16(1 + rng.below(64))
        case 3: UInt16(0x7FFE - rng.below(64))
        default: UInt16(16383 + rng.range(-80...80))
        }
        let integerBit = exponent == 0 ? (rng.oneIn(4) ? j : 0) : (rng.oneIn(16) ? 0 : j)
        return X87Register(significand: integerBit | fraction, signExponent: sign | exponent)
    }

    mutating func genX87(_ b: inout SnippetBuilder) throws {
        for _ in 0..<rng.range(1...4) {
            switch rng.below(11) {
            case 0, 1: try x87MemoryLoad(&b)
            case 2, 3: try x87MemoryStore(&b)
            case 4: try x87MemoryArithmetic(&b)
            case 5, 6: try b.emit(Inst(x87RegisterForm()), "x87 register form")
            case 7: try x87Comparison(&b)
            case 8: try x87ControlWord(&b)
            case 9: try x87Environment(&b)
            default: try x87StatusAndInit(&b)
            }
        }
    }

    private mutating func x87Memory(_ b: inout SnippetBuilder, _ opcode: UInt8, _ reg: Int, span: Int, _ text: String,
                                    prefixes: [UInt8] = []) throws {
        let (m, _) = try mem(&b, span: span)
        var i = Inst([opcode], prefixes: prefixes)
        i.regField = reg
        i.rm = .mem(m)
        try b.emit(i, "\(text) \(m.addressText)")
    }

    /// FLD m32/m64/m80, FILD m16/m32/m64, FBLD.
    private mutating func x87MemoryLoad(_ b: inout SnippetBuilder) throws {
        let forms: [(UInt8, Int, Int, String)] = [(0xD9, 0, 4, "fld dword"), (0xDD, 0, 8, "fld qword"), (0xDB, 5, 10, "fld tbyte"),
                                                   (0xDF, 0, 2, "fild word"), (0xDB, 0, 4, "fild dword"), (0xDF, 5, 8, "fild qword"),
                                                   (0xDF, 4, 10, "fbld tbyte")]
        let (opcode, reg, span, text) = rng.pick(forms)
        try x87Memory(&b, opcode, reg, span: span, text)
    }

    /// FST(P) m32/m64, FSTP m80, FIST(P)/FISTTP m16/m32/m64, FBSTP.
    private mutating func x87MemoryStore(_ b: inout SnippetBuilder) throws {
        let forms: [(UInt8, Int, Int, String)] = [(0xD9, 2, 4, "fst dword"), (0xD9, 3, 4, "fstp dword"), (0xDD, 2, 8, "fst qword"),
                                                   (0xDD, 3, 8, "fstp qword"), (0xDB, 7, 10, "fstp tbyte"), (0xDF, 2, 2, "fist word"),
                                                   (0xDF, 3, 2, "fistp word"), (0xDB, 2, 4, "fist dword"), (0xDB, 3, 4, "fistp dword"),
                                                   (0xDF, 7, 8, "fistp qword"), (0xDF, 1, 2, "fisttp word"), (0xDB, 1, 4, "fisttp dword"),
                                                   (0xDD, 1, 8, "fisttp qword"), (0xDF, 6, 10, "fbstp tbyte")]
        let (opcode, reg, span, text) = rng.pick(forms)
        try x87Memory(&b, opcode, reg, span: span, text)
    }

    /// FADD FMUL FCOM FCOMP FSUB FSUBR FDIV FDIVR with a single, double or integer.
    private mutating func x87MemoryArithmetic(_ b: inout SnippetBuilder) throws {
        let (opcode, span, type) = rng.pick([(UInt8(0xD8), 4, "dword"), (0xDC, 8, "qword"), (0xDA, 4, "int32"), (0xDE, 2, "int16")])
        let reg = rng.below(8)
        try x87Memory(&b, opcode, reg, span: span, "\(["fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"][reg]) \(type)")
    }

    /// A register form: arithmetic on ST(0)/ST(i), FLD/FST/FXCH/FFREE ST(i), the one-byte
    /// operations of D9 (no transcendental ones), FUCOM*/FCOMPP.
    private mutating func x87RegisterForm() -> [UInt8] {
        let i = UInt8(rng.below(8))
        switch rng.below(4) {
        case 0: return [rng.pick([0xD8, 0xDC, 0xDE]), 0xC0 | UInt8(rng.pick([0, 1, 4, 5, 6, 7])) << 3 | i]
        case 1: return rng.pick([[0xD9, 0xC0 | i], [0xD9, 0xC8 | i], [0xDD, 0xC0 | i], [0xDD, 0xD0 | i], [0xDD, 0xD8 | i], [0xDF, 0xC0 | i]])
        case 2:
            let ops: [UInt8] = [0xD0, 0xE0, 0xE1, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xFA, 0xFC, 0xFD]
            return [0xD9, rng.pick(ops)]
        default: return rng.pick([[0xD8, 0xD0 | i], [0xD8, 0xD8 | i], [0xDD, 0xE0 | i], [0xDD, 0xE8 | i], [0xDA, 0xE9], [0xDE, 0xD9]])
        }
    }

    /// FCOMI/FUCOMI(P) (define the status flags) and FCMOVcc (read CF, ZF, PF).
    private mutating func x87Comparison(_ b: inout SnippetBuilder) throws {
        let i = UInt8(rng.below(8))
        if rng.bool() {
            let bytes: [UInt8] = rng.pick([[0xDB, 0xE8 | i], [0xDB, 0xF0 | i], [0xDF, 0xE8 | i], [0xDF, 0xF0 | i]])
            try b.emit(Inst(bytes), "fcomi/fucomi", FlagEffect(defines: FlagBits.status))
        } else {
            try b.emit(Inst([rng.bool() ? 0xDA : 0xDB, 0xC0 | UInt8(rng.below(32))]), "fcmovcc",
                       FlagEffect(reads: FlagBits.cf | FlagBits.zf | FlagBits.pf))
        }
    }

    /// `mov word [m], cw; fldcw [m]` with a masked control word, or FNSTCW.
    private mutating func x87ControlWord(_ b: inout SnippetBuilder) throws {
        let (m, _) = try mem(&b, span: 2)
        if rng.oneIn(3) {
            var store = Inst([0xD9])
            store.regField = 7
            store.rm = .mem(m)
            try b.emit(store, "fnstcw \(m.text(size: 2))")
            return
        }
        let word = 0x037F & ~0x0F00 | UInt16(rng.below(4)) << 10 | UInt16(rng.pick([0, 1, 2, 3])) << 8 | UInt16(rng.next() & 0xE080)
        var mov = Inst([0xC7], prefixes: [0x66])
        mov.rm = .mem(m)
        mov.imm = [UInt8(word & 0xFF), UInt8(word >> 8)]
        try b.emit(mov, "mov \(m.text(size: 2)), \(hex(UInt64(word)))")
        var load = Inst([0xD9])
        load.regField = 5
        load.rm = .mem(m)
        try b.emit(load, "fldcw \(m.text(size: 2))")
    }

    /// FNSTENV then FLDENV, or FNSAVE then FRSTOR, on one buffer area (16- or 32-bit format);
    /// or FXSAVE then FXRSTOR (either format) on a 16-byte-aligned one, or STMXCSR then LDMXCSR.
    private mutating func x87Environment(_ b: inout SnippetBuilder) throws {
        if rng.oneIn(3) {
            let mxcsr = rng.bool()
            let (m, _) = try mem(&b, span: mxcsr ? 4 : 512, align: mxcsr ? 4 : 16, margin: 0x10)
            for (reg, text) in mxcsr ? [(3, "stmxcsr"), (2, "ldmxcsr")] : [(0, "fxsave"), (1, "fxrstor")] {
                var i = Inst([0x0F, 0xAE], rexW: !mxcsr && rng.bool())
                i.regField = reg
                i.rm = .mem(m)
                try b.emit(i, "\(text)\(i.rexW ? "64" : "") \(m.addressText)")
            }
            return
        }
        let save = rng.bool()
        let prefixes: [UInt8] = rng.oneIn(4) ? [0x66] : []
        let (m, _) = try mem(&b, span: save ? 108 : 28)
        for (opcode, reg, text) in save ? [(UInt8(0xDD), 6, "fnsave"), (0xDD, 4, "frstor")] : [(UInt8(0xD9), 6, "fnstenv"), (0xD9, 4, "fldenv")] {
            var i = Inst([opcode], prefixes: prefixes)
            i.regField = reg
            i.rm = .mem(m)
            try b.emit(i, "\(text) \(m.addressText)")
        }
    }

    /// FNSTSW AX or m16, FNCLEX, FNINIT, FWAIT.
    private mutating func x87StatusAndInit(_ b: inout SnippetBuilder) throws {
        switch rng.below(5) {
        case 0: try b.emit(Inst([0xDF, 0xE0]), "fnstsw ax")
        case 1: try x87Memory(&b, 0xDD, 7, span: 2, "fnstsw word")
        case 2: try b.emit(Inst([0xDB, 0xE2]), "fnclex")
        case 3: try b.emit(Inst([0xDB, 0xE3]), "fninit")
        default: try b.emit(Inst([0x9B]), "fwait")
        }
    }
}
