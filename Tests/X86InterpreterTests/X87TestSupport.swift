import GuestMemory
import X86
@testable import X86Interpreter

/// The x87 cross-checks' generator.
typealias TestRandom = SplitMix

extension SplitMix {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
}

/// Values that exercise every x87 encoding class and the rounding and range corners.
enum X87Samples {
    static func register(_ r: inout TestRandom) -> X87Register {
        let sign: UInt16 = r.chance(50) ? 0x8000 : 0
        let j = X87Register.integerBit
        let fraction = r.next() & ~j
        switch r.below(20) {
        case 0: return X87Register(significand: 0, signExponent: sign)
        case 1: return X87Register(significand: fraction >> UInt64(r.below(63)), signExponent: sign)  // denormal
        case 2: return X87Register(significand: j | fraction, signExponent: sign)  // pseudo-denormal
        case 3: return X87Register(significand: j, signExponent: sign | 0x7FFF)  // infinity
        case 4: return X87Register(significand: j | X87Register.quietBit | (fraction >> UInt64(r.below(63))), signExponent: sign | 0x7FFF)
        case 5: return X87Register(significand: j | max(1, (fraction >> UInt64(r.below(63))) & ~X87Register.quietBit), signExponent: sign | 0x7FFF)
        case 6: return X87Register(significand: fraction, signExponent: sign | UInt16(1 + r.below(0x7FFF)))  // unnormal etc.
        case 7: return X87Register(significand: j | (fraction & ~(~0 >> 24)), signExponent: sign | UInt16(16370 + r.below(30)))  // 24-bit
        case 8: return X87Register(significand: j | (fraction & ~(~0 >> 53)), signExponent: sign | UInt16(16370 + r.below(30)))  // 53-bit
        case 9: return X87Register(significand: j | fraction, signExponent: sign | UInt16(1 + r.below(70)))  // near the bottom
        case 10: return X87Register(significand: j | fraction, signExponent: sign | UInt16(0x7FFE - r.below(70)))  // near the top
        case 11: return X87Conversion.fromInteger(Int64(r.below(2001)) - 1000)
        case 12: return X87Register(significand: j | (r.chance(50) ? ~0 >> 1 : 0), signExponent: sign | UInt16(16383 + r.below(70) - 35))
        case 13: return X87Register(significand: j | fraction, signExponent: sign | UInt16(16383 - 1022 + r.below(3) - 1))  // double edges
        case 14: return X87Register(significand: j | fraction, signExponent: sign | UInt16(16383 + 1023 + r.below(3) - 1))
        case 15: return X87Register(significand: j | fraction, signExponent: sign | UInt16(16383 - 126 - 24 + r.below(30)))  // single edges
        default: return X87Register(significand: j | fraction, signExponent: sign | UInt16(16383 + r.below(140) - 70))
        }
    }

    static func single(_ r: inout TestRandom) -> UInt32 {
        let sign: UInt32 = r.chance(50) ? 1 << 31 : 0
        let f = UInt32(truncatingIfNeeded: r.next()) & 0x7F_FFFF
        switch r.below(8) {
        case 0: return sign
        case 1: return sign | max(1, f >> UInt32(r.below(23)))
        case 2: return sign | 0x7F80_0000 | (r.chance(50) ? 0 : f)
        case 3: return sign | 0x7FC0_0000 | f
        default: return sign | UInt32(1 + r.below(254)) << 23 | f
        }
    }

    static func double(_ r: inout TestRandom) -> UInt64 {
        let sign: UInt64 = r.chance(50) ? 1 << 63 : 0
        let f = r.next() & 0xF_FFFF_FFFF_FFFF
        switch r.below(8) {
        case 0: return sign
        case 1: return sign | max(1, f >> UInt64(r.below(52)))
        case 2: return sign | 0x7FF0_0000_0000_0000 | (r.chance(50) ? 0 : f)
        case 3: return sign | 0x7FF8_0000_0000_0000 | f
        default: return sign | UInt64(1 + r.below(2046)) << 52 | f
        }
    }

    /// A state with random registers, tags, TOP, rounding and precision, masked flags set at
    /// random and, in `unmaskedPercent` of states, some exceptions unmasked (never pending).
    static func state(_ r: inout TestRandom, unmaskedPercent: Int = 20) -> FPUState {
        var s = FPUState()
        var cw: UInt16 = 0x0040 | UInt16(r.below(4)) << 10 | [0, 2, 3, 3, 1][r.below(5)] << 8
        cw |= r.chance(unmaskedPercent) ? UInt16(r.next() & 0x3F) : 0x3F
        s.controlWord = cw
        let flags = UInt16(r.next() & 0x3F) & cw & (r.chance(30) ? 0x3F : 0)
        s.statusWord = UInt16(r.below(8)) << 11 | flags | UInt16(r.next() & 0x4700)
        for i in 0..<8 {
            s.registers[i] = register(&r)
            if r.chance(80) { s.abridgedTags |= 1 << UInt8(i) }
        }
        return s
    }

