/// Operands of the tester's little x86-64 assembler, with their Intel-syntax spelling.

/// A general-purpose register at a width. `high` selects AH/CH/DH/BH (then `num` is 0...3
/// and names the 64-bit register whose bits 8-15 it is); those cannot be encoded with REX.
struct Reg: Equatable {
    let num: Int
    /// Width in bytes: 1, 2, 4 or 8.
    let size: Int
    let high: Bool

    init(_ num: Int, _ size: Int, high: Bool = false) {
        self.num = num
        self.size = size
        self.high = high
    }

    /// The value the ModRM/opcode field holds (AH..BH are 4...7 without REX).
    var code: Int { high ? num + 4 : num }
    /// The operand cannot be encoded without a REX prefix (R8-R15, or SPL/BPL/SIL/DIL).
    var requiresREX: Bool { !high && (num >= 8 || (size == 1 && num >= 4)) }

    static let names64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
    private static let legacy32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"]
    private static let legacy16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"]
    private static let legacy8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"]
    private static let high8 = ["ah", "ch", "dh", "bh"]

    var name: String {
        if high { return Self.high8[num & 3] }
        if num < 8 {
            switch size {
            case 1: return Self.legacy8[num]
            case 2: return Self.legacy16[num]
            case 4: return Self.legacy32[num]
            default: return Self.names64[num]
            }
        }
        let suffix = [1: "b", 2: "w", 4: "d"][size] ?? ""
        return "r\(num)" + suffix
    }

    /// Name of register `num` as an address register of 64 or 32 bits.
    static func addressName(_ num: Int, addr32: Bool) -> String {
        Reg(num, addr32 ? 4 : 8).name
    }
}

/// The fixed register numbers the generators refer to.
enum R {
    static let rax = 0, rcx = 1, rdx = 2, rbx = 3, rsp = 4, rbp = 5, rsi = 6, rdi = 7
}

/// A memory operand. Displacements are kept as 64-bit values and checked when encoded.
struct Mem {
    enum Base: Equatable {
        /// [reg + ...]
        case reg(Int)
        /// [rip + disp32] aimed at an absolute address (the encoder computes the displacement).
        case ripTarget(UInt64)
        /// [rip + disp32] with a given displacement (LEA only: the address is not accessed).
        case ripDisp(Int32)
        /// No base: [index*scale + disp32] or [disp32].
        case none
    }

    /// How the encoder writes the displacement: the shortest form, or a forced width.
    enum DispWidth { case auto, d8, d32 }

    var base: Base
    var index: Int? = nil
    var scale: Int = 1
    var disp: Int64 = 0
    /// 0x67: 32-bit address computation.
    var addr32 = false
    var dispWidth: DispWidth = .auto
    /// Use a SIB byte even when none is needed.
    var forceSIB = false
    /// A segment-override prefix byte (CS/SS/DS/ES, all ignored in 64-bit mode).
    var segmentPrefix: UInt8? = nil
    /// The address the operand names, when the generator knows it (not for [rsp+d]); it does
    /// not affect the encoding.
    var target: UInt64? = nil

    init(base: Base, index: Int? = nil, scale: Int = 1, disp: Int64 = 0, addr32: Bool = false) {
        self.base = base
        self.index = index
        self.scale = scale
        self.disp = disp
        self.addr32 = addr32
    }

    /// Intel-syntax text of the address, e.g. `[rbx+r9*4-0x10]`.
    var addressText: String {
        var parts = ""
        let ip = addr32 ? "eip" : "rip"
        switch base {
        case .reg(let b): parts = Reg.addressName(b, addr32: addr32)
        case .ripTarget(let t): return "[\(ip) -> 0x\(String(t, radix: 16))]"
        case .ripDisp(let d): return "[\(ip)\(signedHex(Int64(d)))]"
        case .none: break
        }
        if let i = index {
            if !parts.isEmpty { parts += "+" }
            parts += Reg.addressName(i, addr32: addr32) + (scale == 1 ? "" : "*\(scale)")
        }
        if parts.isEmpty { return "[0x\(String(UInt32(truncatingIfNeeded: disp), radix: 16))]" }
        if disp != 0 || dispWidth != .auto { parts += signedHex(disp) }
        let seg = segmentPrefix.map { [0x2E: "cs:", 0x36: "ss:", 0x3E: "ds:", 0x26: "es:"][$0] ?? "" } ?? ""
        return seg + "[" + parts + "]"
    }

    func text(size: Int) -> String { sizeName(size) + " " + addressText }
}

/// A ModRM r/m operand.
enum RM {
    case reg(Reg)
    case mem(Mem)

    func text(size: Int) -> String {
        switch self {
        case .reg(let r): r.name
        case .mem(let m): m.text(size: size)
        }
    }

    var isMemory: Bool { if case .mem = self { true } else { false } }
    var register: Reg? { if case .reg(let r) = self { r } else { nil } }
}

func sizeName(_ size: Int) -> String {
    switch size {
    case 1: "byte"
    case 2: "word"
    case 4: "dword"
    case 8: "qword"
    case 16: "xmmword"
    default: "\(size)-byte"
    }
}

func signedHex(_ v: Int64) -> String {
    v < 0 ? "-0x" + String(v.magnitude, radix: 16) : "+0x" + String(v, radix: 16)
}

func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
