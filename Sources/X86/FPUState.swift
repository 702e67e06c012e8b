/// One x87 data register as the FPU stores it: the 80-bit double extended-precision format,
/// a 64-bit significand with an explicit integer bit (bit 63) and the sign with a 15-bit
/// biased exponent (SDM vol. 1, 4.2.2). Any bit pattern may be held, unsupported ones too.
public struct X87Register: Equatable, Hashable, Sendable {
    public var significand: UInt64
    /// Bit 15: sign; bits 14-0: biased exponent (bias 16383).
    public var signExponent: UInt16

    @inlinable public init(significand: UInt64, signExponent: UInt16) {
        self.significand = significand
        self.signExponent = signExponent
    }

    public static let zero = X87Register(significand: 0, signExponent: 0)
}

/// One 128-bit XMM register (low and high quadwords).
public struct XMMRegister: Equatable, Hashable, Sendable {
    public var low: UInt64
    public var high: UInt64
    @inlinable public init(low: UInt64 = 0, high: UInt64 = 0) {
        self.low = low
        self.high = high
    }
}

/// The x87 FPU and SSE state of a vCPU: what FXSAVE stores (SDM vol. 1, 10.5.1).
///
/// The data registers are kept physically (R0-R7); ST(i) is R((TOP + i) mod 8), TOP being
/// bits 13-11 of the status word. The tag word is kept abridged, as FXSAVE stores it: bit i
/// set when R(i) is not empty; the full two-bit tags FSTENV/FSAVE store are derived from the
/// register contents. The defaults are the state after FNINIT with MXCSR at its reset value,
/// the state Xen gives a new vCPU. FCS and FDS are not kept: this CPU deprecates them
/// (they read as zero), as recent Intel processors do.
public struct FPUState: Equatable, Sendable {
    public var controlWord: UInt16 = 0x037F
    /// Exception flags, SF, ES, C0-C3, TOP and B.
    public var statusWord: UInt16 = 0
    public var abridgedTags: UInt8 = 0
    /// FOP: the last non-control instruction's opcode (low 3 bits of its first byte, then
    /// its ModRM byte).
    public var lastOpcode: UInt16 = 0
    /// FIP and FDP: the last non-control instruction's address and its memory operand's.
    public var lastInstructionPointer: UInt64 = 0
    public var lastDataPointer: UInt64 = 0
    public var registers: [8 of X87Register] = .init(repeating: .zero)
    public var mxcsr: UInt32 = 0x1F80
    public var xmm: [16 of XMMRegister] = .init(repeating: XMMRegister())

    public init() {}

    /// TOP, the physical index of ST(0).
    @inlinable public var top: Int { Int((statusWord >> 11) & 7) }

    /// ST(i) (whatever its tag says).
    public func st(_ i: Int) -> X87Register { registers[(top + i) & 7] }

    public static func == (a: FPUState, b: FPUState) -> Bool {
        guard a.controlWord == b.controlWord, a.statusWord == b.statusWord, a.abridgedTags == b.abridgedTags,
            a.lastOpcode == b.lastOpcode, a.lastInstructionPointer == b.lastInstructionPointer,
            a.lastDataPointer == b.lastDataPointer, a.mxcsr == b.mxcsr
        else { return false }
        for i in 0..<8 where a.registers[i] != b.registers[i] { return false }
        for i in 0..<16 where a.xmm[i] != b.xmm[i] { return false }
        return true
    }
}
