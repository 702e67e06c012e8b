import X86

/// The decoder's 64- and 32-bit register specialisations (`Op.add64RR` ...): each case of
/// `execute` calls these with constant arguments, so every operation compiles to a few
/// loads, the operation and the lazy-flag record, with no switch on size or kind.
extension Interpreter {
    /// rm ← rm op (reg or immediate); the immediate was masked to the size by the decoder.
    @inline(always)
    func fastALU(_ p: UnsafePointer<DecodedInstruction>, _ kind: AluKind, wide: Bool, immediate: Bool) {
        let size: UInt8 = wide ? 8 : 4
        let m: UInt64 = wide ? ~0 : 0xFFFF_FFFF
        let rm = Int(p.pointee.rm & 15)
        let a = regs[rm] & m
        let b = immediate ? p.pointee.immediate : regs[Int(p.pointee.reg & 15)] & m
        let r: UInt64
        switch kind {
        case .add:
            r = (a &+ b) & m
            setLazy(.add, size: size, result: r, a: a, b: b)
        case .sub, .cmp:
            r = (a &- b) & m
            setLazy(.sub, size: size, result: r, a: a, b: b)
        case .or:
            r = a | b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        case .and:
            r = a & b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        default:  // .xor (ADC and SBB are never specialised)
            r = a ^ b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        }
        if kind != .cmp { regs[rm] = r }
    }

    /// INC/DEC of a 64- or 32-bit register. CF is preserved: it is computed only when the
    /// previous flag operation was not itself an INC or DEC (whose `carryIn` already holds it).
    @inline(always)
    func fastIncDec(_ p: UnsafePointer<DecodedInstruction>, decrement: Bool, wide: Bool) {
        let m: UInt64 = wide ? ~0 : 0xFFFF_FFFF
        let rm = Int(p.pointee.rm & 15)
        let old = regs[rm] & m
        let new = (decrement ? old &- 1 : old &+ 1) & m
        if lazy.op != .inc && lazy.op != .dec { lazy.carryIn = carryFlag ? 1 : 0 }
        regs[rm] = new
        setLazy(decrement ? .dec : .inc, size: wide ? 8 : 4, result: new, a: old, b: 1)
    }

    /// JZ (sub 4) / JNZ (sub 5).
    @inline(always)
    func fastJZ(_ p: UnsafePointer<DecodedInstruction>) {
        let zf = lazy.op == .none ? flagsBase & Self.ZF != 0 : lazy.result == 0
        conditionalJump(p, taken: zf != (p.pointee.sub & 1 == 1))
    }

    /// JB (sub 2) / JAE (sub 3).
    @inline(always)
    func fastJC(_ p: UnsafePointer<DecodedInstruction>) {
        conditionalJump(p, taken: carryFlag != (p.pointee.sub & 1 == 1))
    }

    /// A conditional branch; when taken it ends the block (it may sit inside one).
    @inline(always)
    func conditionalJump(_ p: UnsafePointer<DecodedInstruction>, taken: Bool) {
        if taken {
            rip = nextRIP(p) &+ p.pointee.immediate
            endBlock()
        } else {
            rip = nextRIP(p)
        }
    }
}
