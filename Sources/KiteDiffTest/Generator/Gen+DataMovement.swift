/// MOV in every form, MOVZX/MOVSX/MOVSXD, LEA, CMOVcc, SETcc, XLAT, MOVBE, CBW..CQO.
extension CaseGenerator {
    mutating func genMov(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let legacy = size == 1 && rng.bool()
        switch rng.below(6) {
        case 0:  // r/m, r
            let src = reg(size, writable: false, legacy: legacy)
            let dst = try rm(&b, size, writable: true, legacy: legacy)
            try b.emit(inst([sized(0x88, size)], size: size, reg: src, rm: dst), "mov \(dst.text(size: size)), \(src.name)")
        case 1:  // r, r/m
            let src = try rm(&b, size, writable: false, legacy: legacy)
            try emitMovLoad(&b, reg(size, writable: true, legacy: legacy), src)
        case 2:  // B0+r / B8+r (imm64 with REX.W)
            let r = reg(size, writable: true, legacy: legacy)
            try emitMovImm(&b, r, rng.interesting(bits: size * 8))
        case 3:  // C6/C7 /0 r/m, imm
            let dst = try rm(&b, size, writable: true, legacy: legacy)
            let (imm, text) = immediate(size)
            try b.emit(inst([sized(0xC6, size)], size: size, regField: 0, rm: dst, imm: imm),
                       "mov \(dst.text(size: size)), \(text)")
        default:  // A0-A3: accumulator and an absolute moffs (64-bit, or 32-bit with 0x67)
            let (_, target) = try mem(&b, span: size)
            let short = layout.isLow && rng.oneIn(3)
            let store = rng.bool()
            var i = Inst([sized(store ? 0xA2 : 0xA0, size)], prefixes: (size == 2 ? [0x66] : []) + (short ? [0x67] : []),
                         rexW: size == 8)
            i.imm = short ? le32(target) : le64(target)
            let acc = Reg(R.rax, size).name
            let addr = "\(sizeName(size)) [\(short ? "moffs32" : "moffs64") \(hex(target))]"
            try b.emit(i, store ? "mov \(addr), \(acc)" : "mov \(acc), \(addr)")
        }
    }

    mutating func genMovExtend(_ b: inout SnippetBuilder) throws {
        switch rng.below(5) {
        case 0, 1:  // MOVZX/MOVSX r, r/m8
            let signed = rng.bool()
            let size = randomSize([2, 4, 8])
            let legacy = size != 8 && rng.bool()
            let src = try rm(&b, 1, writable: false, legacy: legacy)
            let dst = reg(size, writable: true, legacy: legacy)
            try b.emit(inst([0x0F, signed ? 0xBE : 0xB6], size: size, reg: dst, rm: src),
                       "\(signed ? "movsx" : "movzx") \(dst.name), \(src.text(size: 1))")
        case 2, 3:  // MOVZX/MOVSX r, r/m16
            let signed = rng.bool()
            let size = randomSize([4, 8])
            let src = try rm(&b, 2, writable: false)
            let dst = reg(size, writable: true)
            var i = inst([0x0F, signed ? 0xBF : 0xB7], size: size, reg: dst, rm: src)
            i.regOperand = dst
            try b.emit(i, "\(signed ? "movsx" : "movzx") \(dst.name), \(src.text(size: 2))")
        default:  // MOVSXD r64, r/m32 (and the r32/r16 forms, which just move)
            let size = rng.pick([8, 8, 8, 4, 2])
            let src = try rm(&b, size == 8 ? 4 : size, writable: false)
            let dst = reg(size, writable: true)
            try b.emit(inst([0x63], size: size, reg: dst, rm: src),
                       "movsxd \(dst.name), \(src.text(size: size == 8 ? 4 : size))")
        }
    }

