import X86

/// x87 instructions on the register stack (ModRM.mod = 3).
extension Interpreter {
    func executeX87Register(_ p: UnsafePointer<DecodedInstruction>, group: Int, reg: Int, i: Int) throws(CPUEvent) {
        // The no-wait control instructions (FNCLEX, FNINIT, FNSTSW AX) skip the #MF check.
        let noWait = (group == 3 && reg == 4) || (group == 7 && reg == 4)
        try x87Prologue(waiting: !noWait)
        if !noWait && !Self.isX87Control(group: group, reg: reg, i: i) { x87Remember(p) }
        switch group {
        case 0:  // D8: ST(0) ← ST(0) op ST(i)
            if reg == 2 || reg == 3 {
                x87Compare(with: x87IsEmpty(i) ? nil : x87Get(i), pops: reg == 3 ? 1 : 0, ordered: true)
            } else {
                x87Arithmetic(reg: reg, destination: 0, source: x87Operand(i), reversed: reg == 5 || reg == 7)
            }
        case 4, 6:  // DC: ST(i) ← ST(i) op ST(0); DE: the same, then pop
            switch reg {
            case 2: x87Compare(with: x87Operand(i), pops: group == 6 ? 1 : 0, ordered: true)
            case 3:
                if group == 6 { x87Compare(with: x87Operand(1), pops: 2, ordered: true) }  // FCOMPP
                else { x87Compare(with: x87Operand(i), pops: 1, ordered: true) }
            default:
                x87Arithmetic(reg: reg, destination: i, source: x87Operand(0), reversed: reg == 4 || reg == 6, pop: group == 6)
            }
        case 1: try x87Group1Register(reg: reg, i: i)
        case 2:
            if reg == 5 { x87Compare(with: x87Operand(1), pops: 2, ordered: false) }  // FUCOMPP
            else { x87ConditionalMove(condition(Self.fcmovConditions[reg]), from: i) }
        case 3:
            switch reg {
            case 0...3: x87ConditionalMove(!condition(Self.fcmovConditions[reg]), from: i)
            case 4:
                if i == 2 {  // FNCLEX
                    arch.fpu.statusWord &= ~(0x7F | X87Status.errorSummary | X87Status.busy)
                } else if i == 3 {
                    x87Initialize()
                }  // FNENI, FNDISI, FNSETPM: no effect on this processor
            default: x87CompareIntoEFlags(i, ordered: reg == 6, pop: false)
            }
        case 5:
            switch reg {
            case 0:  // FFREE
                arch.fpu.abridgedTags &= ~(1 << UInt8(x87Physical(i)))
                x87Signal([], c1: false)
            case 1: x87Exchange(i)
            case 2, 3: x87StoreToRegister(i, pop: reg == 3)
            default: x87Compare(with: x87Operand(i), pops: reg == 5 ? 1 : 0, ordered: false)
            }
        default:  // DF
            switch reg {
            case 0:  // FFREEP
                arch.fpu.abridgedTags &= ~(1 << UInt8(x87Physical(i)))
                x87Signal([], c1: false)
                x87Pop()
            case 1: x87Exchange(i)
            case 2, 3: x87StoreToRegister(i, pop: true)
            case 4: setReg(0, 2, UInt64(arch.fpu.statusWord))  // FNSTSW AX
            default: x87CompareIntoEFlags(i, ordered: reg == 6, pop: true)
            }
        }
    }

    /// Control instructions among the register forms (they leave FIP, FDP and FOP alone).
    static func isX87Control(group: Int, reg: Int, i: Int) -> Bool {
        (group == 3 && reg == 4) || (group == 7 && reg == 4)
    }

    /// FCMOVB, FCMOVE, FCMOVBE, FCMOVU as condition codes (FCMOVNcc negate them).
    static let fcmovConditions: [UInt8] = [0x2, 0x4, 0x6, 0xA]

    /// ST(i) when it holds a value, nil when it is empty.
    func x87Operand(_ i: Int) -> X87Register? { x87IsEmpty(i) ? nil : x87Get(i) }

