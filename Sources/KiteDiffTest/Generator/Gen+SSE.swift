import X86

/// SSE/SSE2 (what the engine implements; CPUID does not report it yet): moves, logic,
/// packed integers and floating point on random XMM contents, with register and buffer
/// operands (16-byte aligned for the forms that need it). MXCSR keeps every exception
/// masked, with random rounding, DAZ and FTZ.
extension CaseGenerator {
    /// The initial XMM registers and MXCSR (into an FXSAVE image's FPUState).
    mutating func randomizeSSE(_ s: inout FPUState) {
        for i in 0..<16 { s.xmm[i] = XMMRegister(low: sseLanes(), high: sseLanes()) }
        s.mxcsr = 0x1F80 | UInt32(rng.below(4)) << 13 | (rng.oneIn(4) ? 1 << 6 : 0) | (rng.oneIn(4) ? 1 << 15 : 0)
    }

    /// A quadword of lanes: integers of every shape, or one double or two singles.
    mutating func sseLanes() -> UInt64 {
        switch rng.below(6) {
        case 0: return rng.interesting(bits: 64)
        case 1: return rng.pick([0, ~0, 0x8080_8080_8080_8080, 0x00FF_00FF_00FF_00FF])
        case 2:
            let single = { (r: inout SplitMix64) -> UInt64 in UInt64(r.pick([0, 0x8000_0000, 0x7F80_0000, 0x7FC0_0000, 1])) | (r.next() & 0x807F_FFFF) | UInt64(r.range(100...150)) << 23 }
            return single(&rng) & 0xFFFF_FFFF | single(&rng) << 32
        case 3: return rng.next() & 0x800F_FFFF_FFFF_FFFF | UInt64(rng.range(1000...1050)) << 52
        default: return rng.next()
        }
    }

    mutating func genSSE(_ b: inout SnippetBuilder) throws {
        for _ in 0..<rng.range(1...4) {
            let (prefix, opcode, form) = sseForm()
            var i = Inst([0x0F, opcode], prefixes: prefix.map { [$0] } ?? [])
            let gpr = form.contains("g") || form.contains("G")
            i.rexW = gpr && rng.bool()
            let regNumber = form.contains("G") ? reg(i.rexW ? 8 : 4, writable: true).num : rng.below(16)
            i.regField = form == "s" ? rng.pick(opcode == 0x73 ? [2, 3, 6, 7] : [2, 4, 6]) : regNumber
            let useMemory = form.contains("m") && (!form.contains("r") || rng.bool())
            if useMemory {
                let (m, _) = try mem(&b, span: 16, align: 16)
                i.rm = .mem(m)
            } else if form.contains("g") {
                // MOVD/MOVQ r/m, xmm (66 0F 7E) writes it: never RSP or the buffer base.
                i.rm = .reg(reg(i.rexW ? 8 : 4, writable: opcode == 0x7E))
            } else {
                i.rm = .reg(Reg(rng.below(16), 8))
            }
            if form.contains("i") || form == "s" { i.imm = [UInt8(truncatingIfNeeded: rng.oneIn(3) ? rng.next() & 7 : rng.next())] }
            let compare = opcode == 0x2E || opcode == 0x2F
            try b.emit(i, "sse \(prefix.map { hex(UInt64($0)) } ?? "np") 0f \(hex(UInt64(opcode)))", compare ? FlagEffect(defines: FlagBits.status) : .none)
        }
    }

    /// (mandatory prefix, opcode, form): "r"/"m" register or memory r/m, "i" imm8, "g" a
    /// general register in r/m, "G" one in reg, "s" a shift group (register, /digit, imm8).
    private mutating func sseForm() -> (UInt8?, UInt8, String) {
        switch rng.below(5) {
        case 0:
            let o = rng.pick([0x10, 0x11, 0x14, 0x15, 0x28, 0x29, 0x54, 0x55, 0x56, 0x57] as [UInt8])
            return (rng.pick([nil, 0x66]), o, "rm")
        case 1:
            let integer: [UInt8] = Array(0x60...0x6D) + [0x6F, 0x74, 0x75, 0x76, 0x7F, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD8, 0xD9, 0xDA, 0xDB,
                                                          0xDC, 0xDD, 0xDE, 0xDF, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB,
                                                          0xEC, 0xED, 0xEE, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF8, 0xF9, 0xFA, 0xFB,
                                                          0xFC, 0xFD, 0xFE]
            return (0x66, rng.pick(integer), "rm")
        case 2:
            return rng.pick([(0x66, 0x70, "rmi"), (0xF3, 0x70, "rmi"), (0xF2, 0x70, "rmi"), (nil, 0xC6, "rmi"), (0x66, 0xC6, "rmi"),
                             (0x66, 0x71, "s"), (0x66, 0x72, "s"), (0x66, 0x73, "s"), (0x66, 0x6E, "g"), (0x66, 0x7E, "g"),
                             (0xF3, 0x7E, "rm"), (0x66, 0xD6, "rm"), (0xF3, 0x6F, "rm"), (0xF3, 0x7F, "rm"), (0x66, 0xD7, "rG"),
                             (nil, 0x50, "rG"), (0x66, 0xC5, "rGi"), (0x66, 0xC4, "gi")])
        case 3:
            let prefix = rng.pick([nil, 0xF3, 0x66, 0xF2] as [UInt8?])
            let opcode = rng.pick([0x51, 0x58, 0x59, 0x5A, 0x5C, 0x5D, 0x5E, 0x5F, 0xC2] as [UInt8])
            return (prefix, opcode, opcode == 0xC2 ? "rmi" : "rm")
        default:
            return rng.pick([(nil, 0x5B, "rm"), (0x66, 0x5B, "rm"), (0xF3, 0x5B, "rm"), (0x66, 0xE6, "rm"), (0xF3, 0xE6, "rm"),
                             (0xF2, 0xE6, "rm"), (nil, 0x2E, "rm"), (0x66, 0x2F, "rm"), (0xF3, 0x2A, "g"), (0xF2, 0x2A, "g"),
                             (0xF3, 0x2D, "rmG"), (0xF2, 0x2C, "rmG")])
        }
    }
}
