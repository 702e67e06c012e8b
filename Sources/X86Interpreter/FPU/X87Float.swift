import X86

/// x87 exception flags, in their status-word bit positions (SDM vol. 1, 8.1.3.1), plus SF.
struct X87Exceptions: OptionSet {
    var rawValue: UInt16
    static let invalid = X87Exceptions(rawValue: 1 << 0)
    static let denormal = X87Exceptions(rawValue: 1 << 1)
    static let zeroDivide = X87Exceptions(rawValue: 1 << 2)
    static let overflow = X87Exceptions(rawValue: 1 << 3)
    static let underflow = X87Exceptions(rawValue: 1 << 4)
    static let precision = X87Exceptions(rawValue: 1 << 5)
    /// Stack fault: with `invalid`, a stack overflow (C1 = 1) or underflow (C1 = 0).
    static let stackFault = X87Exceptions(rawValue: 1 << 6)
    /// Exceptions detected before an operation computes anything: unmasked, the destination
    /// and the stack stay as they were.
    static let preComputation: X87Exceptions = [.invalid, .denormal, .zeroDivide]
    static let all = X87Exceptions(rawValue: 0x3F)
}

/// The RC field of the control word.
enum X87Rounding: UInt8 {
    case nearest = 0, down, up, towardZero
}

/// What an arithmetic operation needs from the control word: rounding, precision and masks.
struct X87Control {
    var rounding: X87Rounding
    /// Significand bits of results of FADD/FSUB/FMUL/FDIV/FSQRT: 24, 53 or 64 (PC field).
    var precision: Int
    /// Exception mask bits (set = masked).
    var masks: X87Exceptions

    init(word: UInt16) {
        rounding = X87Rounding(rawValue: UInt8((word >> 10) & 3)) ?? .nearest
        // PC = 01 is reserved; the processor treats it as 64 bits like 11.
        switch (word >> 8) & 3 {
        case 0: precision = 24
        case 2: precision = 53
        default: precision = 64
        }
        masks = X87Exceptions(rawValue: word & 0x3F)
    }

    func unmasked(_ e: X87Exceptions) -> Bool { !e.isEmpty && !masks.isSuperset(of: e.intersection(.all)) }
}

/// The kinds of 80-bit encodings (SDM vol. 1, table 8-3). Pseudo-denormals (exponent 0 with
/// the integer bit set) count as denormals: the FPU accepts them and raises #D. Unnormals,
/// pseudo-NaNs and pseudo-infinities are unsupported: using one is an invalid operation.
enum X87Class: Equatable {
    case zero, denormal, normal, infinity, quietNaN, signalingNaN, unsupported
}

extension X87Register {
    static let integerBit: UInt64 = 1 << 63
    static let quietBit: UInt64 = 1 << 62
    /// The QNaN floating-point indefinite: the masked response to invalid operations.
    static let indefinite = X87Register(significand: 0xC000_0000_0000_0000, signExponent: 0xFFFF)

    static func infinity(negative: Bool) -> X87Register {
        X87Register(significand: integerBit, signExponent: negative ? 0xFFFF : 0x7FFF)
    }

    static func zero(negative: Bool) -> X87Register {
        X87Register(significand: 0, signExponent: negative ? 0x8000 : 0)
    }

    var isNegative: Bool { signExponent & 0x8000 != 0 }
    var biasedExponent: Int { Int(signExponent & 0x7FFF) }

    var kind: X87Class {
        let e = signExponent & 0x7FFF
        let j = significand & Self.integerBit != 0
        if e == 0x7FFF {
            guard j else { return .unsupported }
            let fraction = significand & ~Self.integerBit
            if fraction == 0 { return .infinity }
            return fraction & Self.quietBit != 0 ? .quietNaN : .signalingNaN
        }
        if e == 0 { return significand == 0 ? .zero : .denormal }
        return j ? .normal : .unsupported
    }

    var isNaN: Bool { kind == .quietNaN || kind == .signalingNaN }

    var quieted: X87Register { X87Register(significand: significand | Self.quietBit, signExponent: signExponent) }
    var negated: X87Register { X87Register(significand: significand, signExponent: signExponent ^ 0x8000) }
    var absolute: X87Register { X87Register(significand: significand, signExponent: signExponent & 0x7FFF) }

