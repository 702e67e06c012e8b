/// RFLAGS bits as plain masks (the tester works on raw 64-bit values).
enum FlagBits {
    static let cf: UInt64 = 1 << 0
    static let pf: UInt64 = 1 << 2
    static let af: UInt64 = 1 << 4
    static let zf: UInt64 = 1 << 6
    static let sf: UInt64 = 1 << 7
    static let tf: UInt64 = 1 << 8
    static let `if`: UInt64 = 1 << 9
    static let df: UInt64 = 1 << 10
    static let of: UInt64 = 1 << 11
    /// The six arithmetic status flags.
    static let status: UInt64 = cf | pf | af | zf | sf | of
    /// Bits compared after a run: status, TF, IF, DF, IOPL, NT, AC, ID and the fixed bit 1.
    /// (RF, VM, VIF, VIP are never visible through PUSHF at CPL 3.)
    static let compared: UInt64 = 0x24_7FD7

    /// Names of the set bits among the compared ones, e.g. "CF ZF".
    static func names(_ mask: UInt64) -> String {
        let table: [(UInt64, String)] = [
            (cf, "CF"), (2, "bit1"), (pf, "PF"), (af, "AF"), (zf, "ZF"), (sf, "SF"), (tf, "TF"), (`if`, "IF"),
            (df, "DF"), (of, "OF"), (0x3000, "IOPL"), (0x4000, "NT"), (0x4_0000, "AC"), (0x20_0000, "ID"),
        ]
        let s = table.filter { mask & $0.0 != 0 }.map(\.1).joined(separator: " ")
        return s.isEmpty ? "-" : s
    }
}

/// What an instruction does to the status flags, for tracking which flags are undefined.
struct FlagEffect {
    /// Flags whose value the instruction consumes (they must be defined before it).
    var reads: UInt64 = 0
    /// Flags it sets to architecturally defined values.
    var defines: UInt64 = 0
    /// Flags the SDM leaves undefined after it.
    var undefines: UInt64 = 0
    /// The instruction may be skipped by a branch: only its `undefines` are certain.
    var conditional = false

    static let none = FlagEffect()
    /// ADD/SUB/CMP/NEG/...: all six defined.
    static let arith = FlagEffect(defines: FlagBits.status)
    /// AND/OR/XOR/TEST: AF undefined.
    static let logic = FlagEffect(defines: FlagBits.status & ~FlagBits.af, undefines: FlagBits.af)

    /// Flags undefined after this instruction given `undefined` before it.
    func apply(to undefined: UInt64) -> UInt64 {
        conditional ? undefined | undefines : (undefined & ~defines & ~undefines) | undefines
    }
}

/// One encoded instruction of a test.
struct Instr {
    var address: UInt64
    var bytes: [UInt8]
    var text: String
    var flags: FlagEffect
}

/// A few instructions generated together by one class generator (setup + the instruction
/// under test + whatever makes it safe).
struct Snippet {
    var className: String
    var instrs: [Instr]
}

/// A complete generated test: initial state plus the code.
struct TestCase {
    var index: Int
    /// Address of the first instruction.
    var start: UInt64
    var snippets: [Snippet]
    /// Initial RAX..R15.
    var registers: [UInt64]
    var rflags: UInt64
    var buffer: [UInt8]
    var stack: [UInt8]
    /// The initial x87/SSE state as an FXSAVE image (64-bit format).
    var fpu: [UInt8]
    /// Status flags the SDM leaves undefined at the end of the sequence.
    var undefinedFlags: UInt64
    /// The register holding the data buffer's address.
    var baseRegister: Int
    /// Classes whose generator found no encodable snippet in 50 attempts (a tester bug).
    var unplaced: [String] = []

    var code: [UInt8] { snippets.flatMap { $0.instrs.flatMap(\.bytes) } }
    var end: UInt64 { start + UInt64(code.count) }
    var classNames: [String] { snippets.map(\.className).filter { $0 != "fixup" } }
}

/// The outcome of running a case on one side (host CPU or engine).
struct MachineResult: Equatable {
    var registers: [UInt64]
    var rflags: UInt64
    var buffer: [UInt8]
    var stack: [UInt8]
    /// The final x87/SSE state as an FXSAVE image.
    var fpu: [UInt8]
    /// nil when execution reached the end of the test code; otherwise what stopped it.
    var abnormalExit: String?
    /// Other problems seen on this side (the engine wrote to its code pages, ...).
    var notes: [String] = []
}
