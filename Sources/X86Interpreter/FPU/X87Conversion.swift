import X86

/// Conversions between the 80-bit format and memory formats, comparisons and rounding to
/// integers, in software.
enum X87Conversion {
    /// A single or double widened exactly (an SNaN stays signaling): what an arithmetic
    /// instruction with a memory operand computes with.
    struct Widened {
        var value: X87Register
        /// The source was a denormal (#D).
        var denormal = false
    }

    static func widen(single bits: UInt32) -> Widened {
        widen(negative: bits >> 31 != 0, exponent: Int((bits >> 23) & 0xFF), fraction: UInt64(bits & 0x7F_FFFF), fractionBits: 23, format: .single)
    }

    static func widen(double bits: UInt64) -> Widened {
        widen(negative: bits >> 63 != 0, exponent: Int((bits >> 52) & 0x7FF), fraction: bits & 0xF_FFFF_FFFF_FFFF, fractionBits: 52, format: .double)
    }

    private static func widen(negative: Bool, exponent: Int, fraction: UInt64, fractionBits: Int, format: FloatFormat) -> Widened {
        let sign: UInt16 = negative ? 0x8000 : 0
        let aligned = fraction << UInt64(63 - fractionBits)
        if exponent == 2 * format.bias + 1 {
            return Widened(value: X87Register(significand: X87Register.integerBit | aligned, signExponent: sign | 0x7FFF))
        }
        if exponent == 0 {
            if fraction == 0 { return Widened(value: .zero(negative: negative)) }
            let v = UnpackedFloat(negative: negative, exponent: format.minExponent - fractionBits, integer: UInt128(fraction))
            return Widened(value: exactExtended(v), denormal: true)
        }
        let e = UInt16(exponent - format.bias + 16383)
        return Widened(value: X87Register(significand: X87Register.integerBit | aligned, signExponent: sign | e))
    }

    /// A value known to be a normal double extended number exactly.
    static func exactExtended(_ v: UnpackedFloat) -> X87Register {
        X87Register(significand: v.high64, signExponent: (v.negative ? 0x8000 : 0) | UInt16(truncatingIfNeeded: v.exponent + 16383))
    }

    /// FILD: every 16-, 32- and 64-bit integer is exact in 64 significand bits.
    static func fromInteger(_ v: Int64) -> X87Register {
        if v == 0 { return .zero }
        return exactExtended(UnpackedFloat(negative: v < 0, exponent: 0, integer: UInt128(v.magnitude)))
    }

    /// FST/FSTP to a single (`bits` 32) or double (64): the rounded bit pattern, or nothing
    /// to store when an unmasked exception forbids it (invalid operand, overflow, underflow).
    static func narrow(_ r: X87Register, toBits bits: Int, control: X87Control) -> (bits: UInt64?, flags: X87Exceptions, roundedUp: Bool) {
        let single = bits == 32
        let format: FloatFormat = single ? .single : .double
        let sign: UInt64 = r.isNegative ? 1 << UInt64(bits - 1) : 0
        let fractionBits = single ? 23 : 52
        let expAllOnes = UInt64(2 * format.bias + 1) << UInt64(fractionBits)
        let indefinite = (1 << UInt64(bits - 1)) | expAllOnes | (1 << UInt64(fractionBits - 1))
        switch r.kind {
        case .unsupported:
            return (control.unmasked(.invalid) ? nil : indefinite, .invalid, false)
        case .quietNaN, .signalingNaN:
            let nan = sign | expAllOnes | (1 << UInt64(fractionBits - 1)) | ((r.significand & ~X87Register.integerBit) >> UInt64(63 - fractionBits))
            let signaling = r.kind == .signalingNaN
            if signaling && control.unmasked(.invalid) { return (nil, .invalid, false) }
            return (nan, signaling ? .invalid : [], false)
        case .infinity: return (sign | expAllOnes, [], false)
        case .zero: return (sign, [], false)
        case .normal, .denormal:
            let unmasked = X87Exceptions.all.subtracting(control.masks)
            let rounded = roundFloat(r.unpacked, to: format, rounding: control.rounding, unmasked: unmasked.intersection([.overflow, .underflow]))
            // Unmasked overflow or underflow stores nothing and reports only itself.
            let range = rounded.flags.intersection([.overflow, .underflow])
            if control.unmasked(range) { return (nil, range, false) }
            return (single ? UInt64(rounded.single) : rounded.double, rounded.flags, rounded.roundedUp)
        }
    }

    /// FIST/FISTP/FISTTP to a `bytes`-byte integer, rounded by `rounding`: the value, or
    /// nothing to store when the invalid exception is unmasked.
    static func toInteger(_ r: X87Register, bytes: Int, rounding: X87Rounding, control: X87Control) -> (bits: UInt64?, flags: X87Exceptions, roundedUp: Bool) {
        let indefinite: UInt64 = 1 << UInt64(bytes * 8 - 1)
        let invalid = (control.unmasked(.invalid) ? nil : indefinite, X87Exceptions.invalid, false)
        switch r.kind {
        case .unsupported, .quietNaN, .signalingNaN, .infinity: return invalid
        case .zero: return (0, [], false)
        case .normal, .denormal: break
        }
        let u = r.unpacked
        guard let (magnitude, inexact, up) = roundToInteger(u, rounding: rounding) else { return invalid }
        let limit = UInt128(indefinite)
        guard u.negative ? magnitude <= limit : magnitude < limit else { return invalid }
        let m = UInt64(truncatingIfNeeded: magnitude)
        return (u.negative ? 0 &- m : m, inexact ? .precision : [], up)
    }

