/// BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT/POPCNT and BSWAP.
extension CaseGenerator {
    private static let btNames = ["bt", "bts", "btr", "btc"]
    private static let btFlags = FlagEffect(defines: FlagBits.cf, undefines: FlagBits.of | FlagBits.sf | FlagBits.af | FlagBits.pf)

    mutating func genBitTest(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let op = rng.below(4)
        let name = Self.btNames[op]
        let writes = op != 0
        switch rng.below(4) {
        case 0:  // register destination, register offset (taken modulo the width)
            let dst = reg(size, writable: writes)
            let off = reg(size, writable: false)
            try b.emit(inst([0x0F, 0xA3 + UInt8(op * 8)], size: size, reg: off, rm: .reg(dst)),
                       "\(name) \(dst.name), \(off.name)", Self.btFlags)
        case 1, 2:  // register or memory destination, imm8 offset
            let dst = try rm(&b, size, writable: writes)
            let lock = lockable(writes && rng.oneIn(3), dst, span: size)
            let imm = UInt8(truncatingIfNeeded: rng.pick([rng.below(256), rng.below(size * 8), size * 8 - 1, size * 8]))
            try b.emit(inst([0x0F, 0xBA], size: size, regField: 4 + op, rm: dst, imm: [imm], lock: lock),
                       "\(lock ? "lock " : "")\(name) \(dst.text(size: size)), \(imm)", Self.btFlags)
        default:  // memory destination, register offset: a signed bit string index
            let offReg = reg(size, writable: true)
            let (m, _) = try mem(&b, span: size, avoid: [offReg.num], margin: 0x100)
            let bitOffset = rng.range(-1024...1023)
            let v = UInt64(bitPattern: Int64(bitOffset))
            if size == 8 {
                try emitSetIndex(&b, offReg.num, Int64(bitOffset))
            } else {
                try emitMovImm(&b, offReg, v & mask(size))
            }
            // The operand-sized chunk holding the bit: the offset divided by the width, rounded down.
            let chunk = Int64(bitOffset >> (size == 2 ? 4 : size == 4 ? 5 : 6)) * Int64(size)
            let lock = lockable(writes && rng.oneIn(3), .mem(m), span: size, offset: chunk)
            try b.emit(inst([0x0F, 0xA3 + UInt8(op * 8)], size: size, reg: offReg, rm: .mem(m), lock: lock),
                       "\(lock ? "lock " : "")\(name) \(m.text(size: size)), \(offReg.name)", Self.btFlags)
        }
    }

    /// Makes the source of a scan/count zero now and then (BSF/BSR leave the destination
    /// unchanged then, TZCNT/LZCNT return the width).
    private mutating func scanSource(_ b: inout SnippetBuilder, _ size: Int, avoid: Set<Int> = []) throws -> RM {
        let src = try rm(&b, size, writable: false, avoid: avoid)
        guard rng.oneIn(4) else { return src }
        switch src {
        case .reg(let r) where isWritable(r.num):
            try emitMovImm(&b, r, 0)
        case .mem(let m):
            try b.emit(inst([0xC7], size: size, regField: 0, rm: .mem(m), imm: immBytes(0, size: min(size, 4))),
                       "mov \(m.text(size: size)), 0x0")
        default: break
        }
        return src
    }

    mutating func genBitScan(_ b: inout SnippetBuilder) throws {
        let size = randomSize([2, 4, 8])
        let reverse = rng.bool()
        let src = try scanSource(&b, size)
        let dst = reg(size, writable: true)
        try b.emit(inst([0x0F, reverse ? 0xBD : 0xBC], size: size, reg: dst, rm: src),
                   "\(reverse ? "bsr" : "bsf") \(dst.name), \(src.text(size: size))",
                   FlagEffect(defines: FlagBits.zf, undefines: FlagBits.status & ~FlagBits.zf))
    }

    mutating func genBitCount(_ b: inout SnippetBuilder) throws {
        var ops: [(UInt8, String, FlagEffect)] = []
        let countFlags = FlagEffect(defines: FlagBits.cf | FlagBits.zf, undefines: FlagBits.of | FlagBits.sf | FlagBits.pf | FlagBits.af)
        if features.bmi1 { ops.append((0xBC, "tzcnt", countFlags)) }
        if features.lzcnt { ops.append((0xBD, "lzcnt", countFlags)) }
        if features.popcnt { ops.append((0xB8, "popcnt", .arith)) }
        let (opcode, name, flags) = rng.pick(ops)
        let size = randomSize([2, 4, 8])
        let src = try scanSource(&b, size)
        let dst = reg(size, writable: true)
        try b.emit(inst([0x0F, opcode], size: size, reg: dst, rm: src, mandatory: [0xF3]),
                   "\(name) \(dst.name), \(src.text(size: size))", flags)
    }

    mutating func genBswap(_ b: inout SnippetBuilder) throws {
        let size = randomSize([4, 8])
        let r = reg(size, writable: true)
        var i = Inst([0x0F, 0xC8], rexW: size == 8)
        i.opcodeReg = r
        try b.emit(i, "bswap \(r.name)")
    }
}