    /// LEA with any addressing form: any base (RSP included), any index but RSP, all scales,
    /// RIP-relative, absolute, and 32-bit addresses with 0x67. Nothing is accessed.
    mutating func genLea(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8, 8])
        let addr32 = rng.oneIn(4)
        var m: Mem
        switch rng.below(8) {
        case 0: m = Mem(base: .ripDisp(Int32(truncatingIfNeeded: Int64(sx(rng.interesting(bits: 32), 32)))), addr32: addr32)
        case 1:
            var idx = rng.below(16)
            if idx == R.rsp { idx = 12 }
            m = Mem(base: .none, index: rng.oneIn(4) ? nil : idx, scale: rng.pick([1, 2, 4, 8]),
                    disp: sx(rng.interesting(bits: 32), 32), addr32: addr32)
        default:
            var idx: Int? = rng.below(16)
            if idx == R.rsp || rng.oneIn(3) { idx = nil }
            let dispBits = rng.pick([0, 8, 32])
            m = Mem(base: .reg(rng.below(16)), index: idx, scale: rng.pick([1, 2, 4, 8]),
                    disp: dispBits == 0 ? 0 : sx(rng.interesting(bits: dispBits), dispBits), addr32: addr32)
            if rng.oneIn(6) { m.dispWidth = .d32 }
            if idx == nil && rng.oneIn(6) { m.forceSIB = true }
        }
        let dst = reg(size, writable: true)
        try b.emit(inst([0x8D], size: size, reg: dst, rm: .mem(m)), "lea \(dst.name), \(m.addressText)")
    }

    mutating func genCmov(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let cc = rng.below(16)
        let src = try rm(&b, size, writable: false)
        let dst = reg(size, writable: true)
        try b.emit(inst([0x0F, 0x40 + UInt8(cc)], size: size, reg: dst, rm: src),
                   "cmov\(Condition.names[cc]) \(dst.name), \(src.text(size: size))", FlagEffect(reads: Condition.reads(cc)))
    }

    mutating func genSetcc(_ b: inout SnippetBuilder) throws {
        let cc = rng.below(16)
        let dst = try rm(&b, 1, writable: true, legacy: rng.bool())
        try b.emit(inst([0x0F, 0x90 + UInt8(cc)], size: 1, regField: 0, rm: dst),
                   "set\(Condition.names[cc]) \(dst.text(size: 1))", FlagEffect(reads: Condition.reads(cc)))
    }

    /// XLAT: AL = [RBX + AL]. RBX is the base register or is pointed into the buffer first.
    mutating func genXlat(_ b: inout SnippetBuilder) throws {
        if base != R.rbx {
            let disp = Int64(rng.range(-0x800...0x700))
            var i = Inst([0x8D], rexW: true)
            i.regField = R.rbx
            i.regOperand = Reg(R.rbx, 8)
            i.rm = .mem(Mem(base: .reg(base), disp: disp))
            try b.emit(i, "lea rbx, [\(Reg(base, 8).name)\(signedHex(disp))]")
        }
        let addr32 = layout.isLow && rng.oneIn(4)
        let wide = rng.oneIn(4)
        try b.emit(Inst([0xD7], prefixes: addr32 ? [0x67] : [], rexW: wide), addr32 ? "xlat [ebx+al]" : "xlat [rbx+al]")
    }

    mutating func genMovbe(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let (m, _) = try mem(&b, span: size)
        let store = rng.bool()
        let r = reg(size, writable: !store)
        try b.emit(inst([0x0F, 0x38, store ? 0xF1 : 0xF0], size: size, reg: r, rm: .mem(m)),
                   store ? "movbe \(m.text(size: size)), \(r.name)" : "movbe \(r.name), \(m.text(size: size))")
    }

    mutating func genSignExtendAccumulator(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let intoDX = rng.bool()
        let names = intoDX ? [2: "cwd", 4: "cdq", 8: "cqo"] : [2: "cbw", 4: "cwde", 8: "cdqe"]
        try b.emit(Inst([intoDX ? 0x99 : 0x98], prefixes: size == 2 ? [0x66] : [], rexW: size == 8), names[size] ?? "?")
    }
}
