import X86

/// MXCSR's fields (SDM vol. 1, 10.2.3): the exception flags and masks in the x87 order,
/// DAZ, the rounding control and FTZ.
struct MXCSRControl {
    var raw: UInt32
    var masks: X87Exceptions { X87Exceptions(rawValue: UInt16((raw >> 7) & 0x3F)) }
    var rounding: X87Rounding { X87Rounding(rawValue: UInt8((raw >> 13) & 3)) ?? .nearest }
    var denormalsAreZero: Bool { raw & (1 << 6) != 0 }
    var flushToZero: Bool { raw & (1 << 15) != 0 }
    /// What the x87 conversions need: RC and every exception masked (SSE has no
    /// exponent-wrapped results; an unmasked exception suppresses the whole result).
    var control: X87Control {
        var c = X87Control(word: 0x037F)
        c.rounding = rounding
        return c
    }
}

/// One lane of SSE floating point, in software on the x87 machinery: operands are widened
/// exactly to 80 bits, results rounded once to single or double.
enum SSEFloat {
    enum Operation { case add, subtract, multiply, divide, minimum, maximum, squareRoot }

    static func format(_ double: Bool) -> FloatFormat { double ? .double : .single }
    static func defaultNaN(_ double: Bool) -> UInt64 { double ? 0xFFF8_0000_0000_0000 : 0xFFC0_0000 }
    static func quietBit(_ double: Bool) -> UInt64 { double ? 1 << 51 : 1 << 22 }

    /// The widened operand; with DAZ a denormal reads as a zero of its sign. Also whether it
    /// raises #D (a denormal without DAZ).
    static func operand(_ bits: UInt64, double: Bool, mxcsr: MXCSRControl) -> (X87Register, denormal: Bool) {
        let w = double ? X87Conversion.widen(double: bits) : X87Conversion.widen(single: UInt32(truncatingIfNeeded: bits))
        if w.denormal && mxcsr.denormalsAreZero { return (.zero(negative: w.value.isNegative), false) }
        return (w.value, w.denormal)
    }

    /// Rounds a finite result to the lane's format, flushing tiny results to zero under FTZ.
    static func round(_ v: UnpackedFloat, double: Bool, mxcsr: MXCSRControl) -> (UInt64, X87Exceptions) {
        let r = roundFloat(v, to: format(double), rounding: mxcsr.rounding, unmasked: [])
        let tiny = r.flags.contains(.underflow) || (r.exponentField == 0 && r.significand != 0)
        if tiny && mxcsr.flushToZero && !mxcsr.masks.intersection(.underflow).isEmpty {
            return (v.negative ? (double ? 1 << 63 : 1 << 31) : 0, r.flags.union([.underflow, .precision]))
        }
        return (double ? r.double : UInt64(r.single), r.flags)
    }

    static func encode(_ r: X87Register, double: Bool) -> UInt64 {
        X87Conversion.narrow(r, toBits: double ? 64 : 32, control: X87Control(word: 0x037F)).bits ?? defaultNaN(double)
    }

    /// `a op b` for one lane (SQRT takes `b`). NaNs: an SNaN is invalid; the result is the
    /// first NaN operand, quieted (MIN and MAX instead return the second operand whenever
    /// either is a NaN, and any NaN is invalid for them).
    static func arithmetic(_ op: Operation, _ a: UInt64, _ b: UInt64, double: Bool, mxcsr: MXCSRControl) -> (UInt64, X87Exceptions) {
        let (x, xd) = operand(a, double: double, mxcsr: mxcsr)
        let (y, yd) = operand(b, double: double, mxcsr: mxcsr)
        switch op {
        case .minimum, .maximum:
            if x.isNaN || y.isNaN { return (y.isNaN ? b : encode(y, double: double), .invalid) }
            let order = X87Arithmetic.order(x, y)
            let first = op == .minimum ? order == .less : order == .greater
            let flags: X87Exceptions = xd || yd ? .denormal : []
            return (first ? encode(x, double: double) : encode(y, double: double), flags)
        case .squareRoot:
            if y.isNaN { return (b | quietBit(double), y.kind == .signalingNaN ? .invalid : []) }
            if y.kind == .zero { return (encode(y, double: double), []) }
            if y.isNegative { return (defaultNaN(double), .invalid) }
            if y.kind == .infinity { return (b, []) }
            let (bits, flags) = round(X87Arithmetic.exactSquareRoot(y.unpacked), double: double, mxcsr: mxcsr)
            return (bits, flags.union(yd ? .denormal : []))
        default:
            if x.isNaN || y.isNaN {
                let flags: X87Exceptions = x.kind == .signalingNaN || y.kind == .signalingNaN ? .invalid : []
                return ((x.isNaN ? a : b) | quietBit(double), flags)
            }
            let x87op: X87Arithmetic.Operation = switch op {
            case .add: .add
            case .subtract: .subtract
            case .multiply: .multiply
            default: .divide
            }
            if let special = X87Arithmetic.invalidOrZeroDivide(x87op, x, y, control: mxcsr.control) {
                if special.flags.contains(.invalid) { return (defaultNaN(double), .invalid) }
                return (encode(special.value ?? .indefinite, double: double), special.flags)
            }
            let flags: X87Exceptions = xd || yd ? .denormal : []
            switch X87Arithmetic.exactResult(x87op, x, y, rounding: mxcsr.rounding) {
            case .finite(let v):
                let (bits, more) = round(v, double: double, mxcsr: mxcsr)
                return (bits, flags.union(more))
            case .zero(let negative): return (encode(.zero(negative: negative), double: double), flags)
            case .infinity(let negative): return (encode(.infinity(negative: negative), double: double), flags)
            }
        }
    }

