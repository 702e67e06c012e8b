/// Why an instruction the generator described has no encoding.
enum AsmError: Error {
    /// AH/CH/DH/BH together with something that needs REX.
    case highByteWithREX
    case displacementOutOfRange
    case badOperand
    /// Over the architectural limit of 15 bytes (the CPU raises #GP).
    case tooLong
}

/// One instruction to encode: legacy prefixes, REX.W, opcode bytes, a ModRM (reg field and
/// r/m operand) or a register folded into the opcode, and an immediate.
struct Inst {
    var prefixes: [UInt8] = []
    var rexW = false
    /// Emit a REX prefix even when nothing needs one (a redundant 0x40 is legal).
    var extraREX = false
    var opcode: [UInt8]
    /// The ModRM reg field: a /digit or a register number.
    var regField: Int = 0
    /// The register named by the reg field, if it names one (for the REX/high-byte rules).
    var regOperand: Reg? = nil
    var rm: RM? = nil
    /// A register added to the last opcode byte (B8+r, 50+r, 0F C8+r ...).
    var opcodeReg: Reg? = nil
    var imm: [UInt8] = []
    /// A REX byte placed before the legacy prefixes, where the CPU ignores it (only emitted
    /// when there are legacy prefixes to put it in front of).
    var staleREX: UInt8? = nil

    init(_ opcode: [UInt8], prefixes: [UInt8] = [], rexW: Bool = false) {
        self.opcode = opcode
        self.prefixes = prefixes
        self.rexW = rexW
    }

    /// Encodes the instruction to sit at `address` (which RIP-relative operands need).
    func assemble(at address: UInt64) throws(AsmError) -> [UInt8] {
        var rexR = false, rexX = false, rexB = false
        var needREX = rexW || extraREX
        var hasHigh = false
        for r in [regOperand, rm?.register, opcodeReg].compactMap({ $0 }) {
            if r.high { hasHigh = true }
            if r.requiresREX { needREX = true }
        }
        if regField >= 8 { rexR = true }
        if let r = opcodeReg, r.code >= 8 { rexB = true }

        var modrm: [UInt8] = []
        var ripPatch: (offset: Int, target: UInt64)? = nil
        var legacy = prefixes
        if let rm {
            switch rm {
            case .reg(let r):
                modrm = [UInt8(0xC0 | (regField & 7) << 3 | (r.code & 7))]
                if r.code >= 8 { rexB = true }
            case .mem(let m):
                if m.addr32 && !legacy.contains(0x67) { legacy.insert(0x67, at: 0) }
                if let s = m.segmentPrefix { legacy.insert(s, at: 0) }
                let enc = try Self.encodeMemory(m, regField: regField)
                modrm = enc.bytes
                rexX = enc.rexX
                rexB = rexB || enc.rexB
                if let t = enc.ripTarget { ripPatch = (enc.dispOffset, t) }
            }
        }
        if rexR || rexX || rexB { needREX = true }
        if hasHigh && needREX { throw .highByteWithREX }

        var out = legacy
        if let stale = staleREX, !legacy.isEmpty { out.insert(stale, at: 0) }
        if needREX {
            out.append(0x40 | (rexW ? 8 : 0) | (rexR ? 4 : 0) | (rexX ? 2 : 0) | (rexB ? 1 : 0))
        }
        var op = opcode
        if let r = opcodeReg { op[op.count - 1] |= UInt8(r.code & 7) }
        out += op
        let modrmStart = out.count
        out += modrm
        out += imm
        if let (offset, target) = ripPatch {
            let next = address &+ UInt64(out.count)
            let disp = Int64(bitPattern: target &- next)
            guard let d = Int32(exactly: disp) else { throw .displacementOutOfRange }
            withUnsafeBytes(of: d.littleEndian) { for (i, b) in $0.enumerated() { out[modrmStart + offset + i] = b } }
        }
        guard out.count <= 15 else { throw .tooLong }
        return out
    }

    /// ModRM, SIB and displacement bytes for a memory operand.
    private static func encodeMemory(_ m: Mem, regField: Int) throws(AsmError)
        -> (bytes: [UInt8], rexX: Bool, rexB: Bool, ripTarget: UInt64?, dispOffset: Int)
    {
        let rf = UInt8((regField & 7) << 3)
        let scaleBits: UInt8 = switch m.scale { case 1: 0; case 2: 1; case 4: 2; case 8: 3; default: 0 }
        guard [1, 2, 4, 8].contains(m.scale) else { throw .badOperand }
        if let i = m.index, i == R.rsp { throw .badOperand }
        let indexBits = UInt8((m.index ?? 4) & 7) << 3
        let rexX = (m.index ?? 0) >= 8
        switch m.base {
        case .ripTarget(let t):
            guard m.index == nil else { throw .badOperand }
            return ([0x05 | rf, 0, 0, 0, 0], false, false, t, 1)
        case .ripDisp(let d):
            guard m.index == nil else { throw .badOperand }
            return ([0x05 | rf] + le32(d), false, false, nil, 1)
        case .none:
            let d: Int32
            if let x = Int32(exactly: m.disp) {
                d = x
            } else if m.addr32, let u = UInt32(exactly: m.disp) {
                d = Int32(bitPattern: u)
            } else {
                throw .displacementOutOfRange
            }
            return ([0x04 | rf, scaleBits << 6 | indexBits | 5] + le32(d), rexX, false, nil, 2)
        case .reg(let b):
            let low = b & 7
            let needSIB = m.index != nil || low == 4 || m.forceSIB
            var mod: UInt8
            var dispBytes: [UInt8]
            let fits8 = Int8(exactly: m.disp) != nil
            if m.disp == 0 && low != 5 && m.dispWidth == .auto {
                mod = 0; dispBytes = []
            } else if fits8 && m.dispWidth != .d32 {
                mod = 1; dispBytes = [UInt8(bitPattern: Int8(m.disp))]
            } else {
                if let d = Int32(exactly: m.disp) {
                    dispBytes = le32(d)
                } else if m.addr32, let u = UInt32(exactly: m.disp) {
                    dispBytes = le32(UInt64(u))
                } else {
                    throw .displacementOutOfRange
                }
                mod = 2
            }
            if needSIB {
                return ([mod << 6 | rf | 4, scaleBits << 6 | indexBits | UInt8(low)] + dispBytes, rexX, b >= 8, nil, 2)
            }
            return ([mod << 6 | rf | UInt8(low)] + dispBytes, false, b >= 8, nil, 1)
        }
    }
}

func le16(_ v: UInt64) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
func le32(_ v: Int32) -> [UInt8] { le32(UInt64(UInt32(bitPattern: v))) }
func le32(_ v: UInt64) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * UInt64($0))) & 0xFF) } }

/// An immediate of `size` bytes holding the low bits of `v`.
func immBytes(_ v: UInt64, size: Int) -> [UInt8] {
    switch size {
    case 1: [UInt8(v & 0xFF)]
    case 2: le16(v)
    case 4: le32(v)
    default: le64(v)
    }
}
