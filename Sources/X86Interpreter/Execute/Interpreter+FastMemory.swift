import X86

/// The decoder's memory specialisations (`Op.load64` ...): a 64-bit address without segment
/// override, one inline TLB probe, and the general handler only when that misses in a way
/// the slow paths must judge (page crossing, code frames, faults).
extension Interpreter {
    /// base + index·scale + displacement (absent registers read zero slots; see `regs`).
    @inline(always)
    func plainAddress(_ p: UnsafePointer<DecodedInstruction>) -> UInt64 {
        let ea = p.pointee.displacement &+ regs[Int(p.pointee.base & 31)]
            &+ (regs[Int(p.pointee.index & 31)] &<< UInt64(p.pointee.scale & 3))
        return p.pointee.base == DecodedInstruction.ripBase ? ea &+ rip &+ UInt64(p.pointee.length) : ea
    }

    /// MOV r, m.
    @inline(always)
    func fastLoad(_ p: UnsafePointer<DecodedInstruction>, wide: Bool) throws(CPUEvent) {
        let v = try read(plainAddress(p), wide ? 8 : 4)
        regs[Int(p.pointee.reg & 15)] = v  // a 32-bit load zero-extends
    }

    /// MOV m, r and MOV m, imm (masked by the decoder).
    @inline(always)
    func fastStore(_ p: UnsafePointer<DecodedInstruction>, wide: Bool, immediate: Bool) throws(CPUEvent) {
        let v = immediate ? p.pointee.immediate : regs[Int(p.pointee.reg & 15)] & (wide ? ~0 : 0xFFFF_FFFF)
        try write(plainAddress(p), wide ? 8 : 4, v)
    }

    /// ALU m, r / ALU m, imm: one translation for the read and the write. CMP only reads.
    @inline(always)
    func fastALUMemory(_ p: UnsafePointer<DecodedInstruction>, wide: Bool, immediate: Bool) throws(CPUEvent) {
        let size: UInt8 = wide ? 8 : 4
        let m: UInt64 = wide ? ~0 : 0xFFFF_FFFF
        let la = plainAddress(p)
        let b = immediate ? p.pointee.immediate : regs[Int(p.pointee.reg & 15)] & m
        let kind = p.pointee.sub
        if kind == AluKind.cmp.rawValue {
            let a = try read(la, size)
            setLazy(.sub, size: size, result: (a &- b) & m, a: a, b: b)
            return
        }
        guard let ptr = try writablePointer(la, size) else {
            try executeALU(p)  // crosses a page or hits decoded code
            return
        }
        let a = wide ? Self.load(ptr, 8) : Self.load(ptr, 4)
        let r: UInt64
        switch kind {
        case AluKind.add.rawValue:
            r = (a &+ b) & m
            setLazy(.add, size: size, result: r, a: a, b: b)
        case AluKind.sub.rawValue:
            r = (a &- b) & m
            setLazy(.sub, size: size, result: r, a: a, b: b)
        case AluKind.or.rawValue:
            r = a | b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        case AluKind.and.rawValue:
            r = a & b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        default:  // .xor (ADC and SBB are never specialised)
            r = a ^ b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        }
        if wide { Self.store(ptr, 8, r) } else { Self.store(ptr, 4, r) }
    }

    /// ALU r, m (CMP r, m writes no register).
    @inline(always)
    func fastALULoad(_ p: UnsafePointer<DecodedInstruction>, wide: Bool) throws(CPUEvent) {
        let size: UInt8 = wide ? 8 : 4
        let m: UInt64 = wide ? ~0 : 0xFFFF_FFFF
        let b = try read(plainAddress(p), size)
        let g = Int(p.pointee.reg & 15)
        let a = regs[g] & m
        let r: UInt64
        switch p.pointee.sub {
        case AluKind.add.rawValue:
            r = (a &+ b) & m
            setLazy(.add, size: size, result: r, a: a, b: b)
        case AluKind.sub.rawValue, AluKind.cmp.rawValue:
            r = (a &- b) & m
            setLazy(.sub, size: size, result: r, a: a, b: b)
            if p.pointee.sub == AluKind.cmp.rawValue { return }
        case AluKind.or.rawValue:
            r = a | b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        case AluKind.and.rawValue:
            r = a & b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        default:
            r = a ^ b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        }
        regs[g] = r
    }

    /// PUSH r64. A TLB hit means the stack address is canonical and writable.
    @inline(always)
    func fastPush(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let sp = regs[GPR.rsp.rawValue] &- 8
        let e = tlb.write + SoftTLB.slot(sp)
        if e.pointee.tag == hitTag(sp, 8), let h = e.pointee.host {
            Self.store(h + Int(sp & 0xFFF), 8, regs[Int(p.pointee.rm & 15)])  // PUSH RSP pushes the old value
            regs[GPR.rsp.rawValue] = sp
            return
        }
        try executePush(p)
    }

    /// POP r64 (POP RSP loads the popped value).
    @inline(always)
    func fastPop(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let sp = regs[GPR.rsp.rawValue]
        let e = tlb.read + SoftTLB.slot(sp)
        if e.pointee.tag == hitTag(sp, 8), let h = e.pointee.host {
            let v = Self.load(h + Int(sp & 0xFFF), 8)
            regs[GPR.rsp.rawValue] = sp &+ 8
            regs[Int(p.pointee.rm & 15)] = v
            return
        }
        try executePop(p)
    }

    /// CALL rel32 with a 64-bit operand size.
    @inline(always)
    func fastCall(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let next = nextRIP(p)
        let target = next &+ p.pointee.immediate
        let sp = regs[GPR.rsp.rawValue] &- 8
        let e = tlb.write + SoftTLB.slot(sp)
        if isCanonical(target), e.pointee.tag == hitTag(sp, 8), let h = e.pointee.host {
            Self.store(h + Int(sp & 0xFFF), 8, next)
            regs[GPR.rsp.rawValue] = sp
            rip = target
            return
        }
        try executeBranch(p)
    }

    /// RET (imm16) with a 64-bit operand size.
    @inline(always)
    func fastReturn(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let sp = regs[GPR.rsp.rawValue]
        let e = tlb.read + SoftTLB.slot(sp)
        if e.pointee.tag == hitTag(sp, 8), let h = e.pointee.host {
            let target = Self.load(h + Int(sp & 0xFFF), 8)
            if isCanonical(target) {
                regs[GPR.rsp.rawValue] = sp &+ 8 &+ (p.pointee.immediate & 0xFFFF)
                rip = target
                return
            }
        }
        try executeBranch(p)
    }
}
