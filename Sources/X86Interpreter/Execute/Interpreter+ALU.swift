import X86

extension Interpreter {
    /// ADD OR ADC SBB AND SUB XOR CMP with a memory operand, with lazy flags.
    func executeALU(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let m = sizeMask(size)
        let kind = d.sub
        // Register-only forms were specialised by the decoder (aluRegReg, aluRegImm).
        if d.flags.contains(.regIsDestination) {
            let a = reg(d.reg, size)
            let b = try readE(p)
            let r = aluCompute(kind, a, b, size: size)
            if kind != AluKind.cmp.rawValue { setReg(d.reg, size, r) }
            return
        }
        let b = d.flags.contains(.sourceImmediate) ? d.immediate & m : reg(d.reg, size)
        if kind == AluKind.cmp.rawValue {
            _ = aluCompute(kind, try readE(p), b, size: size)
            return
        }
        // Memory destination: one read-modify-write (atomic with LOCK). ADC/SBB read CF
        // before the operation so the transform stays pure.
        let carry: UInt64 = (kind == AluKind.adc.rawValue || kind == AluKind.sbb.rawValue) && carryFlag ? 1 : 0
        let (old, new) = try modifyE(p) { a in Self.aluResult(kind, a, b, carry: carry, mask: m) }
        recordALUFlags(kind, old, b, new, carry: carry, size: size)
    }

    /// Computes an ALU result and records its flags, in one switch (the hot path).
    @inline(__always)
    func aluCompute(_ kind: UInt8, _ a: UInt64, _ b: UInt64, size: UInt8) -> UInt64 {
        let m = sizeMask(size)
        let r: UInt64
        switch kind {
        case 0:
            r = (a &+ b) & m
            setLazy(.add, size: size, result: r, a: a, b: b)
        case 2, 3:
            let carry: UInt64 = carryFlag ? 1 : 0
            r = Self.aluResult(kind, a, b, carry: carry, mask: m)
            setLazy(kind == 2 ? .adc : .sbb, size: size, result: r, a: a, b: b)
            lazy.carryIn = carry
        case 5, 7:
            r = (a &- b) & m
            setLazy(.sub, size: size, result: r, a: a, b: b)
        case 1:
            r = a | b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        case 4:
            r = a & b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        default:
            r = a ^ b
            setLazy(.logic, size: size, result: r, a: a, b: b)
        }
        return r
    }

    @inline(__always)
    static func aluResult(_ kind: UInt8, _ a: UInt64, _ b: UInt64, carry: UInt64, mask: UInt64) -> UInt64 {
        switch kind {
        case 0: (a &+ b) & mask
        case 1: a | b
        case 2: (a &+ b &+ carry) & mask
        case 3: (a &- b &- carry) & mask
        case 4: a & b
        case 5, 7: (a &- b) & mask
        default: a ^ b
        }
    }

    @inline(__always)
    func recordALUFlags(_ kind: UInt8, _ a: UInt64, _ b: UInt64, _ r: UInt64, carry: UInt64, size: UInt8) {
        switch kind {
        case 0: setLazy(.add, size: size, result: r, a: a, b: b)
        case 2:
            setLazy(.adc, size: size, result: r, a: a, b: b)
            lazy.carryIn = carry
        case 3:
            setLazy(.sbb, size: size, result: r, a: a, b: b)
            lazy.carryIn = carry
        case 5, 7: setLazy(.sub, size: size, result: r, a: a, b: b)
        default: setLazy(.logic, size: size, result: r, a: a, b: b)
        }
    }

    func executeTest(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let a = try readE(p)
        let b = d.flags.contains(.sourceImmediate) ? d.immediate & sizeMask(d.size) : reg(d.reg, d.size)
        setLazy(.logic, size: d.size, result: a & b, a: a, b: b)
    }

    /// INC/DEC keep CF: the current CF rides along in the lazy state's `carryIn`.
    func executeIncDec(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let m = sizeMask(d.size)
        let isDec = d.sub & 1 == 1
        let cf: UInt64 = carryFlag ? 1 : 0
        let (old, new) = try modifyE(p) { a in isDec ? (a &- 1) & m : (a &+ 1) & m }
        setLazy(isDec ? .dec : .inc, size: d.size, result: new, a: old, b: 1)
        lazy.carryIn = cf
    }

    /// INC/DEC of a register (the decoder's specialisation).
    @inline(__always)
    func executeIncDecRegister(_ p: UnsafePointer<DecodedInstruction>) {
        let d = p.pointee
        let cf: UInt64 = carryFlag ? 1 : 0
        let old = reg(d.rm, d.size)
        let new = (d.sub & 1 == 1 ? old &- 1 : old &+ 1) & sizeMask(d.size)
        setReg(d.rm, d.size, new)
        setLazy(d.sub & 1 == 1 ? .dec : .inc, size: d.size, result: new, a: old, b: 1)
        lazy.carryIn = cf
    }

    /// ALU op on registers or register and immediate (the decoder's specialisations).
    @inline(__always)
    func executeALURegister(_ p: UnsafePointer<DecodedInstruction>, immediate: Bool) {
        let d = p.pointee
        let a = reg(d.rm, d.size)
        let b = immediate ? d.immediate : reg(d.reg, d.size)
        let r = aluCompute(d.sub, a, b, size: d.size)
        if d.sub != AluKind.cmp.rawValue { setReg(d.rm, d.size, r) }
    }

    func executeNotNeg(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let m = sizeMask(d.size)
        if d.op == .not {
            _ = try modifyE(p) { a in ~a & m }  // NOT changes no flags
            return
        }
        let (old, new) = try modifyE(p) { a in (0 &- a) & m }
        setLazy(.sub, size: d.size, result: new, a: 0, b: old)
    }
}
