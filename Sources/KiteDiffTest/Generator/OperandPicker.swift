/// Operand choice shared by the class generators.
extension CaseGenerator {
    /// A register the test may overwrite: not RSP, not the buffer base.
    func isWritable(_ num: Int) -> Bool { num != R.rsp && num != base }

    mutating func randomSize(_ sizes: [Int] = [1, 2, 4, 8]) -> Int { rng.pick(sizes) }

    /// A register of `size` bytes. `legacy`: encodable without REX (for byte registers this
    /// allows AH/CH/DH/BH and excludes SPL..DIL and R8B..R15B).
    mutating func reg(_ size: Int, writable: Bool, legacy: Bool = false, avoid: Set<Int> = []) -> Reg {
        for _ in 0..<64 {
            let r: Reg
            if legacy {
                let code = rng.below(8)
                r = size == 1 && code >= 4 ? Reg(code - 4, 1, high: true) : Reg(code, size)
            } else {
                r = Reg(rng.below(16), size)
            }
            if avoid.contains(r.num) || (writable && !isWritable(r.num)) { continue }
            return r
        }
        return Reg(legacy ? R.rsi : 9, size)
    }

    /// Registers the memory-operand setup may use as an index: none that an instruction
    /// uses implicitly (RAX, RCX, RDX, RSI, RDI).
    private func indexPool(noREX: Bool, avoid: Set<Int>) -> [Int] {
        [R.rbx, R.rbp, 8, 9, 10, 11, 12, 13, 14, 15].filter {
            isWritable($0) && !avoid.contains($0) && !(noREX && $0 >= 8)
        }
    }

    /// `mov r64, simm32` (writes a known small value into an index register).
    mutating func emitSetIndex(_ b: inout SnippetBuilder, _ r: Int, _ value: Int64) throws {
        var i = Inst([0xC7], rexW: true)
        i.rm = .reg(Reg(r, 8))
        i.imm = le32(Int32(value))
        try b.emit(i, "mov \(Reg(r, 8).name), \(immText(UInt64(bitPattern: value), bits: 64))")
    }

