/// ROL/ROR/RCL/RCR/SHL/SHR/SAR by 1, CL and imm8, and SHLD/SHRD, with counts 0, 1, the
/// operand width and beyond.
extension CaseGenerator {
    private static let shiftNames = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"]

    /// A raw count biased to the edges of the masked count and of the operand width.
    private mutating func shiftCount(bits: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: rng.pick([0, 1, 1, 2, bits - 1, bits, bits + 1, 31, 32, 33, 63, 64, 65,
                                            rng.below(256), rng.below(32), rng.below(bits)]))
    }

    /// Flags after a shift/rotate of `kind` by masked count `c` on a `bits`-wide operand
    /// (SDM: nothing changes for count 0; OF defined only for count 1; AF undefined after
    /// shifts; CF undefined after SHL/SHR by the width or more).
    private static func shiftFlags(kind: Int, count c: Int, bits: Int) -> FlagEffect {
        guard c != 0 else { return .none }
        let ofDefined = c == 1
        var f = FlagEffect()
        f.defines = FlagBits.cf | (ofDefined ? FlagBits.of : 0)
        f.undefines = ofDefined ? 0 : FlagBits.of
        switch kind {
        case 0, 1: break
        case 2, 3: f.reads = FlagBits.cf
        default:
            f.defines |= FlagBits.sf | FlagBits.zf | FlagBits.pf
            f.undefines |= FlagBits.af
            if kind != 7 && c >= bits {
                f.defines &= ~FlagBits.cf
                f.undefines |= FlagBits.cf
            }
        }
        return f
    }

    /// `mov cl, n` or `mov ecx, n`.
    private mutating func emitSetCount(_ b: inout SnippetBuilder, _ n: UInt8) throws {
        try emitMovImm(&b, rng.bool() ? Reg(R.rcx, 1) : Reg(R.rcx, 4), UInt64(n))
    }

    mutating func genShift(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let bits = size * 8
        let kind = rng.oneIn(16) ? 6 : rng.pick([0, 1, 2, 3, 4, 5, 7])
        let name = Self.shiftNames[kind]
        let mode = rng.below(3)  // 0: by 1, 1: by CL, 2: by imm8
        let raw: UInt8 = mode == 0 ? 1 : shiftCount(bits: bits)
        if mode == 1 { try emitSetCount(&b, raw) }
        let dst = try rm(&b, size, writable: true, legacy: size == 1 && rng.bool())
        let c = Int(raw) & (size == 8 ? 63 : 31)
        let flags = Self.shiftFlags(kind: kind, count: c, bits: bits)
        let text = dst.text(size: size)
        switch mode {
        case 0:
            try b.emit(inst([sized(0xD0, size)], size: size, regField: kind, rm: dst), "\(name) \(text), 1", flags)
        case 1:
            try b.emit(inst([sized(0xD2, size)], size: size, regField: kind, rm: dst), "\(name) \(text), cl", flags)
        default:
            try b.emit(inst([sized(0xC0, size)], size: size, regField: kind, rm: dst, imm: [raw]),
                       "\(name) \(text), \(raw)", flags)
        }
    }

    mutating func genShiftDouble(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let bits = size * 8
        let right = rng.bool()
        let byCL = rng.bool()
        var raw = shiftCount(bits: bits)
        // A 16-bit SHLD/SHRD by more than 16 leaves the result undefined.
        if size == 2 && Int(raw) & 31 > 16 { raw = UInt8(rng.below(17)) }
        if byCL { try emitSetCount(&b, raw) }
        let dst = try rm(&b, size, writable: true)
        let src = reg(size, writable: false)
        let c = Int(raw) & (size == 8 ? 63 : 31)
        var flags = FlagEffect.none
        if c != 0 {
            flags = FlagEffect(defines: FlagBits.cf | FlagBits.sf | FlagBits.zf | FlagBits.pf | (c == 1 ? FlagBits.of : 0),
                               undefines: FlagBits.af | (c == 1 ? 0 : FlagBits.of))
        }
        let name = right ? "shrd" : "shld"
        let opcode: UInt8 = (right ? 0xAC : 0xA4) + (byCL ? 1 : 0)
        try b.emit(inst([0x0F, opcode], size: size, reg: src, rm: dst, imm: byCL ? [] : [raw]),
                   "\(name) \(dst.text(size: size)), \(src.name), \(byCL ? "cl" : "\(raw)")", flags)
    }
}