    /// The value of a finite nonzero register (normal, denormal or pseudo-denormal).
    var unpacked: UnpackedFloat {
        let e = max(biasedExponent, 1) - 16383
        return UnpackedFloat(negative: isNegative, exponent: e - 63, integer: UInt128(significand))
    }
}

/// A finite nonzero value: `significand × 2^(exponent − 127)`, normalized so that bit 127
/// of the significand is set. Bits below the precision being rounded to may be a sticky
/// bit standing for more nonzero bits.
struct UnpackedFloat {
    var negative: Bool
    var exponent: Int
    var significand: UInt128

    /// `integer × 2^(scale)`, normalized (integer ≠ 0).
    init(negative: Bool, exponent scale: Int, integer: UInt128) {
        let lz = integer.leadingZeroBitCount
        self.negative = negative
        significand = integer << UInt128(lz)
        exponent = scale + 127 - lz
    }

    init(negative: Bool, normalizedExponent: Int, significand: UInt128) {
        self.negative = negative
        exponent = normalizedExponent
        self.significand = significand
    }

    /// The top 64 bits (the whole value for operands that came from registers).
    var high64: UInt64 { UInt64(truncatingIfNeeded: significand >> 64) }
}

/// A binary floating-point format results are rounded to.
struct FloatFormat {
    var precision: Int
    var minExponent: Int
    var maxExponent: Int
    var bias: Int

    static func extended(precision: Int) -> FloatFormat {
        FloatFormat(precision: precision, minExponent: -16382, maxExponent: 16383, bias: 16383)
    }
    static let double = FloatFormat(precision: 53, minExponent: -1022, maxExponent: 1023, bias: 1023)
    static let single = FloatFormat(precision: 24, minExponent: -126, maxExponent: 127, bias: 127)
}

/// A rounded result: a biased exponent field in its format (0 for denormals, all ones for
/// infinity) and the significand left-aligned in 64 bits, integer bit at bit 63.
struct RoundedFloat {
    var negative: Bool
    var exponentField: Int
    var significand: UInt64
    var flags: X87Exceptions = []
    /// The magnitude was rounded up (C1).
    var roundedUp = false

    var extended: X87Register {
        X87Register(significand: significand, signExponent: UInt16(truncatingIfNeeded: exponentField & 0x7FFF) | (negative ? 0x8000 : 0))
    }
    var single: UInt32 {
        (negative ? 1 << 31 : 0) | UInt32(truncatingIfNeeded: exponentField & 0xFF) << 23
            | UInt32(truncatingIfNeeded: significand >> 40) & 0x7F_FFFF
    }
    var double: UInt64 {
        (negative ? 1 << 63 : 0) | UInt64(truncatingIfNeeded: exponentField & 0x7FF) << 52 | (significand >> 11) & 0xF_FFFF_FFFF_FFFF
    }
}

/// Exponent adjustment of results delivered with overflow or underflow unmasked (SDM vol. 1,
/// 8.5.4 and 8.5.5): the true exponent minus or plus 3 × 2^13.
let x87WrapAdjustment = 24576

