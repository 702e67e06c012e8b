import X86

/// x87 loads, stores and control-word instructions with a memory operand (D9, DB, DD, DF).
extension Interpreter {
    /// D9 /r: FLD m32, FST m32, FSTP m32, FLDENV, FLDCW, FNSTENV, FNSTCW.
    func x87Group1Memory(_ p: UnsafePointer<DecodedInstruction>, reg: Int) throws(CPUEvent) {
        let (linear, offset) = x87Operand(p)
        switch reg {
        case 0:
            try x87Prologue(waiting: true)
            let w = X87Conversion.widen(single: UInt32(truncatingIfNeeded: try read(linear, 4)))
            x87Remember(p, operand: offset)
            x87Load(w)
        case 2, 3:
            try x87Prologue(waiting: true)
            try x87StoreFloat(p, bits: 32, pop: reg == 3)
        case 4:
            try x87Prologue(waiting: false)
            try x87LoadEnvironment(p, at: linear)
        case 5:
            try x87Prologue(waiting: false)
            x87LoadControlWord(UInt16(truncatingIfNeeded: try read(linear, 2)))
        case 6:
            try x87Prologue(waiting: false)
            try x87StoreEnvironment(p, at: linear)
            arch.fpu.controlWord |= 0x3F  // FNSTENV then masks every exception
            x87UpdateErrorSummary()
        default:
            try x87Prologue(waiting: false)
            try write(linear, 2, UInt64(arch.fpu.controlWord))
        }
    }

    /// DB /r: FILD m32, FISTTP m32, FIST m32, FISTP m32, FLD m80, FSTP m80.
    func x87Group3Memory(_ p: UnsafePointer<DecodedInstruction>, reg: Int) throws(CPUEvent) {
        try x87Prologue(waiting: true)
        let (linear, offset) = x87Operand(p)
        switch reg {
        case 0...3: try x87IntegerForm(p, reg: reg, bytes: 4)
        case 5:
            let v = try readExtended(linear)
            x87Remember(p, operand: offset)
            x87Load(v)
        default:  // 7: FSTP m80 (the decoder made /4 and /6 #UD)
            try probeWrite(linear, 10, user: cpl == 3)
            x87Remember(p, operand: offset)
            guard let v = x87StoreSource() else { return }
            try writeExtended(linear, v)
            x87Signal([], c1: false)
            x87Pop()
        }
    }

    /// DD /r: FLD m64, FISTTP m64, FST m64, FSTP m64, FRSTOR, FNSAVE, FNSTSW m16.
    func x87Group5Memory(_ p: UnsafePointer<DecodedInstruction>, reg: Int) throws(CPUEvent) {
        let (linear, offset) = x87Operand(p)
        switch reg {
        case 0:
            try x87Prologue(waiting: true)
            let w = X87Conversion.widen(double: try read(linear, 8))
            x87Remember(p, operand: offset)
            x87Load(w)
        case 1:
            try x87Prologue(waiting: true)
            try x87StoreInteger(p, bytes: 8, truncate: true, pop: true)
        case 2, 3:
            try x87Prologue(waiting: true)
            try x87StoreFloat(p, bits: 64, pop: reg == 3)
        case 4:
            try x87Prologue(waiting: false)
            try x87Restore(p, at: linear)
        case 6:
            try x87Prologue(waiting: false)
            try x87Save(p, at: linear)
        default:  // 7 (the decoder made /5 #UD)
            try x87Prologue(waiting: false)
            try write(linear, 2, UInt64(arch.fpu.statusWord))
        }
    }

    /// DF /r: FILD m16, FISTTP m16, FIST m16, FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64.
    func x87Group7Memory(_ p: UnsafePointer<DecodedInstruction>, reg: Int) throws(CPUEvent) {
        try x87Prologue(waiting: true)
        let (linear, offset) = x87Operand(p)
        switch reg {
        case 0...3: try x87IntegerForm(p, reg: reg, bytes: 2)
        case 5:
            let v = Int64(bitPattern: try read(linear, 8))
            x87Remember(p, operand: offset)
            x87Load(X87Conversion.fromInteger(v))
        case 4:
            let low = try read(linear, 8)
            let high = try read(linear &+ 8, 2)
            x87Remember(p, operand: offset)
            x87Load(X87Conversion.fromPackedBCD(low: low, high: UInt16(truncatingIfNeeded: high)))
        case 6: try x87StorePackedBCD(p, at: linear)
        default: try x87StoreInteger(p, bytes: 8, truncate: false, pop: true)
        }
    }

    /// DB and DF /0-/3: FILD, FISTTP, FIST, FISTP with a `bytes`-byte integer.
    func x87IntegerForm(_ p: UnsafePointer<DecodedInstruction>, reg: Int, bytes: Int) throws(CPUEvent) {
        guard reg == 0 else {
            try x87StoreInteger(p, bytes: bytes, truncate: reg == 1, pop: reg != 2)
            return
        }
        let (linear, offset) = x87Operand(p)
        let raw = try read(linear, UInt8(bytes))
        let v = bytes == 2 ? Int64(Int16(truncatingIfNeeded: raw)) : Int64(Int32(truncatingIfNeeded: raw))
        x87Remember(p, operand: offset)
        x87Load(X87Conversion.fromInteger(v))
    }

    func readExtended(_ linear: UInt64) throws(CPUEvent) -> X87Register {
        let significand = try read(linear, 8)
        let se = try read(linear &+ 8, 2)
        return X87Register(significand: significand, signExponent: UInt16(truncatingIfNeeded: se))
    }

    /// Writes 10 bytes (the caller has probed them writable).
    func writeExtended(_ linear: UInt64, _ v: X87Register) throws(CPUEvent) {
        try write(linear, 8, v.significand)
        try write(linear &+ 8, 2, UInt64(v.signExponent))
    }

    /// FBSTP: ST(0) rounded to an integer as 18 packed BCD digits; out of range, a NaN, an
    /// infinity or an unsupported value is invalid and stores the packed BCD indefinite.
    func x87StorePackedBCD(_ p: UnsafePointer<DecodedInstruction>, at linear: UInt64) throws(CPUEvent) {
        try probeWrite(linear, 10, user: cpl == 3)
        x87Remember(p, operand: x87Operand(p).offset)
        guard let v = x87StoreSource() else { return }
        let control = x87Control
        let r = X87Conversion.toPackedBCD(v, rounding: control.rounding)
        if r.flags.contains(.invalid) && control.unmasked(.invalid) {
            x87Signal(r.flags, c1: false)
            return
        }
        try write(linear, 8, r.low)
        try write(linear &+ 8, 2, UInt64(r.high))
        x87Signal(r.flags, c1: r.roundedUp)
        x87Pop()
    }
}