    /// D9 register forms.
    func x87Group1Register(reg: Int, i: Int) throws(CPUEvent) {
        switch reg {
        case 0:  // FLD ST(i)
            guard let v = x87Operand(i) else {
                if x87StackUnderflow() { x87Push(.indefinite) }
                return
            }
            x87Load(v)
        case 1: x87Exchange(i)
        case 2: x87Signal([], c1: nil)  // FNOP
        case 3:
            // D9 D8+i (FSTP1, an alias of FSTP ST(i)): with ST(0) empty it only pops, without
            // a stack fault (measured on Intel hardware).
            if x87IsEmpty(0) {
                x87Signal([], c1: false)
                x87Pop()
            } else {
                x87StoreToRegister(i, pop: true)
            }
        case 4:
            switch i {
            case 0, 1: x87UnaryOnTop { i == 0 ? X87Outcome(value: $0.negated) : X87Outcome(value: $0.absolute) }
            case 4: x87Compare(with: .zero, pops: 0, ordered: true)  // FTST
            default: x87Examine()
            }
        case 5: x87Load(Self.x87Constant(i, rounding: x87Control.rounding))
        case 6:
            switch i {
            case 4: x87Extract()
            case 5: x87PartialRemainder(ieee: true)
            case 6:  // FDECSTP
                x87SetTop(arch.fpu.top - 1)
                x87Signal([], c1: false)
            case 7:  // FINCSTP
                x87SetTop(arch.fpu.top + 1)
                x87Signal([], c1: false)
            case 0: try x87Transcendental(.exp2m1)
            case 1: try x87TranscendentalOnTwo(.log2)
            case 2: try x87Transcendental(.tangent, push: 1)
            default: try x87TranscendentalOnTwo(.arctangent)
            }
        default:
            let control = x87Control
            switch i {
            case 0: x87PartialRemainder(ieee: false)
            case 2: x87UnaryOnTop { X87Arithmetic.squareRoot($0, control: control) }
            case 4: x87UnaryOnTop { X87Conversion.roundToIntegral($0, control: control) }
            case 5:
                guard let b = x87Operand(1) else {
                    if x87StackUnderflow() { x87Set(0, .indefinite) }
                    return
                }
                x87UnaryOnTop { X87Arithmetic.scale($0, by: b, control: control) }
            case 1: try x87TranscendentalOnTwo(.log2p1)
            case 3: try x87Transcendental(.sine, push: 2)
            case 6: try x87Transcendental(.sine)
            default: try x87Transcendental(.cosine)
            }
        }
    }

    /// F2XM1, FSIN, FCOS on ST(0); FPTAN (`push` 1: then pushes 1.0) and FSINCOS (`push` 2:
    /// ST(0) becomes the sine, then the cosine is pushed). The trigonometric ones leave an
    /// operand of 2^63 or more alone and set C2, else clear it.
    func x87Transcendental(_ f: X87Transcendental.Function, push: Int = 0) throws(CPUEvent) {
        guard X87Transcendental.available else { throw .undefinedOpcode }
        let trigonometric = f != .exp2m1
        if trigonometric { arch.fpu.statusWord &= ~X87Status.c2 }
        guard let v = x87Operand(0) else {
            if x87StackUnderflow() {
                x87Set(0, .indefinite)
                if push > 0 { x87Push(.indefinite) }
            }
            return
        }
        if push > 0 && !x87IsEmpty(7) {
            if x87StackOverflow() {
                x87Set(0, .indefinite)
                x87Push(.indefinite)
            }
            return
        }
        if trigonometric && X87Transcendental.outOfRange(v) {
            arch.fpu.statusWord |= X87Status.c2
            return
        }
        let control = x87Control
        let outcome = X87Transcendental.evaluate(f, v, control: control)
        guard push > 0, !x87Suppresses(outcome.flags) else {
            x87Commit(outcome, to: 0)
            return
        }
        let second = push == 1 ? X87Outcome(value: X87Register(significand: 1 << 63, signExponent: 0x3FFF))
            : X87Transcendental.evaluate(.cosine, v, control: control)
        x87Commit(outcome, to: 0)
        x87Push(second.value ?? .indefinite)
        x87Signal(second.flags)
    }

    /// FYL2X, FYL2XP1, FPATAN: ST(1) ← f(ST(1), ST(0)), then pop.
    func x87TranscendentalOnTwo(_ f: X87Transcendental.Function) throws(CPUEvent) {
        guard X87Transcendental.available else { throw .undefinedOpcode }
        guard let x = x87Operand(0), let y = x87Operand(1) else {
            if x87StackUnderflow() {
                x87Set(1, .indefinite)
                x87Pop()
            }
            return
        }
        x87Commit(X87Transcendental.evaluate(f, x, y, control: x87Control), to: 1, pop: true)
    }

    /// FXTRACT: ST(0) becomes its exponent, then its significand is pushed.
    func x87Extract() {
        guard let v = x87Operand(0) else {
            if x87StackUnderflow() {
                x87Set(0, .indefinite)
                x87Push(.indefinite)
            }
            return
        }
        guard x87IsEmpty(7) else {
            if x87StackOverflow() {
                x87Set(0, .indefinite)
                x87Push(.indefinite)
            }
            return
        }
        let control = x87Control
        guard let r = X87Arithmetic.extract(v, control: control), !control.unmasked(r.flags.intersection(.preComputation)) else {
            let flags: X87Exceptions = v.kind == .zero ? .zeroDivide : (v.kind == .denormal ? .denormal : .invalid)
            x87Signal(flags, c1: false)
            return
        }
        x87Set(0, r.exponent)
        x87Push(r.significand)
        x87Signal(r.flags, c1: false)
    }

