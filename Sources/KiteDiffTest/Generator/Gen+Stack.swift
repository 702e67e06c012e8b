/// PUSH/POP (64- and 16-bit, register, memory and immediate forms), ENTER/LEAVE, PUSHF/POPF.
extension CaseGenerator {
    mutating func genPushPop(_ b: inout SnippetBuilder) throws {
        for _ in 0..<rng.range(1...3) {
            let size = rng.oneIn(4) ? 2 : 8
            let p16: [UInt8] = size == 2 ? [0x66] : []
            switch rng.below(7) {
            case 0, 1:  // push r (RSP and the base included)
                let r = reg(size, writable: false)
                var i = Inst([0x50], prefixes: p16)
                i.opcodeReg = r
                try b.emit(i, "push \(r.name)")
            case 2:  // push imm8 / imm16 / imm32
                let short = rng.bool()
                var i = Inst([short ? 0x6A : 0x68], prefixes: p16)
                let bits = short ? 8 : (size == 2 ? 16 : 32)
                let v = rng.interesting(bits: bits)
                i.imm = immBytes(v, size: bits / 8)
                try b.emit(i, "push\(size == 2 ? "w" : "") \(immText(v, bits: bits))")
            case 3:  // push r/m (FF /6)
                let src = try rm(&b, size, writable: false)
                try b.emit(inst([0xFF], size: size == 2 ? 2 : 4, regField: 6, rm: src), "push \(src.text(size: size))")
            case 4, 5:  // pop r
                let r = reg(size, writable: true)
                var i = Inst([0x58], prefixes: p16)
                i.opcodeReg = r
                try b.emit(i, "pop \(r.name)")
            default:  // pop r/m (8F /0)
                let dst = try rm(&b, size, writable: true)
                try b.emit(inst([0x8F], size: size == 2 ? 2 : 4, regField: 0, rm: dst), "pop \(dst.text(size: size))")
            }
        }
    }

    /// `lea rbp, [rsp+k]`: a frame pointer inside the test stack.
    private mutating func emitFramePointer(_ b: inout SnippetBuilder) throws {
        let k = Int64(rng.range(0...32) * 8 + (rng.oneIn(4) ? rng.below(8) : 0))
        var i = Inst([0x8D], rexW: true)
        i.regField = R.rbp
        i.regOperand = Reg(R.rbp, 8)
        i.rm = .mem(Mem(base: .reg(R.rsp), disp: k))
        try b.emit(i, "lea rbp, [rsp\(signedHex(k))]")
    }

    mutating func genEnterLeave(_ b: inout SnippetBuilder) throws {
        // 16-bit ENTER/LEAVE change only BP/SP's low half: allowed when the stack cannot
        // leave its 64 KiB block that way.
        let stackBlockFixed = layout.stack >> 16 == (layout.stack + Layout.stackSize - 1) >> 16
        let o16 = stackBlockFixed && rng.oneIn(5)
        let p16: [UInt8] = o16 ? [0x66] : []
        let doEnter = rng.bool()
        let doLeave = !doEnter || rng.bool()
        try emitFramePointer(&b)
        if doEnter {
            let frame = UInt64(rng.pick([0, 8, 16, 0x40, 0x100, rng.below(0x200)]))
            let level = rng.oneIn(8) ? rng.range(5...40) : rng.pick([0, 0, 1, 2, 3, 4])  // the CPU takes it mod 32
            var i = Inst([0xC8], prefixes: p16)
            i.imm = le16(frame) + [UInt8(level)]
            try b.emit(i, "enter\(o16 ? "w" : "") \(hex(frame)), \(level)")
        }
        if doLeave {
            try b.emit(Inst([0xC9], prefixes: p16), "leave\(o16 ? "w" : "")")
        }
    }

    /// Flag bits a test may load with POPF at CPL 3: status, DF and IF (which POPF leaves
    /// alone at IOPL 0); never TF, NT, AC or ID.
    private static let popfMask: UInt64 = FlagBits.status | FlagBits.df | FlagBits.if

    mutating func genPushfPopf(_ b: inout SnippetBuilder) throws {
        let o16 = rng.oneIn(4)
        let p16: [UInt8] = o16 ? [0x66] : []
        let w = o16 ? "w" : "q"
        let readAll = FlagEffect(reads: FlagBits.status)
        switch rng.below(4) {
        case 0:  // pushf; pop r
            try b.emit(Inst([0x9C], prefixes: p16), "pushf\(w)", readAll)
            if rng.bool() {
                let r = reg(o16 ? 2 : 8, writable: true)
                var i = Inst([0x58], prefixes: p16)
                i.opcodeReg = r
                try b.emit(i, "pop \(r.name)")
            }
        case 1:  // pushf; popf
            try b.emit(Inst([0x9C], prefixes: p16), "pushf\(w)", readAll)
            try b.emit(Inst([0x9D], prefixes: p16), "popf\(w)", FlagEffect(defines: FlagBits.status))
        default:  // push imm; popf
            let v = (rng.next() & Self.popfMask) | 2
            var i = Inst([0x68], prefixes: p16)
            i.imm = immBytes(v, size: o16 ? 2 : 4)
            try b.emit(i, "push\(o16 ? "w" : "") \(hex(v))")
            try b.emit(Inst([0x9D], prefixes: p16), "popf\(w)", FlagEffect(defines: FlagBits.status))
        }
    }
}