    /// A memory operand addressing `span` bytes of the data buffer (aligned to `align`),
    /// in a random addressing form. Index registers it needs are loaded first (emitted into
    /// `b`). `margin` keeps the access that far from the buffer's ends (BT with a register
    /// offset reaches around its operand). Returns the operand and the address it names.
    mutating func mem(_ b: inout SnippetBuilder, span: Int, align: Int = 1, noREX: Bool = false,
                      avoid: Set<Int> = [], margin: Int = 0x40) throws -> (Mem, UInt64) {
        let size = Int(Layout.bufferSize)
        var off = rng.range(margin...(size - margin - span))
        if rng.oneIn(3) { off = size / 2 + rng.range(-64...64) }  // near the base, for disp8 forms
        off -= off % align
        let target = layout.buffer + UInt64(off)
        let rel = Int64(bitPattern: target &- layout.baseValue)
        let pool = indexPool(noREX: noREX, avoid: avoid)
        let low = layout.isLow
        var m: Mem
        switch rng.below(21) {
        case 0..<7 where !(noREX && base >= 8):
            m = Mem(base: .reg(base), disp: rel)
            if rng.oneIn(8) { m.forceSIB = true }
        case 7..<11 where !pool.isEmpty && !(noREX && base >= 8):
            let idx = rng.pick(pool)
            let scale = rng.pick([1, 2, 4, 8])
            let v = Int64(rng.range(-64...64))
            try emitSetIndex(&b, idx, v)
            m = Mem(base: .reg(base), index: idx, scale: scale, disp: rel - v * Int64(scale))
        case 11 where !pool.isEmpty && !(noREX && base >= 8):
            // The base register as the index, another register as the base.
            let other = rng.pick(pool)
            let v = Int64(rng.range(-256...256))
            try emitSetIndex(&b, other, v)
            m = Mem(base: .reg(other), index: base, scale: 1, disp: rel - v)
        case 12, 13:
            m = Mem(base: .ripTarget(target))
        case 14 where low:
            m = Mem(base: .none, disp: Int64(target))
        case 15 where low && !pool.isEmpty:
            let idx = rng.pick(pool)
            let scale = rng.pick([1, 2, 4, 8])
            let v = Int64(rng.range(0...256))
            try emitSetIndex(&b, idx, v)
            m = Mem(base: .none, index: idx, scale: scale, disp: Int64(target) - v * Int64(scale))
        case 16 where low && !(noREX && base >= 8):
            m = Mem(base: .reg(base), disp: rel, addr32: true)
        case 17 where low && !pool.isEmpty && !(noREX && base >= 8):
            // 32-bit address with an index whose upper half is garbage (ignored) and whose low
            // half may be negative (the sum wraps at 4 GiB).
            let idx = rng.pick(pool)
            let scale = rng.pick([1, 2, 4, 8])
            let v = Int64(rng.range(-64...64))
            let value = (rng.next() << 32) | (UInt64(bitPattern: v) & 0xFFFF_FFFF)
            try emitMovImm(&b, Reg(idx, 8), value)
            m = Mem(base: .reg(base), index: idx, scale: scale, disp: rel - v * Int64(scale), addr32: true)
        case 18 where low:
            m = Mem(base: .ripTarget(target), addr32: true)
        default:
            m = Mem(base: .ripTarget(target))
        }
        switch rng.below(10) {
        case 0, 1: m.dispWidth = .d32
        case 2: if Int8(exactly: m.disp) != nil { m.dispWidth = .d8 }
        default: break
        }
        if rng.oneIn(12) { m.segmentPrefix = rng.pick([0x2E, 0x36, 0x3E, 0x26]) }
        m.target = target
        return (m, target)
    }

    /// A register or (half of the time) a buffer memory operand.
    mutating func rm(_ b: inout SnippetBuilder, _ size: Int, writable: Bool, legacy: Bool = false,
                     avoid: Set<Int> = [], memoryOnly: Bool = false, align: Int = 1) throws -> RM {
        if !memoryOnly && rng.bool() { return .reg(reg(size, writable: writable, legacy: legacy, avoid: avoid)) }
        if rng.oneIn(8) {
            // [rsp+disp]: the test stack (RSP drifts by less than 4 KiB during a test, and
            // there are 24 KiB below and 8 KiB above its start). POP [rsp+d] and the like
            // must compute the address with the right RSP.
            var m = Mem(base: .reg(R.rsp), disp: Int64(rng.range(-128...128) / align * align))
            if rng.oneIn(4) { m.dispWidth = .d32 }
            return .mem(m)
        }
        return .mem(try mem(&b, span: size, align: align, noREX: legacy, avoid: avoid).0)
    }

    /// Whether `chance` may put LOCK on an access of `span` bytes at `offset` from `operand`:
    /// only where the access stays within one 64-byte line. A split lock is a bus lock, which
    /// Linux's split-lock detection traps on (about 0.6 ms each on a virtual machine, and a
    /// kernel warning) without telling us anything about the engine.
    func lockable(_ chance: Bool, _ operand: RM, span: Int, offset: Int64 = 0) -> Bool {
        guard chance, case .mem(let m) = operand, let target = m.target else { return false }
        let first = target &+ UInt64(bitPattern: offset)
        return first / 64 == (first &+ UInt64(span) &- 1) / 64
    }

