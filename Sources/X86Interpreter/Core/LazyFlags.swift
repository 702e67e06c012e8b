/// Arithmetic operations whose status flags are computed only when something reads them.
enum FlagOp: UInt8 {
    /// The status bits in `Interpreter.flagsBase` are current.
    case none
    case add, adc, sub, sbb
    /// AND/OR/XOR/TEST: CF = OF = 0, AF = 0.
    case logic
    /// INC/DEC: like ADD/SUB of 1, but CF is the preserved one, kept in `carryIn`.
    case inc, dec
}

/// The first operand and result of the last flag-setting operation (Bochs-style lazy flags).
/// `size` is in bytes; `result` and `a` are masked to it. The second operand is not stored:
/// it follows from them (`b`), which saves a store on every arithmetic instruction.
struct LazyFlags {
    var op: FlagOp = .none
    var size: UInt8 = 8
    var result: UInt64 = 0
    var a: UInt64 = 0
    /// Carry-in for ADC/SBB; the preserved CF for INC/DEC.
    var carryIn: UInt64 = 0

    /// The second operand: ADD r = a+b(+c), SUB r = a-b(-c), INC/DEC b = 1 (NEG records
    /// a = 0, so b is the negated value). Meaningless for `.logic` and `.none`.
    @inline(__always) var b: UInt64 {
        let m = sizeMask(size)
        switch op {
        case .add: return (result &- a) & m
        case .adc: return (result &- a &- carryIn) & m
        case .sub: return (a &- result) & m
        case .sbb: return (a &- result &- carryIn) & m
        case .inc, .dec: return 1
        case .logic, .none: return 0
        }
    }
}

@inline(__always) func sizeMask(_ size: UInt8) -> UInt64 {
    size >= 8 ? ~0 : (UInt64(1) << (UInt64(size) &* 8)) &- 1
}

@inline(__always) func signBit(_ size: UInt8) -> UInt64 {
    UInt64(1) << (UInt64(size) &* 8 &- 1)
}

@inline(__always) func signExtend(_ v: UInt64, from size: UInt8) -> UInt64 {
    switch size {
    case 1: UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v)))
    case 2: UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: v)))
    case 4: UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v)))
    default: v
    }
}

@inline(__always) func parityFlag(_ v: UInt64) -> Bool { UInt8(truncatingIfNeeded: v).nonzeroBitCount & 1 == 0 }