    /// The integer nearest `v` by `rounding` (its magnitude), whether it is inexact and
    /// rounded up; nil when it does not fit 64 bits.
    static func roundToInteger(_ v: UnpackedFloat, rounding: X87Rounding) -> (UInt128, inexact: Bool, up: Bool)? {
        if v.exponent >= 64 { return nil }
        var kept: UInt128 = 0
        let aboveHalf: Bool
        let exactlyHalf: Bool
        if v.exponent >= 0 {
            let shift = UInt128(127 - v.exponent)
            kept = v.significand >> shift
            let rest = v.significand & ((1 << shift) - 1)
            let half: UInt128 = 1 << (shift - 1)
            if rest == 0 { return (kept, false, false) }
            aboveHalf = rest > half
            exactlyHalf = rest == half
        } else {
            // |v| < 1: half exactly only for 0.5.
            aboveHalf = v.exponent == -1 && v.significand > 1 << 127
            exactlyHalf = v.exponent == -1 && v.significand == 1 << 127
        }
        let up: Bool
        switch rounding {
        case .nearest: up = aboveHalf || (exactlyHalf && kept & 1 == 1)
        case .down: up = v.negative
        case .up: up = !v.negative
        case .towardZero: up = false
        }
        return (up ? kept + 1 : kept, true, up)
    }

    /// FRNDINT.
    static func roundToIntegral(_ r: X87Register, control: X87Control) -> X87Outcome {
        switch r.kind {
        case .unsupported: return .invalid
        case .quietNaN, .signalingNaN: return X87Arithmetic.propagateNaN(r, r)
        case .zero, .infinity: return X87Outcome(value: r)
        case .denormal, .normal: break
        }
        var flags: X87Exceptions = []
        if r.kind == .denormal {
            flags.insert(.denormal)
            if control.unmasked(.denormal) { return X87Outcome(value: nil, flags: flags) }
        }
        let u = r.unpacked
        // From 2^63 up every value is an integer; below, the result fits 64 bits.
        guard u.exponent < 63, let (magnitude, inexact, up) = roundToInteger(u, rounding: control.rounding) else {
            return X87Outcome(value: r, flags: flags)
        }
        if inexact { flags.insert(.precision) }
        let value = magnitude == 0 ? X87Register.zero(negative: u.negative)
            : exactExtended(UnpackedFloat(negative: u.negative, exponent: 0, integer: magnitude))
        return X87Outcome(value: value, flags: flags, roundedUp: up)
    }
}

extension X87Conversion {
    /// FBLD: 18 packed BCD digits and a sign (bit 79). Digits above 9 give an undefined
    /// result on hardware; here they simply count with their binary value.
    static func fromPackedBCD(low: UInt64, high: UInt16) -> X87Register {
        var magnitude: UInt64 = 0
        for i in stride(from: 17, through: 0, by: -1) {
            let digit = i >= 16 ? UInt64(high >> UInt16(4 * (i - 16))) & 0xF : (low >> UInt64(4 * i)) & 0xF
            magnitude = magnitude &* 10 &+ digit
        }
        let negative = high & 0x8000 != 0
        if magnitude == 0 { return .zero(negative: negative) }
        return exactExtended(UnpackedFloat(negative: negative, exponent: 0, integer: UInt128(magnitude)))
    }

    /// FBSTP: the value rounded to an integer in packed BCD, or the packed BCD indefinite
    /// (invalid) when it is not a number or needs more than 18 digits.
    static func toPackedBCD(_ r: X87Register, rounding: X87Rounding) -> (low: UInt64, high: UInt16, flags: X87Exceptions, roundedUp: Bool) {
        let invalid = (UInt64(0xC000_0000_0000_0000), UInt16(0xFFFF), X87Exceptions.invalid, false)
        let sign: UInt16 = r.isNegative ? 0x8000 : 0
        switch r.kind {
        case .unsupported, .quietNaN, .signalingNaN, .infinity: return invalid
        case .zero: return (0, sign, [], false)
        case .normal, .denormal: break
        }
        guard let (magnitude, inexact, up) = roundToInteger(r.unpacked, rounding: rounding),
            magnitude < 1_000_000_000_000_000_000
        else { return invalid }
        var m = UInt64(magnitude)
        var low: UInt64 = 0
        var high: UInt16 = 0
        for i in 0..<18 {
            let digit = m % 10
            m /= 10
            if i < 16 { low |= digit << UInt64(4 * i) } else { high |= UInt16(digit) << UInt16(4 * (i - 16)) }
        }
        return (low, high | sign, inexact ? .precision : [], up)
    }
}
