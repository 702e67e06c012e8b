#if canImport(Glibc)
    import Glibc
#endif
import X86

/// F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS.
///
/// Unlike the rest of the FPU these are not bit-exact: the values come from the host C
/// library's long double functions (on x86-64 glibc they use the same x87 instructions for
/// sin, cos, tan and atan2, so they mostly agree with the hardware), computed in the host's
/// default rounding; the flags follow the SDM (#IA for the invalid operands, #D, #Z for
/// FYL2X of 0, #U for tiny results, #P for inexact ones) and C1 is reported as 0. On hosts
/// without an 80-bit long double they raise #UD.
enum X87Transcendental {
    enum Function { case exp2m1, log2, log2p1, tangent, arctangent, sine, cosine }

    /// The largest |x| the trigonometric instructions reduce (2^63): beyond it C2 is set
    /// and the operand left unchanged.
    static func outOfRange(_ x: X87Register) -> Bool {
        let k = x.kind
        return (k == .normal || k == .denormal) && x.unpacked.exponent >= 63
    }

    #if arch(x86_64)
        static var available: Bool { true }

        static func float80(_ r: X87Register) -> Float80 {
            var f = Float80(0)
            withUnsafeMutableBytes(of: &f) {
                $0.storeBytes(of: r.significand, as: UInt64.self)
                $0.storeBytes(of: r.signExponent, toByteOffset: 8, as: UInt16.self)
            }
            return f
        }

        static func register(_ f: Float80) -> X87Register {
            withUnsafeBytes(of: f) {
                X87Register(significand: $0.load(as: UInt64.self), signExponent: $0.load(fromByteOffset: 8, as: UInt16.self))
            }
        }

        /// f(x) (or f(y, x) for the two-operand ones: y is ST(1)), with the SDM's special
        /// cases and flags. The operands are finite, infinite or NaN values (empty registers
        /// and ranges are the caller's).
        static func evaluate(_ function: Function, _ x: X87Register, _ y: X87Register = .zero, control: X87Control) -> X87Outcome {
            let twoOperands = function == .log2 || function == .log2p1 || function == .arctangent
            let operands = twoOperands ? [x, y] : [x]
            if operands.contains(where: { $0.kind == .unsupported }) { return .invalid }
            if operands.contains(where: \.isNaN) { return X87Arithmetic.propagateNaN(twoOperands ? y : x, x) }
            let fx = float80(x)
            let fy = float80(y)
            var flags: X87Exceptions = operands.contains { $0.kind == .denormal } ? .denormal : []
            if flags.contains(.denormal) && control.unmasked(.denormal) { return X87Outcome(value: nil, flags: flags) }
            let value: Float80
            switch function {
            case .sine, .cosine, .tangent:
                if fx.isInfinite { return .invalid }
                value = function == .sine ? sinl(fx) : (function == .cosine ? cosl(fx) : tanl(fx))
            case .exp2m1:
                value = fx.isInfinite ? (fx < 0 ? -1 : fx) : expm1l(fx * 0.693147180559945309417232121458176568)
            case .arctangent:
                value = atan2l(fy, fx)
            case .log2, .log2p1:
                let argument = function == .log2 ? fx : fx + 1
                if argument < 0 || (function == .log2p1 && fx < -1) { return .invalid }
                if argument == 0 || (function == .log2 && x.kind == .zero) {
                    // log2(0) = -∞: y × -∞, invalid for y = 0, a zero divide otherwise.
                    if fy == 0 { return .invalid }
                    if control.unmasked(.zeroDivide) { return X87Outcome(value: nil, flags: flags.union(.zeroDivide)) }
                    return X87Outcome(value: .infinity(negative: !y.isNegative), flags: flags.union(.zeroDivide))
                }
                if fx.isInfinite && fy == 0 { return .invalid }
                if argument == 1 && fy.isInfinite { return .invalid }
                value = fy * (function == .log2 ? log2l(argument) : log1pl(fx) / 0.693147180559945309417232121458176568)
            }
            if value.isNaN { return .invalid }
            let result = register(value)
            // Zeros (sin 0, 2^0 - 1, log2 1, atan2 of ±0), cos 0 = 1 and infinities from
            // infinite operands are exact; everything else is rounded.
            let exact = value == 0 || (function == .cosine && fx == 0)
                || (value.isInfinite && operands.contains { $0.kind == .infinity }) || (function == .exp2m1 && fx.isInfinite)
            if !exact { flags.insert(.precision) }
            if value.isInfinite && !operands.contains(where: { $0.kind == .infinity }) { flags.insert(.overflow) }
            if result.kind == .denormal || (value == 0 && !exact) { flags.insert(.underflow) }
            return X87Outcome(value: result, flags: flags)
        }
    #else
        static var available: Bool { false }
        static func evaluate(_ function: Function, _ x: X87Register, _ y: X87Register = .zero, control: X87Control) -> X87Outcome {
            .invalid
        }
    #endif
}
