import X86

/// What an x87 operation produced before the instruction commits it: the value (none for
/// comparisons and when nothing is stored), the exceptions it detected and C1.
struct X87Outcome {
    var value: X87Register?
    var flags: X87Exceptions = []
    /// The result's magnitude was rounded up (reported in C1).
    var roundedUp = false

    static let invalid = X87Outcome(value: .indefinite, flags: .invalid)

    init(value: X87Register?, flags: X87Exceptions = [], roundedUp: Bool = false) {
        self.value = value
        self.flags = flags
        self.roundedUp = roundedUp
    }

    init(_ r: RoundedFloat, adding flags: X87Exceptions = []) {
        value = r.extended
        self.flags = flags.union(r.flags)
        roundedUp = r.roundedUp
    }
}

/// The x87 arithmetic in software, bit-exact to the hardware: double extended-precision
/// values, the precision and rounding controls, denormals, the masked responses and the
/// exponent-wrapped results of unmasked overflow and underflow.
enum X87Arithmetic {
    enum Operation { case add, subtract, multiply, divide }

    /// `a op b`. `denormalSource` says `b` was widened from a denormal single or double.
    static func binary(_ op: Operation, _ a: X87Register, _ b: X87Register, control: X87Control, denormalSource: Bool = false) -> X87Outcome {
        let ka = a.kind
        let kb = b.kind
        if ka == .unsupported || kb == .unsupported { return .invalid }
        if a.isNaN || b.isNaN { return propagateNaN(a, b) }
        // Invalid operations and division by zero outrank the denormal-operand exception
        // (SDM vol. 1, 8.7): they are reported alone.
        if let special = invalidOrZeroDivide(op, a, b, control: control) { return special }
        var flags: X87Exceptions = []
        if ka == .denormal || kb == .denormal || denormalSource {
            flags.insert(.denormal)
            if control.unmasked(.denormal) { return X87Outcome(value: nil, flags: flags) }
        }
        let format = FloatFormat.extended(precision: control.precision)
        let unmasked = X87Exceptions.all.subtracting(control.masks)
        switch exactResult(op, a, b, rounding: control.rounding) {
        case .finite(let v): return X87Outcome(roundFloat(v, to: format, rounding: control.rounding, unmasked: unmasked), adding: flags)
        case .zero(let negative): return X87Outcome(value: .zero(negative: negative), flags: flags)
        case .infinity(let negative): return X87Outcome(value: .infinity(negative: negative), flags: flags)
        }
    }

    /// A result before rounding.
    enum ExactResult {
        case finite(UnpackedFloat)
        case zero(negative: Bool)
        case infinity(negative: Bool)
    }

    /// `a op b` exactly, for operands that are neither NaNs nor unsupported and no invalid or
    /// zero-divide case (`invalidOrZeroDivide`). An exact zero sum is +0, or -0 for two
    /// negative zeros or when rounding down.
    static func exactResult(_ op: Operation, _ a: X87Register, _ b: X87Register, rounding: X87Rounding) -> ExactResult {
        let ka = a.kind
        let kb = b.kind
        let negative = a.isNegative != b.isNegative
        switch op {
        case .add, .subtract:
            let bNegative = b.isNegative != (op == .subtract)
            if ka == .infinity || kb == .infinity { return .infinity(negative: ka == .infinity ? a.isNegative : bNegative) }
            var ub = kb == .zero ? nil : Optional(b.unpacked)
            ub?.negative = bNegative
            let ua = ka == .zero ? nil : Optional(a.unpacked)
            guard let sum = add(ua, ub) else {
                let bothZero = ka == .zero && kb == .zero
                return .zero(negative: bothZero && a.isNegative && bNegative || (rounding == .down && !(bothZero && !a.isNegative && !bNegative)))
            }
            return .finite(sum)
        case .multiply:
            if ka == .infinity || kb == .infinity { return .infinity(negative: negative) }
            if ka == .zero || kb == .zero { return .zero(negative: negative) }
            return .finite(multiply(a.unpacked, b.unpacked, negative: negative))
        case .divide:
            if ka == .infinity { return .infinity(negative: negative) }
            if kb == .infinity || ka == .zero { return .zero(negative: negative) }
            return .finite(divide(a.unpacked, b.unpacked, negative: negative))
        }
    }

    /// ∞ − ∞, 0 × ∞, 0/0, ∞/∞ (invalid, the QNaN indefinite) and x/0 (zero-divide, an
    /// infinity), or nil.
    static func invalidOrZeroDivide(_ op: Operation, _ a: X87Register, _ b: X87Register, control: X87Control) -> X87Outcome? {
        let ka = a.kind
        let kb = b.kind
        switch op {
        case .add, .subtract:
            let opposite = (a.isNegative != b.isNegative) != (op == .subtract)
            return ka == .infinity && kb == .infinity && opposite ? .invalid : nil
        case .multiply:
            return (ka == .infinity && kb == .zero) || (ka == .zero && kb == .infinity) ? .invalid : nil
        case .divide:
            if (ka == .infinity && kb == .infinity) || (ka == .zero && kb == .zero) { return .invalid }
            guard kb == .zero, ka != .infinity else { return nil }
            let value: X87Register? = control.unmasked(.zeroDivide) ? nil : .infinity(negative: a.isNegative != b.isNegative)
            return X87Outcome(value: value, flags: .zeroDivide)
        }
    }

