/// CMPXCHG, CMPXCHG8B/16B, XADD, XCHG (with and without LOCK).
extension CaseGenerator {
    /// `mov dst, src` at `size` (8A/8B with a register or memory source).
    mutating func emitMovLoad(_ b: inout SnippetBuilder, _ dst: Reg, _ src: RM) throws {
        try b.emit(inst([sized(0x8A, dst.size), ], size: dst.size, reg: dst, rm: src),
                   "mov \(dst.name), \(src.text(size: dst.size))")
    }

    mutating func genCmpxchg(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let legacy = size == 1 && rng.bool()
        let dst = try rm(&b, size, writable: true, legacy: legacy)
        let src = reg(size, writable: false, legacy: legacy)
        // Half of the time make the comparison succeed by loading the accumulator from the destination.
        if rng.bool() { try emitMovLoad(&b, Reg(R.rax, size), dst) }
        let lock = lockable(rng.bool(), dst, span: size)
        try b.emit(inst([0x0F, sized(0xB0, size)], size: size, reg: src, rm: dst, lock: lock),
                   "\(lock ? "lock " : "")cmpxchg \(dst.text(size: size)), \(src.name)", .arith)
    }

    mutating func genCmpxchgDouble(_ b: inout SnippetBuilder) throws {
        let wide = features.cmpxchg16b && rng.bool()
        let width = wide ? 16 : 8
        let half = width / 2
        let (m, target) = try mem(&b, span: width, align: wide ? 16 : rng.pick([1, 4, 8]))
        if rng.bool() {
            // Expected value = current memory: the exchange succeeds.
            let rel = Int64(bitPattern: target &- layout.baseValue)
            for (r, d) in [(R.rax, rel), (R.rdx, rel + Int64(half))] {
                try emitMovLoad(&b, Reg(r, half), .mem(Mem(base: .reg(base), disp: d)))
            }
        }
        let lock = lockable(rng.bool(), .mem(m), span: width)
        var i = inst([0x0F, 0xC7], size: wide ? 8 : 4, regField: 1, rm: .mem(m), lock: lock)
        i.rexW = wide
        try b.emit(i, "\(lock ? "lock " : "")\(wide ? "cmpxchg16b" : "cmpxchg8b") \(m.text(size: width))",
                   FlagEffect(defines: FlagBits.zf))
    }

    mutating func genXadd(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        let legacy = size == 1 && rng.bool()
        let dst = try rm(&b, size, writable: true, legacy: legacy)
        let src = reg(size, writable: true, legacy: legacy)
        let lock = lockable(rng.bool(), dst, span: size)
        try b.emit(inst([0x0F, sized(0xC0, size)], size: size, reg: src, rm: dst, lock: lock),
                   "\(lock ? "lock " : "")xadd \(dst.text(size: size)), \(src.name)", .arith)
    }

    mutating func genXchg(_ b: inout SnippetBuilder) throws {
        let size = randomSize()
        if size != 1 && rng.oneIn(3) {
            // 90+r: xchg with the accumulator (90 itself is NOP, even at 32 bits).
            let r = reg(size, writable: true)
            var i = Inst([0x90], prefixes: size == 2 ? [0x66] : [], rexW: size == 8)
            i.opcodeReg = r
            try b.emit(i, "xchg \(Reg(R.rax, size).name), \(r.name)")
            return
        }
        let legacy = size == 1 && rng.bool()
        // XCHG with memory locks with or without the prefix: aligned, it never splits a line.
        let dst = try rm(&b, size, writable: true, legacy: legacy, align: size)
        let src = reg(size, writable: true, legacy: legacy)
        let lock = dst.isMemory && rng.oneIn(3)
        try b.emit(inst([sized(0x86, size)], size: size, reg: src, rm: dst, lock: lock),
                   "\(lock ? "lock " : "")xchg \(dst.text(size: size)), \(src.name)")
    }
}
