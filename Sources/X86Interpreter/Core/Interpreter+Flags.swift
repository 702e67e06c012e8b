import X86

extension Interpreter {
    static let CF: UInt64 = 1 << 0
    static let PF: UInt64 = 1 << 2
    static let AF: UInt64 = 1 << 4
    static let ZF: UInt64 = 1 << 6
    static let SF: UInt64 = 1 << 7
    static let TF: UInt64 = 1 << 8
    static let IF: UInt64 = 1 << 9
    static let DF: UInt64 = 1 << 10
    static let OF: UInt64 = 1 << 11
    static let statusMask: UInt64 = CF | PF | AF | ZF | SF | OF

    /// Records a flag-setting operation for lazy evaluation. `b` is not stored (see
    /// `LazyFlags.b`); callers pass it so that each call site reads as the operation it is.
    @inline(__always)
    func setLazy(_ op: FlagOp, size: UInt8, result: UInt64, a: UInt64, b: UInt64) {
        lazy.op = op
        lazy.size = size
        lazy.result = result
        lazy.a = a
    }

    @inline(__always) var carryFlag: Bool {
        let l = lazy
        switch l.op {
        case .none: return flagsBase & Self.CF != 0
        case .inc, .dec: return l.carryIn != 0
        case .add: return l.result < l.a
        case .adc: return l.carryIn != 0 ? l.result <= l.a : l.result < l.a
        case .sub: return l.result > l.a  // a borrow wraps the result above a
        case .sbb: return l.carryIn != 0 ? l.a <= l.b : l.a < l.b
        case .logic: return false
        }
    }

    @inline(__always) var zeroFlag: Bool {
        lazy.op == .none ? flagsBase & Self.ZF != 0 : lazy.result == 0
    }

    @inline(__always) var signFlag: Bool {
        lazy.op == .none ? flagsBase & Self.SF != 0 : lazy.result & signBit(lazy.size) != 0
    }

    @inline(__always) var overflowFlag: Bool {
        let l = lazy
        let s = signBit(l.size)
        switch l.op {
        case .none: return flagsBase & Self.OF != 0
        case .add, .adc: return (~(l.a ^ l.b) & (l.a ^ l.result)) & s != 0
        case .sub, .sbb: return ((l.a ^ l.b) & (l.a ^ l.result)) & s != 0
        case .logic: return false
        case .inc: return l.result == s
        case .dec: return l.result == s &- 1
        }
    }

    @inline(__always) var parityFlagValue: Bool {
        lazy.op == .none ? flagsBase & Self.PF != 0 : parityFlag(lazy.result)
    }

    var auxCarryFlag: Bool {
        let l = lazy
        switch l.op {
        case .none: return flagsBase & Self.AF != 0
        case .logic: return false
        case .inc: return l.result & 0xF == 0
        case .dec: return l.result & 0xF == 0xF
        default: return (l.a ^ l.b ^ l.result) & 0x10 != 0
        }
    }

    /// Folds the lazy state into `flagsBase` (status bits become current).
    @inline(__always) func materializeFlags() {
        guard lazy.op != .none else { return }
        var f = flagsBase & ~Self.statusMask
        if carryFlag { f |= Self.CF }
        if parityFlagValue { f |= Self.PF }
        if auxCarryFlag { f |= Self.AF }
        if zeroFlag { f |= Self.ZF }
        if signFlag { f |= Self.SF }
        if overflowFlag { f |= Self.OF }
        flagsBase = f
        lazy.op = .none
    }

    /// The architectural RFLAGS value.
    var rflags: UInt64 {
        materializeFlags()
        return flagsBase
    }

    /// Sets status flags eagerly (shifts, multiplies, bit ops): `mask` selects which bits of
    /// `values` are written; the others keep their current value.
    @inline(__always) func setStatusFlags(_ values: UInt64, mask: UInt64) {
        materializeFlags()
        flagsBase = (flagsBase & ~mask) | (values & mask)
    }

    /// Sets SF, ZF and PF from a result (and clears nothing else).
    @inline(__always) func szpBits(_ result: UInt64, size: UInt8) -> UInt64 {
        var f: UInt64 = 0
        if result & sizeMask(size) == 0 { f |= Self.ZF }
        if result & signBit(size) != 0 { f |= Self.SF }
        if parityFlag(result) { f |= Self.PF }
        return f
    }

    /// Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc).
    @inline(__always) func condition(_ cc: UInt8) -> Bool {
        let r: Bool
        switch cc >> 1 {
        case 0: r = overflowFlag
        case 1: r = carryFlag
        case 2: r = zeroFlag
        case 3: r = carryFlag || zeroFlag
        case 4: r = signFlag
        case 5: r = parityFlagValue
        case 6: r = signFlag != overflowFlag
        default: r = zeroFlag || (signFlag != overflowFlag)
        }
        return cc & 1 == 0 ? r : !r
    }
}