    /// The exact sum of two values (nil standing for zero), or nil when it is exactly zero.
    static func add(_ a: UnpackedFloat?, _ b: UnpackedFloat?) -> UnpackedFloat? {
        guard var x = a else { return b }
        guard var y = b else { return x }
        if y.exponent > x.exponent || (y.exponent == x.exponent && y.significand > x.significand) { swap(&x, &y) }
        // One bit of headroom; the alignment loses bits only beyond 64 places, where the
        // sum can lose at most one leading bit, so the jammed sticky bit stays far below
        // any rounding position.
        let xs = x.significand >> 1
        let ys = shiftRightJam(y.significand >> 1, x.exponent - y.exponent)
        let sum = x.negative == y.negative ? xs + ys : xs - ys
        if sum == 0 { return nil }
        return UnpackedFloat(negative: x.negative, exponent: x.exponent + 1 - 127, integer: sum)
    }

    /// x / y with 128 quotient bits and a sticky bit.
    static func divide(_ x: UnpackedFloat, _ y: UnpackedFloat, negative: Bool) -> UnpackedFloat {
        let a = x.high64
        let b = UInt128(y.high64)
        // Q = floor(a × 2^k / b) in [2^127, 2^128): k = 127 when a ≥ b, else 128.
        let k = UInt64(a) >= UInt64(b) ? 127 : 128
        let n1 = UInt128(a) << UInt128(k - 64)
        let (q1, r1) = n1.quotientAndRemainder(dividingBy: b)
        let (q2, r2) = (r1 << 64).quotientAndRemainder(dividingBy: b)
        let q = (q1 << 64) | q2 | (r2 != 0 ? 1 : 0)
        // a/b = Q × 2^-k (+ the sticky part); with the operands' scales 2^(e - 63).
        return UnpackedFloat(negative: negative, exponent: (x.exponent - 63) - (y.exponent - 63) - k, integer: q)
    }

    /// FSQRT: the square root rounded to the precision control.
    static func squareRoot(_ a: X87Register, control: X87Control) -> X87Outcome {
        switch a.kind {
        case .unsupported: return .invalid
        case .quietNaN, .signalingNaN: return propagateNaN(a, a)
        case .zero: return X87Outcome(value: a)
        case .infinity: return a.isNegative ? .invalid : X87Outcome(value: a)
        case .denormal, .normal: break
        }
        if a.isNegative { return .invalid }
        var flags: X87Exceptions = []
        if a.kind == .denormal {
            flags.insert(.denormal)
            if control.unmasked(.denormal) { return X87Outcome(value: nil, flags: flags) }
        }
        let v = exactSquareRoot(a.unpacked)
        let unmasked = X87Exceptions.all.subtracting(control.masks)
        return X87Outcome(roundFloat(v, to: .extended(precision: control.precision), rounding: control.rounding, unmasked: unmasked), adding: flags)
    }

    /// √u with 66 or more significant bits and a sticky bit (u positive).
    static func exactSquareRoot(_ u: UnpackedFloat) -> UnpackedFloat {
        // u = m × 2^e with an even e; √u = √m × 2^(e/2).
        var m = UInt128(u.high64)
        var e = u.exponent - 63
        if e & 1 != 0 {
            m <<= 1
            e -= 1
        }
        // Digit by digit: m as 33 bit pairs, then 34 zero pairs: root ≈ √m × 2^34 (66-67 bits).
        var root: UInt128 = 0
        var remainder: UInt128 = 0
        for i in 0..<67 {
            let pair: UInt128 = i <= 32 ? (m >> UInt128(2 * (32 - i))) & 3 : 0
            remainder = (remainder << 2) | pair
            let trial = (root << 2) | 1
            root <<= 1
            if remainder >= trial {
                remainder -= trial
                root |= 1
            }
        }
        var v = UnpackedFloat(negative: false, exponent: e / 2 - 34, integer: root)
        if remainder != 0 { v.significand |= 1 }
        return v
    }

    /// x × y exactly (both operands carry at most 64 significant bits).
    static func multiply(_ x: UnpackedFloat, _ y: UnpackedFloat, negative: Bool) -> UnpackedFloat {
        UnpackedFloat(negative: negative, exponent: x.exponent + y.exponent - 126, integer: UInt128(x.high64) * UInt128(y.high64))
    }

    /// The x87 NaN rules (SDM vol. 1, table 4-7): a QNaN wins over an SNaN, of two NaNs of
    /// one kind the larger significand wins, and the result is quiet; an SNaN is invalid.
    static func propagateNaN(_ a: X87Register, _ b: X87Register) -> X87Outcome {
        let flags: X87Exceptions = a.kind == .signalingNaN || b.kind == .signalingNaN ? .invalid : []
        let result: X87Register
        if a.isNaN && b.isNaN {
            if a.kind != b.kind {
                result = a.kind == .quietNaN ? a : b
            } else if a.significand != b.significand {
                result = a.significand > b.significand ? a : b
            } else {
                result = a.isNegative ? b : a
            }
        } else {
            result = a.isNaN ? a : b
        }
        return X87Outcome(value: result.quieted, flags: flags)
    }
}