    /// CMPPS/CMPSS/CMPPD/CMPSD with predicate 0-7 (EQ LT LE UNORD NEQ NLT NLE ORD): all ones
    /// or zero. LT, LE, NLT and NLE signal on any NaN, the others on SNaNs only.
    static func compare(_ a: UInt64, _ b: UInt64, predicate: UInt8, double: Bool, mxcsr: MXCSRControl) -> (Bool, X87Exceptions) {
        let (x, xd) = operand(a, double: double, mxcsr: mxcsr)
        let (y, yd) = operand(b, double: double, mxcsr: mxcsr)
        let signaling = switch predicate & 7 {
        case 1, 2, 5, 6: true
        default: false
        }
        let (order, flags) = X87Arithmetic.compare(x, y, quietNaNIsInvalid: signaling)
        let denormal: X87Exceptions = (xd || yd) && order != .unordered ? .denormal : []
        let result: Bool = switch predicate & 7 {
        case 0: order == .equal
        case 1: order == .less
        case 2: order == .less || order == .equal
        case 3: order == .unordered
        case 4: order != .equal
        case 5: order != .less
        case 6: !(order == .less || order == .equal)
        default: order != .unordered
        }
        return (result, flags.union(denormal))
    }

    /// COMISS/COMISD (`ordered`: any NaN is invalid) and UCOMISS/UCOMISD.
    static func compareFlags(_ a: UInt64, _ b: UInt64, ordered: Bool, double: Bool, mxcsr: MXCSRControl) -> (X87Order, X87Exceptions) {
        let (x, xd) = operand(a, double: double, mxcsr: mxcsr)
        let (y, yd) = operand(b, double: double, mxcsr: mxcsr)
        let (order, flags) = X87Arithmetic.compare(x, y, quietNaNIsInvalid: ordered)
        return (order, flags.union((xd || yd) && order != .unordered ? .denormal : []))
    }

    /// CVTSI2SS/SD, CVTDQ2PS/PD: an integer rounded by RC.
    static func fromInteger(_ v: Int64, double: Bool, mxcsr: MXCSRControl) -> (UInt64, X87Exceptions) {
        if v == 0 { return (0, []) }
        return round(UnpackedFloat(negative: v < 0, exponent: 0, integer: UInt128(v.magnitude)), double: double, mxcsr: mxcsr)
    }

    /// CVT(T)SS2SI, CVT(T)SD2SI, CVT(T)PS2DQ, CVT(T)PD2DQ: NaNs and out-of-range values are
    /// invalid and give the integer indefinite.
    static func toInteger(_ bits: UInt64, double: Bool, bytes: Int, truncate: Bool, mxcsr: MXCSRControl) -> (UInt64, X87Exceptions) {
        let (x, _) = operand(bits, double: double, mxcsr: mxcsr)
        let r = X87Conversion.toInteger(x, bytes: bytes, rounding: truncate ? .towardZero : mxcsr.rounding, control: X87Control(word: 0x037F))
        return (r.bits ?? 0, r.flags)
    }

    /// CVTSS2SD, CVTPS2PD (exact but for NaNs and #D) and CVTSD2SS, CVTPD2PS (rounded).
    static func convert(_ bits: UInt64, fromDouble: Bool, mxcsr: MXCSRControl) -> (UInt64, X87Exceptions) {
        let (x, denormal) = operand(bits, double: fromDouble, mxcsr: mxcsr)
        var flags: X87Exceptions = denormal ? .denormal : []
        switch x.kind {
        case .normal, .denormal:
            let (result, more) = round(x.unpacked, double: !fromDouble, mxcsr: mxcsr)
            return (result, flags.union(more))
        default:
            let r = X87Conversion.narrow(x, toBits: fromDouble ? 32 : 64, control: mxcsr.control)
            flags.formUnion(r.flags)
            return (r.bits ?? defaultNaN(!fromDouble), flags)
        }
    }
}
