import X86

/// FSCALE, FXTRACT, FPREM and FPREM1: exact operations on exponents and remainders.
extension X87Arithmetic {
    /// The NaN, unsupported-operand and denormal checks shared by the two-operand ones:
    /// an outcome when they decide it, with the flags detected so far otherwise.
    static func twoOperandPrecheck(_ a: X87Register, _ b: X87Register, control: X87Control) -> (X87Outcome?, X87Exceptions) {
        if a.kind == .unsupported || b.kind == .unsupported { return (.invalid, []) }
        if a.isNaN || b.isNaN { return (propagateNaN(a, b), []) }
        return (nil, [])
    }

    static func denormalCheck(_ values: [X87Register], control: X87Control) -> (X87Outcome?, X87Exceptions) {
        guard values.contains(where: { $0.kind == .denormal }) else { return (nil, []) }
        if control.unmasked(.denormal) { return (X87Outcome(value: nil, flags: .denormal), .denormal) }
        return (nil, .denormal)
    }

    /// FSCALE: ST(0) × 2^trunc(ST(1)), rounded to 64 bits (the precision control does not
    /// apply).
    static func scale(_ a: X87Register, by b: X87Register, control: X87Control) -> X87Outcome {
        if let decided = twoOperandPrecheck(a, b, control: control).0 { return decided }
        let ka = a.kind
        let kb = b.kind
        if kb == .infinity {
            // 0 × 2^+∞ and ∞ × 2^-∞ are invalid; otherwise the infinity or zero wins.
            if (ka == .zero && !b.isNegative) || (ka == .infinity && b.isNegative) { return .invalid }
            if ka == .zero || ka == .infinity { return X87Outcome(value: a) }
            let (d, flags) = denormalCheck([a], control: control)
            if let d { return d }
            return X87Outcome(value: b.isNegative ? .zero(negative: a.isNegative) : .infinity(negative: a.isNegative), flags: flags)
        }
        let (d, flags) = denormalCheck([a, b], control: control)
        if let d { return d }
        if ka == .zero || ka == .infinity { return X87Outcome(value: a, flags: flags) }
        // trunc(ST(1)), clamped: anything beyond ±2^16 already leaves the range.
        var n = 0
        if kb != .zero {
            let u = b.unpacked
            if u.exponent >= 0 {
                let magnitude = u.exponent >= 17 ? 1 << 17 : Int(u.significand >> UInt128(127 - u.exponent))
                n = u.negative ? -magnitude : magnitude
            }
        }
        var v = a.unpacked
        v.exponent += n
        let unmasked = X87Exceptions.all.subtracting(control.masks)
        return X87Outcome(roundFloat(v, to: .extended(precision: 64), rounding: control.rounding, unmasked: unmasked), adding: flags)
    }

    /// FXTRACT: the exponent (to replace ST(0)) and the significand with ST(0)'s sign and a
    /// zero exponent (to push). A zero gives -∞ and the zero, raising zero-divide.
    static func extract(_ a: X87Register, control: X87Control) -> (exponent: X87Register, significand: X87Register, flags: X87Exceptions)? {
        switch a.kind {
        case .unsupported: return (.indefinite, .indefinite, .invalid)
        case .quietNaN, .signalingNaN:
            let nan = propagateNaN(a, a)
            return (nan.value ?? .indefinite, nan.value ?? .indefinite, nan.flags)
        case .infinity: return (.infinity(negative: false), a, [])
        case .zero:
            if control.unmasked(.zeroDivide) { return nil }
            return (.infinity(negative: true), a, .zeroDivide)
        case .normal, .denormal:
            var flags: X87Exceptions = []
            if a.kind == .denormal {
                if control.unmasked(.denormal) { return nil }
                flags.insert(.denormal)
            }
            let u = a.unpacked
            let e = u.exponent
            let exponent = e == 0 ? X87Register.zero : X87Conversion.fromInteger(Int64(e))
            let significand = X87Register(significand: u.high64, signExponent: (u.negative ? 0x8000 : 0) | 0x3FFF)
            return (exponent, significand, flags)
        }
    }

    /// FPREM (`ieee` false: the quotient truncated) and FPREM1 (`ieee`: rounded to nearest).
    /// Returns the new ST(0), the low three quotient bits (nil for NaN and invalid operands,
    /// which leave C0 C3 C1 alone) and whether the reduction is incomplete (C2).
    static func remainder(_ a: X87Register, _ b: X87Register, ieee: Bool, control: X87Control) -> (X87Outcome, quotient: UInt64?, incomplete: Bool) {
        let (decided, _) = twoOperandPrecheck(a, b, control: control)
        if let decided { return (decided, nil, false) }
        let ka = a.kind
        let kb = b.kind
        if ka == .infinity || kb == .zero { return (.invalid, nil, false) }
        let (d, flags) = denormalCheck([a, b], control: control)
        if let d { return (d, nil, false) }
        if ka == .zero { return (X87Outcome(value: a, flags: flags), 0, false) }
        let x = a.unpacked
        let y = b.unpacked
        let difference = x.exponent - y.exponent
        let unmasked = X87Exceptions.all.subtracting(control.masks)
        func result(_ magnitude: UInt128, exponent: Int, negative: Bool) -> X87Outcome {
            if magnitude == 0 { return X87Outcome(value: .zero(negative: negative), flags: flags) }
            let v = UnpackedFloat(negative: negative, exponent: exponent, integer: magnitude)
            return X87Outcome(roundFloat(v, to: .extended(precision: 64), rounding: control.rounding, unmasked: unmasked), adding: flags)
        }
        let ma = UInt128(x.high64)
        let mb = UInt128(y.high64)
        // A dividend left as it is still goes through packing (a pseudo-denormal comes out
        // with exponent 1).
        if kb == .infinity { return (result(ma, exponent: x.exponent - 63, negative: x.negative), 0, false) }
        if difference >= 64 {
            // Partial, the quotient truncated: the SDM leaves N to the implementation (32 to
            // 63); Intel processors leave an exponent difference that is a multiple of 32.
            let n = 32 + (difference & 31)
            let shift = difference - n
            // x / (y × 2^shift) = (ma × 2^n) / mb × 2^(...) in units of y's significand.
            let q = (ma << UInt128(n)) / mb
            let r = (ma << UInt128(n)) - q * mb
            return (result(r, exponent: y.exponent - 63 + shift, negative: x.negative), 0, true)
        }
        if difference < 0 {
            // |x| < |y|: the quotient is 0 (or ±1 for FPREM1 when |x| > |y|/2).
            if ieee && difference == -1 && ma > mb {
                // |x| > |y|/2: x − sign·y, exactly (y has one more exponent bit here).
                let r = (mb << 1) - ma
                return (result(r, exponent: x.exponent - 63, negative: !x.negative), 1, false)
            }
            return (result(ma, exponent: x.exponent - 63, negative: x.negative), 0, false)
        }
        let numerator = ma << UInt128(difference)
        var q = numerator / mb
        var r = numerator - q * mb
        var negative = x.negative
        if ieee {
            let twice = r << 1
            if twice > mb || (twice == mb && q & 1 == 1) {
                r = mb - r
                q += 1
                negative.toggle()
            }
        }
        return (result(r, exponent: y.exponent - 63, negative: negative), UInt64(truncatingIfNeeded: q & 7), false)
    }
}