    /// An instruction with the operand-size prefix or REX.W `size` needs, optionally LOCK,
    /// and now and then a redundant REX prefix.
    mutating func inst(_ opcode: [UInt8], size: Int, reg: Reg? = nil, regField: Int? = nil, rm: RM? = nil,
                       imm: [UInt8] = [], lock: Bool = false, mandatory: [UInt8] = []) -> Inst {
        var i = Inst(opcode, rexW: size == 8)
        var p: [UInt8] = []
        if lock { p.append(0xF0) }
        if size == 2 { p.append(0x66) }
        if p.count == 2 && rng.bool() { p.reverse() }
        i.prefixes = p + mandatory
        if let reg {
            i.regOperand = reg
            i.regField = reg.code
        }
        if let regField { i.regField = regField }
        i.rm = rm
        i.imm = imm
        let hasHigh = reg?.high == true || rm?.register?.high == true
        if !hasHigh && rng.oneIn(10) { i.extraREX = true }
        // REX.W wins over a redundant operand-size prefix.
        if size == 8 && rng.oneIn(12) { i.prefixes.insert(0x66, at: 0) }
        // A REX before the legacy prefixes is ignored.
        if !i.prefixes.isEmpty && rng.oneIn(16) { i.staleREX = 0x40 | UInt8(rng.below(16)) }
        return i
    }

    /// Opcode byte for the byte form `op8` or its word/dword/qword form (`op8 + 1`).
    func sized(_ op8: UInt8, _ size: Int) -> UInt8 { size == 1 ? op8 : op8 + 1 }

    /// An immediate of up to 4 bytes for an operand of `size` (64-bit operands take a
    /// sign-extended imm32), as bytes and as the value it stands for.
    mutating func immediate(_ size: Int, byteSignExtended: Bool = false) -> (bytes: [UInt8], text: String) {
        let bits = byteSignExtended ? 8 : min(size, 4) * 8
        let v = rng.interesting(bits: bits)
        return (immBytes(v, size: bits / 8), immText(v, bits: bits))
    }

    /// A filler instruction that changes a register without touching flags (skipped or not
    /// by a branch): MOV r32, imm32 / NOT r64 / BSWAP r32 / LEA r64, [r64+disp8].
    mutating func filler(avoid: Set<Int> = []) throws -> (Inst, String) {
        let r = reg(8, writable: true, avoid: avoid)
        switch rng.below(4) {
        case 0:
            var i = Inst([0xB8])
            i.opcodeReg = Reg(r.num, 4)
            let v = rng.next() & 0xFFFF_FFFF
            i.imm = le32(v)
            return (i, "mov \(Reg(r.num, 4).name), \(hex(v))")
        case 1:
            var i = Inst([0xF7], rexW: true)
            i.regField = 2
            i.rm = .reg(r)
            return (i, "not \(r.name)")
        case 2:
            var i = Inst([0x0F, 0xC8])
            i.opcodeReg = Reg(r.num, 4)
            return (i, "bswap \(Reg(r.num, 4).name)")
        default:
            let src = rng.below(16)
            let d = Int64(rng.range(-128...127))
            var i = Inst([0x8D], rexW: true)
            i.regField = r.num
            i.regOperand = r
            i.rm = .mem(Mem(base: .reg(src), disp: d))
            return (i, "lea \(r.name), [\(Reg(src, 8).name)\(signedHex(d))]")
        }
    }
}

/// An immediate as a (signed, when its top bit is set) hex number.
func immText(_ v: UInt64, bits: Int) -> String {
    let shift = UInt64(64 - bits)
    let s = Int64(bitPattern: v << shift) >> Int64(shift)
    return s < 0 ? "-0x" + String(s.magnitude, radix: 16) : "0x" + String(s, radix: 16)
}

/// Condition codes: mnemonic suffix and the flags each one reads.
enum Condition {
    static let names = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
    static func reads(_ cc: Int) -> UInt64 {
        switch cc >> 1 {
        case 0: FlagBits.of
        case 1: FlagBits.cf
        case 2: FlagBits.zf
        case 3: FlagBits.cf | FlagBits.zf
        case 4: FlagBits.sf
        case 5: FlagBits.pf
        case 6: FlagBits.sf | FlagBits.of
        default: FlagBits.zf | FlagBits.sf | FlagBits.of
        }
    }
}