    /// FPREM and FPREM1: C2 set while the reduction is incomplete, else C0 C3 C1 = Q2 Q1 Q0
    /// (all three clear after a partial reduction). A stack underflow, a NaN or an invalid
    /// operand clears C2 and C1 only.
    func x87PartialRemainder(ieee: Bool) {
        arch.fpu.statusWord &= ~X87Status.c2
        guard let a = x87Operand(0), let b = x87Operand(1) else {
            if x87StackUnderflow() { x87Set(0, .indefinite) }
            return
        }
        let (outcome, quotient, incomplete) = X87Arithmetic.remainder(a, b, ieee: ieee, control: x87Control)
        if x87Suppresses(outcome.flags) {
            x87Signal(outcome.flags, c1: false)
            return
        }
        if let v = outcome.value { x87Set(0, v) }
        guard let q = quotient else {
            x87Signal(outcome.flags, c1: false)
            return
        }
        var sw = arch.fpu.statusWord & ~(X87Status.c0 | X87Status.c3)
        if incomplete { sw |= X87Status.c2 }
        if q & 4 != 0 { sw |= X87Status.c0 }
        if q & 2 != 0 { sw |= X87Status.c3 }
        arch.fpu.statusWord = sw
        x87Signal(outcome.flags, c1: q & 1 != 0)
    }

    /// ST(0) ← f(ST(0)); an empty ST(0) underflows (masked: the QNaN indefinite).
    func x87UnaryOnTop(_ f: (X87Register) -> X87Outcome) {
        guard let v = x87Operand(0) else {
            if x87StackUnderflow() { x87Set(0, .indefinite) }
            return
        }
        x87Commit(f(v), to: 0)
    }

    /// FXCH: swaps ST(0) and ST(i); an empty one underflows and, masked, reads as the QNaN
    /// indefinite.
    func x87Exchange(_ i: Int) {
        var a = x87Operand(0)
        var b = x87Operand(i)
        if a == nil || b == nil {
            guard x87StackUnderflow() else { return }
            a = a ?? .indefinite
            b = b ?? .indefinite
        }
        x87Set(0, b ?? .indefinite)
        x87Set(i, a ?? .indefinite)
        x87Signal([], c1: false)
    }

    /// FST/FSTP ST(i).
    func x87StoreToRegister(_ i: Int, pop: Bool) {
        guard let v = x87Operand(0) else {
            if x87StackUnderflow() {
                x87Set(i, .indefinite)
                if pop { x87Pop() }
            }
            return
        }
        x87Set(i, v)
        x87Signal([], c1: false)
        if pop { x87Pop() }
    }

    /// FCMOVcc: ST(0) ← ST(i) when `move`; C1 is left alone. An empty operand underflows
    /// whatever the condition, and masked sets ST(0) to the QNaN indefinite.
    func x87ConditionalMove(_ move: Bool, from i: Int) {
        guard let v = x87Operand(i), !x87IsEmpty(0) else {
            if x87StackUnderflow() { x87Set(0, .indefinite) }
            return
        }
        if move { x87Set(0, v) }
    }

    /// FXAM: C3 C2 C0 classify ST(0) (empty included), C1 is its sign.
    func x87Examine() {
        let v = x87Get(0)
        let c: UInt16
        if x87IsEmpty(0) {
            c = X87Status.c3 | X87Status.c0
        } else {
            switch v.kind {
            case .unsupported: c = 0
            case .quietNaN, .signalingNaN: c = X87Status.c0
            case .normal: c = X87Status.c2
            case .infinity: c = X87Status.c2 | X87Status.c0
            case .zero: c = X87Status.c3
            case .denormal: c = X87Status.c3 | X87Status.c2
            }
        }
        arch.fpu.statusWord = (arch.fpu.statusWord & ~(X87Status.c0 | X87Status.c2 | X87Status.c3)) | c
        x87Signal([], c1: v.isNegative)
    }

    /// FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ: the processor holds the irrational ones
    /// with more than 64 bits and rounds them by RC (SDM vol. 1, 8.3.7).
    static func x87Constant(_ i: Int, rounding: X87Rounding) -> X87Register {
        // Significand rounded to nearest, exponent, and whether that rounding went up.
        let (significand, exponent, nearestWentUp): (UInt64, UInt16, Bool) = switch i {
        case 0: (1 << 63, 0x3FFF, false)
        case 1: (0xD49A_784B_CD1B_8AFE, 0x4000, false)  // log2(10)
        case 2: (0xB8AA_3B29_5C17_F0BC, 0x3FFF, true)  // log2(e)
        case 3: (0xC90F_DAA2_2168_C235, 0x4000, true)  // pi
        case 4: (0x9A20_9A84_FBCF_F799, 0x3FFD, true)  // log10(2)
        case 5: (0xB172_17F7_D1CF_79AC, 0x3FFE, true)  // ln(2)
        default: (0, 0, false)
        }
        var s = significand
        if i >= 1 && i <= 5 {
            if nearestWentUp && (rounding == .down || rounding == .towardZero) { s -= 1 }
            if !nearestWentUp && rounding == .up { s += 1 }
        }
        return X87Register(significand: s, signExponent: exponent)
    }
}