    static func bytes(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) } }
}

/// The engine's side of a cross-check: the same instruction from the same state.
enum X87EngineRunner {
    static func run(_ instruction: [UInt8], state: FPUState, memory: [UInt8], rax: UInt64, rflags: UInt64) throws -> (NativeX87.Result, VCPUExit) {
        let m = try TestMachine(code: instruction + [0xF4])
        var s = m.state
        s.fpu = state
        s[.rax] = rax
        s[.rsi] = TestMachine.dataBase
        s.rflags = RFlags(rawValue: rflags)
        s.cr4.insert(.osfxsr)  // as the host OS runs
        m.state = s
        let buffer = memory + [UInt8](repeating: 0, count: max(0, NativeX87.bufferSize - memory.count))
        m.memory.write(buffer, at: MachineAddress(TestMachine.dataBase))
        let exit = m.run()
        let out = m.memory.read(at: MachineAddress(TestMachine.dataBase), count: NativeX87.bufferSize) ?? []
        let after = m.state
        return (NativeX87.Result(image: after.fpu.fxsaveImage(format64: true), memory: out, rax: after[.rax], rflags: after.rflags.rawValue), exit)
    }

    /// The differences that matter between a native and an engine result: the control,
    /// status and tag words, FOP, the registers, MXCSR, the XMM registers, memory, RAX and
    /// the status flags. FIP and
    /// FDP hold different addresses on the two sides and are checked separately.
    static func differences(native n: NativeX87.Result, engine e: NativeX87.Result) -> [String] {
        var d: [String] = []
        func word(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
        for (name, at) in [("FCW", 0), ("FSW", 2)] where word(n.image, at) != word(e.image, at) {
            d.append("\(name) native \(hex(word(n.image, at))) engine \(hex(word(e.image, at)))")
        }
        if n.image[4] != e.image[4] { d.append("FTW native \(hex(n.image[4])) engine \(hex(e.image[4]))") }
        if word(n.image, 6) != word(e.image, 6) { d.append("FOP native \(hex(word(n.image, 6))) engine \(hex(word(e.image, 6)))") }
        for i in 0..<8 {
            let a = Array(n.image[(32 + 16 * i)..<(42 + 16 * i)])
            let b = Array(e.image[(32 + 16 * i)..<(42 + 16 * i)])
            if a != b { d.append("ST\(i) native \(x87Hex(a)) engine \(x87Hex(b))") }
        }
        if n.image[24..<28] != e.image[24..<28] { d.append("MXCSR native \(n.image[24..<28].map { hex($0) }) engine \(e.image[24..<28].map { hex($0) })") }
        for i in 0..<16 where n.image[(160 + 16 * i)..<(176 + 16 * i)] != e.image[(160 + 16 * i)..<(176 + 16 * i)] {
            let lane = { (b: [UInt8]) in hex(quad(b, 168 + 16 * i)) + ":" + hex(quad(b, 160 + 16 * i)) }
            d.append("XMM\(i) native \(lane(n.image)) engine \(lane(e.image))")
        }
        if n.memory != e.memory { d.append("memory native \(n.memory.prefix(16).map { hex($0) }) engine \(e.memory.prefix(16).map { hex($0) })") }
        if n.rax != e.rax { d.append("RAX native \(hex(n.rax)) engine \(hex(e.rax))") }
        if n.rflags & 0x8D5 != e.rflags & 0x8D5 { d.append("RFLAGS native \(hex(n.rflags)) engine \(hex(e.rflags))") }
        return d
    }

    static func quad(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << UInt64(8 * $1) } }

    static func x87Hex(_ b: [UInt8]) -> String {
        let se = UInt16(b[8]) | UInt16(b[9]) << 8
        let sig = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[$1]) << UInt64(8 * $1) }
        return hex(se) + ":" + hex(sig)
    }

    static func describe(_ s: FPUState) -> String {
        var out = "FCW \(hex(s.controlWord)) FSW \(hex(s.statusWord)) tags \(hex(s.abridgedTags))"
        for i in 0..<8 {
            let r = s.st(i)
            out += " ST\(i)=\(hex(r.signExponent)):\(hex(r.significand))"
        }
        return out
    }
}

func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
