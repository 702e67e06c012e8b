import X86

/// How two x87 values compare.
enum X87Order {
    case greater, less, equal, unordered

    /// C3, C2 and C0 in their status-word positions (FCOM, FUCOM, FTST, FICOM).
    var conditionCodes: UInt16 {
        switch self {
        case .greater: 0
        case .less: X87Status.c0
        case .equal: X87Status.c3
        case .unordered: X87Status.c3 | X87Status.c2 | X87Status.c0
        }
    }

    /// ZF, PF and CF (FCOMI, FUCOMI).
    var eflags: UInt64 {
        switch self {
        case .greater: 0
        case .less: 1 << 0
        case .equal: 1 << 6
        case .unordered: 1 << 6 | 1 << 2 | 1 << 0
        }
    }
}

/// Status-word bits besides the exception flags.
enum X87Status {
    static let stackFault: UInt16 = 1 << 6
    static let errorSummary: UInt16 = 1 << 7
    static let c0: UInt16 = 1 << 8
    static let c1: UInt16 = 1 << 9
    static let c2: UInt16 = 1 << 10
    static let c3: UInt16 = 1 << 14
    static let busy: UInt16 = 1 << 15
    static let conditionCodes: UInt16 = c0 | c1 | c2 | c3
    static let topMask: UInt16 = 7 << 11
}

extension X87Arithmetic {
    /// Compares `a` with `b`. Unsupported operands are invalid; NaNs are unordered and
    /// invalid when signaling, or always for the ordered comparisons (FCOM, FCOMI).
    static func compare(_ a: X87Register, _ b: X87Register, quietNaNIsInvalid: Bool, denormalSource: Bool = false) -> (X87Order, X87Exceptions) {
        let ka = a.kind
        let kb = b.kind
        if ka == .unsupported || kb == .unsupported { return (.unordered, .invalid) }
        if a.isNaN || b.isNaN {
            let invalid = quietNaNIsInvalid || ka == .signalingNaN || kb == .signalingNaN
            return (.unordered, invalid ? .invalid : [])
        }
        let flags: X87Exceptions = ka == .denormal || kb == .denormal || denormalSource ? .denormal : []
        return (order(a, b), flags)
    }

    /// The order of two non-NaN values (+0 equals -0).
    static func order(_ a: X87Register, _ b: X87Register) -> X87Order {
        let az = a.kind == .zero
        let bz = b.kind == .zero
        if az && bz { return .equal }
        if az { return b.isNegative ? .greater : .less }
        if bz { return a.isNegative ? .less : .greater }
        if a.isNegative != b.isNegative { return a.isNegative ? .less : .greater }
        let m = magnitudeOrder(a, b)
        guard a.isNegative else { return m }
        return m == .less ? .greater : (m == .greater ? .less : m)
    }

    private static func magnitudeOrder(_ a: X87Register, _ b: X87Register) -> X87Order {
        let ai = a.kind == .infinity
        let bi = b.kind == .infinity
        if ai || bi { return ai && bi ? .equal : (ai ? .greater : .less) }
        let x = a.unpacked
        let y = b.unpacked
        if x.exponent != y.exponent { return x.exponent > y.exponent ? .greater : .less }
        if x.significand != y.significand { return x.significand > y.significand ? .greater : .less }
        return .equal
    }
}
