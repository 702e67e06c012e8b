/// One decoded instruction, a plain value stored in the block arena.
///
/// Operands are normalised: `E` is the ModRM r/m operand (a register in `rm`, or memory
/// described by base/index/scale/disp/segment when `.memory` is set), `G` is the register in
/// `reg`. Accumulator and opcode-register forms are expressed as E operands without ModRM.
/// Byte registers 16...19 stand for AH, CH, DH, BH.
struct DecodedInstruction {
    var op: Op = .invalid
    var sub: UInt8 = 0
    var length: UInt8 = 0
    /// Operand size in bytes: 1, 2, 4 or 8.
    var size: UInt8 = 4
    /// Address size in bytes: 4 or 8 (2 only outside 64-bit mode).
    var addressSize: UInt8 = 8
    var reg: UInt8 = 0
    var rm: UInt8 = 0
    var base: UInt8 = DecodedInstruction.noRegister
    var index: UInt8 = DecodedInstruction.noRegister
    var scale: UInt8 = 0
    /// FS or GS override (`SegmentRegister` raw value), else `noRegister`.
    var segment: UInt8 = DecodedInstruction.noRegister
    var flags: InstructionFlags = []
    var displacement: UInt64 = 0
    var immediate: UInt64 = 0

    static let noRegister: UInt8 = 0xFF
    static let ripBase: UInt8 = 0xFE

    /// Jcc in any of its decoded forms (they may sit inside a block: see `DecodedBlock`).
    var isConditionalJump: Bool { op == .jcc || op == .jz || op == .jc }
}

struct InstructionFlags: OptionSet {
    var rawValue: UInt16
    /// E is memory.
    static let memory = InstructionFlags(rawValue: 1 << 0)
    /// The destination is G (else E).
    static let regIsDestination = InstructionFlags(rawValue: 1 << 1)
    /// The source is `immediate` (else the non-destination operand).
    static let sourceImmediate = InstructionFlags(rawValue: 1 << 2)
    static let lock = InstructionFlags(rawValue: 1 << 3)
    /// F3 prefix (REP/REPE).
    static let rep = InstructionFlags(rawValue: 1 << 4)
    /// F2 prefix (REPNE).
    static let repne = InstructionFlags(rawValue: 1 << 5)
    /// The count of a shift is CL.
    static let countCL = InstructionFlags(rawValue: 1 << 6)
    /// Sign-extending form (MOVSX).
    static let signExtend = InstructionFlags(rawValue: 1 << 7)
    /// Control leaves the straight line (ends a decoded block).
    static let endsBlock = InstructionFlags(rawValue: 1 << 8)
    /// 0x66 was present.
    static let operandSizePrefix = InstructionFlags(rawValue: 1 << 9)
    /// REX.W was present.
    static let rexW = InstructionFlags(rawValue: 1 << 10)
    /// SSE: the 16-byte memory operand must be 16-byte aligned.
    static let aligned16 = InstructionFlags(rawValue: 1 << 11)
}