/// Rounds `v` to `format` under `rounding` (SDM vol. 1, 4.8.4 and 8.5): overflow gives
/// infinity or the largest finite number by rounding mode, or with overflow unmasked the
/// exponent-wrapped value; results below the normal range are denormalized and rounded at
/// the fixed bit positions, underflow being signalled when the result is tiny after rounding
/// and inexact, or with underflow unmasked tiny at all (the value is then exponent-wrapped).
func roundFloat(_ v: UnpackedFloat, to format: FloatFormat, rounding: X87Rounding, unmasked: X87Exceptions) -> RoundedFloat {
    let p = format.precision
    let shift = UInt128(128 - p)
    let negative = v.negative

    /// The top `p` bits of `sig` rounded: the kept bits, whether anything was dropped, and
    /// whether they were incremented (possibly to 2^p).
    func round(_ sig: UInt128) -> (kept: UInt128, inexact: Bool, up: Bool) {
        let rest = sig & ((1 << shift) - 1)
        let half: UInt128 = 1 << (shift - 1)
        var kept = sig >> shift
        let up: Bool
        switch rounding {
        case .nearest: up = rest > half || (rest == half && kept & 1 == 1)
        case .down: up = rest != 0 && negative
        case .up: up = rest != 0 && !negative
        case .towardZero: up = false
        }
        if up { kept += 1 }
        return (kept, rest != 0, up)
    }

    func normal(_ exponent: Int, _ kept: UInt128) -> (Int, UInt64) {
        if kept >> UInt128(p) != 0 { return (exponent + 1, 1 << 63) }  // carried into the next binade
        return (exponent, UInt64(truncatingIfNeeded: kept << UInt128(64 - p)))
    }

    var r = RoundedFloat(negative: negative, exponentField: 0, significand: 0)
    let rounded = round(v.significand)
    if v.exponent >= format.minExponent {
        let (e, sig) = normal(v.exponent, rounded.kept)
        r.roundedUp = rounded.up
        if rounded.inexact { r.flags.insert(.precision) }
        if e > format.maxExponent {
            r.flags.insert(.overflow)
            // Unmasked, the exponent wraps; only FSCALE can go beyond what wrapping brings
            // back into range, and then gets an infinity whatever the rounding.
            if unmasked.contains(.overflow) && e - x87WrapAdjustment <= format.maxExponent {
                r.exponentField = e - x87WrapAdjustment + format.bias
                r.significand = sig
                return r
            }
            if unmasked.contains(.overflow) {
                r.flags.insert(.precision)
                r.roundedUp = true
                r.exponentField = 2 * format.bias + 1
                r.significand = 1 << 63
                return r
            }
            r.flags.insert(.precision)
            let toInfinity = switch rounding {
            case .nearest: true
            case .up: !negative
            case .down: negative
            case .towardZero: false
            }
            r.roundedUp = toInfinity
            r.exponentField = toInfinity ? 2 * format.bias + 1 : format.maxExponent + format.bias
            r.significand = toInfinity ? 1 << 63 : ~UInt64(0) << UInt64(64 - p)
            return r
        }
        r.exponentField = e + format.bias
        r.significand = sig
        return r
    }
    // Below the normal range. Tiny "after rounding": unless rounding at unbounded exponent
    // carries the value up to 2^minExponent.
    let tiny = !(v.exponent == format.minExponent - 1 && rounded.kept >> UInt128(p) != 0)
    if unmasked.contains(.underflow) && v.exponent + x87WrapAdjustment < format.minExponent {
        // Beyond the wrap range (FSCALE only): a zero.
        r.flags.formUnion([.underflow, .precision])
        return r
    }
    if unmasked.contains(.underflow) {
        let (e, sig) = normal(v.exponent, rounded.kept)
        r.roundedUp = rounded.up
        if rounded.inexact { r.flags.insert(.precision) }
        if tiny { r.flags.insert(.underflow) }
        r.exponentField = e + format.bias + (tiny ? x87WrapAdjustment : 0)
        r.significand = sig
        return r
    }
    let distance = format.minExponent - v.exponent
    let denormalized = shiftRightJam(v.significand, distance)
    let d = round(denormalized)
    r.roundedUp = d.up
    if d.inexact {
        r.flags.insert(.precision)
        if tiny { r.flags.insert(.underflow) }
    }
    // The kept bits stay below 2^(p-1) or reach exactly it (the smallest normal).
    r.exponentField = d.kept >> UInt128(p - 1) != 0 ? format.minExponent + format.bias : 0
    r.significand = UInt64(truncatingIfNeeded: d.kept << UInt128(64 - p))
    return r
}

/// Shifts right, ORing every bit shifted out into bit 0 (so inexactness survives).
@inline(__always)
func shiftRightJam(_ x: UInt128, _ n: Int) -> UInt128 {
    if n <= 0 { return x }
    if n >= 128 { return x != 0 ? 1 : 0 }
    let lost = x & ((1 << UInt128(n)) - 1)
    return (x >> UInt128(n)) | (lost != 0 ? 1 : 0)
}
