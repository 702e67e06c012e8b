/// How an opcode's immediate is encoded.
enum ImmediateKind: UInt8 {
    case none
    /// imm8, sign-extended to the operand size.
    case byteSigned
    /// imm8, zero-extended (ports, vectors, shift and bit counts).
    case byteUnsigned
    /// imm16, zero-extended (RET imm16).
    case word
    /// imm16 or imm32 by operand size, sign-extended to 64 bits.
    case z
    /// imm16/32/64 by operand size (MOV r, imm).
    case v
    /// ENTER: imm16 then imm8.
    case enter
    /// rel8 / rel32 branch displacements, sign-extended.
    case rel8, rel32
    /// moffs: an address of the address size.
    case offset
}

/// How an opcode's operand size is chosen.
enum SizeKind: UInt8 {
    /// Always 1 byte.
    case byte
    /// 2, 4 or 8: 66 gives 16, REX.W gives 64, else 32.
    case v
    /// Near branches, PUSH and POP in 64-bit mode: 64, or 16 with 66.
    case default64
    /// Always 64 in 64-bit mode (MOV CR/DR, far pointers' offsets aside).
    case force64
    /// Always 16 bits.
    case word
}

/// Which ModRM-selected group an opcode belongs to, if any.
enum OpcodeGroup: UInt8 {
    case none, group1, group1A, group2, group3, group4, group5, group6, group7, group8, group9,
        group11, group15, group16Prefetch, nopHint
}

/// One entry of an opcode map: the operation and how to decode its operands.
struct OpcodeEntry {
    var op: Op = .invalid
    var sub: UInt8 = 0
    var modrm = false
    var immediate: ImmediateKind = .none
    var size: SizeKind = .v
    var flags: InstructionFlags = []
    var group: OpcodeGroup = .none
    var lockable = false
    /// Not encodable in 64-bit mode (#UD there).
    var invalidIn64 = false
}

/// The one- and two-byte opcode maps. Built once; the decoder looks opcodes up here and
/// refines group opcodes by ModRM.reg.
struct OpcodeTables {
    var oneByte = [OpcodeEntry](repeating: OpcodeEntry(), count: 256)
    var twoByte = [OpcodeEntry](repeating: OpcodeEntry(), count: 256)

    static let shared = OpcodeTables()

    init() {
        buildOneByteMap()
        buildTwoByteMap()
    }

    private mutating func one(_ opcode: Int, _ e: OpcodeEntry) { oneByte[opcode] = e }
    private mutating func two(_ opcode: Int, _ e: OpcodeEntry) { twoByte[opcode] = e }

    private mutating func buildOneByteMap() {
        // 00-3F: the eight ALU ops in six forms each.
        for kind in 0..<8 {
            let b = kind * 8
            let k = UInt8(kind)
            let lockable = kind != 7
            one(b + 0, .init(op: .alu, sub: k, modrm: true, size: .byte, lockable: lockable))
            one(b + 1, .init(op: .alu, sub: k, modrm: true, size: .v, lockable: lockable))
            one(b + 2, .init(op: .alu, sub: k, modrm: true, size: .byte, flags: .regIsDestination))
            one(b + 3, .init(op: .alu, sub: k, modrm: true, size: .v, flags: .regIsDestination))
            one(b + 4, .init(op: .alu, sub: k, immediate: .byteSigned, size: .byte, flags: .sourceImmediate))
            one(b + 5, .init(op: .alu, sub: k, immediate: .z, size: .v, flags: .sourceImmediate))
        }
        for o in [0x06, 0x07, 0x0E, 0x16, 0x17, 0x1E, 0x1F, 0x27, 0x2F, 0x37, 0x3F] {
            one(o, .init(invalidIn64: true))
        }
        // 26 2E 36 3E are prefixes; 40-4F are REX in 64-bit mode.
        for r in 0..<8 {
            one(0x50 + r, .init(op: .push, sub: UInt8(r), size: .default64))
            one(0x58 + r, .init(op: .pop, sub: UInt8(r), size: .default64))
            one(0x90 + r, .init(op: .xchg, sub: UInt8(r)))
            one(0xB0 + r, .init(op: .mov, sub: UInt8(r), immediate: .byteSigned, size: .byte, flags: .sourceImmediate))
            one(0xB8 + r, .init(op: .mov, sub: UInt8(r), immediate: .v, size: .v, flags: .sourceImmediate))
        }
        for o in 0x60...0x62 { one(o, .init(invalidIn64: true)) }
        one(0x63, .init(op: .movsxd, modrm: true, flags: .regIsDestination))
        one(0x68, .init(op: .push, immediate: .z, size: .default64, flags: .sourceImmediate))
        one(0x69, .init(op: .imul, modrm: true, immediate: .z, flags: [.regIsDestination, .sourceImmediate]))
        one(0x6A, .init(op: .push, immediate: .byteSigned, size: .default64, flags: .sourceImmediate))
        one(0x6B, .init(op: .imul, modrm: true, immediate: .byteSigned, flags: [.regIsDestination, .sourceImmediate]))
        one(0x6C, .init(op: .ins, size: .byte))
        one(0x6D, .init(op: .ins))
        one(0x6E, .init(op: .outs, size: .byte))
        one(0x6F, .init(op: .outs))
        for cc in 0..<16 {
            one(0x70 + cc, .init(op: .jcc, sub: UInt8(cc), immediate: .rel8, size: .default64, flags: .endsBlock))
        }
        one(0x80, .init(modrm: true, immediate: .byteSigned, size: .byte, flags: .sourceImmediate, group: .group1))
        one(0x81, .init(modrm: true, immediate: .z, flags: .sourceImmediate, group: .group1))
        one(0x82, .init(invalidIn64: true))
        one(0x83, .init(modrm: true, immediate: .byteSigned, flags: .sourceImmediate, group: .group1))
        one(0x84, .init(op: .test, modrm: true, size: .byte))
        one(0x85, .init(op: .test, modrm: true))
        one(0x86, .init(op: .xchg, modrm: true, size: .byte, lockable: true))
        one(0x87, .init(op: .xchg, modrm: true, lockable: true))
        one(0x88, .init(op: .mov, modrm: true, size: .byte))
        one(0x89, .init(op: .mov, modrm: true))
        one(0x8A, .init(op: .mov, modrm: true, size: .byte, flags: .regIsDestination))
        one(0x8B, .init(op: .mov, modrm: true, flags: .regIsDestination))
        one(0x8C, .init(op: .movFromSegment, modrm: true))
        one(0x8D, .init(op: .lea, modrm: true, flags: .regIsDestination))
        one(0x8E, .init(op: .movToSegment, modrm: true, size: .word, flags: .endsBlock))
        one(0x8F, .init(modrm: true, size: .default64, group: .group1A))
        one(0x98, .init(op: .signExtendAccumulator))
        one(0x99, .init(op: .signExtendIntoDX))
        one(0x9A, .init(invalidIn64: true))
        one(0x9B, .init(op: .fwait))
        one(0x9C, .init(op: .pushf, size: .default64))
        one(0x9D, .init(op: .popf, size: .default64, flags: .endsBlock))
        one(0x9E, .init(op: .sahf))
        one(0x9F, .init(op: .lahf))
        one(0xA0, .init(op: .mov, immediate: .offset, size: .byte, flags: .regIsDestination))
        one(0xA1, .init(op: .mov, immediate: .offset, flags: .regIsDestination))
        one(0xA2, .init(op: .mov, immediate: .offset, size: .byte))
        one(0xA3, .init(op: .mov, immediate: .offset))
        one(0xA4, .init(op: .movs, size: .byte))
        one(0xA5, .init(op: .movs))
        one(0xA6, .init(op: .cmps, size: .byte))
        one(0xA7, .init(op: .cmps))
        one(0xA8, .init(op: .test, immediate: .byteSigned, size: .byte, flags: .sourceImmediate))
        one(0xA9, .init(op: .test, immediate: .z, flags: .sourceImmediate))
        one(0xAA, .init(op: .stos, size: .byte))
        one(0xAB, .init(op: .stos))
        one(0xAC, .init(op: .lods, size: .byte))
        one(0xAD, .init(op: .lods))
        one(0xAE, .init(op: .scas, size: .byte))
        one(0xAF, .init(op: .scas))
        one(0xC0, .init(modrm: true, immediate: .byteUnsigned, size: .byte, flags: .sourceImmediate, group: .group2))
        one(0xC1, .init(modrm: true, immediate: .byteUnsigned, flags: .sourceImmediate, group: .group2))
        one(0xC2, .init(op: .ret, immediate: .word, size: .default64, flags: .endsBlock))
        one(0xC3, .init(op: .ret, size: .default64, flags: .endsBlock))
        one(0xC4, .init(invalidIn64: true))  // VEX: no AVX in this CPU.
        one(0xC5, .init(invalidIn64: true))
        one(0xC6, .init(modrm: true, immediate: .byteSigned, size: .byte, flags: .sourceImmediate, group: .group11))
        one(0xC7, .init(modrm: true, immediate: .z, flags: .sourceImmediate, group: .group11))
        one(0xC8, .init(op: .enter, immediate: .enter, size: .default64))
        one(0xC9, .init(op: .leave, size: .default64))
        one(0xCA, .init(op: .retFar, immediate: .word, flags: .endsBlock))
        one(0xCB, .init(op: .retFar, flags: .endsBlock))
        one(0xCC, .init(op: .int3, flags: .endsBlock))
        one(0xCD, .init(op: .int, immediate: .byteUnsigned, flags: .endsBlock))
        one(0xCE, .init(invalidIn64: true))  // INTO
        one(0xCF, .init(op: .iret, flags: .endsBlock))
        one(0xD0, .init(op: .shift, modrm: true, size: .byte, group: .group2))
        one(0xD1, .init(op: .shift, modrm: true, group: .group2))
        one(0xD2, .init(op: .shift, modrm: true, size: .byte, flags: .countCL, group: .group2))
        one(0xD3, .init(op: .shift, modrm: true, flags: .countCL, group: .group2))
        for o in [0xD4, 0xD5, 0xD6] { one(o, .init(invalidIn64: true)) }
        one(0xD7, .init(op: .xlat, size: .byte))
        // D8-DF: x87 escape opcodes, refined by the decoder (`decodeX87`).
        for o in 0xD8...0xDF { one(o, .init(op: .x87, sub: UInt8(o - 0xD8), modrm: true)) }
        one(0xE0, .init(op: .loop, sub: 0, immediate: .rel8, size: .default64, flags: .endsBlock))
        one(0xE1, .init(op: .loop, sub: 1, immediate: .rel8, size: .default64, flags: .endsBlock))
        one(0xE2, .init(op: .loop, sub: 2, immediate: .rel8, size: .default64, flags: .endsBlock))
        one(0xE3, .init(op: .loop, sub: 3, immediate: .rel8, size: .default64, flags: .endsBlock))
        one(0xE4, .init(op: .inPort, immediate: .byteUnsigned, size: .byte, flags: .sourceImmediate))
        one(0xE5, .init(op: .inPort, immediate: .byteUnsigned, flags: .sourceImmediate))
        one(0xE6, .init(op: .outPort, immediate: .byteUnsigned, size: .byte, flags: .sourceImmediate))
        one(0xE7, .init(op: .outPort, immediate: .byteUnsigned, flags: .sourceImmediate))
        one(0xE8, .init(op: .callRel, immediate: .rel32, size: .default64, flags: .endsBlock))
        one(0xE9, .init(op: .jmpRel, immediate: .rel32, size: .default64, flags: .endsBlock))
        one(0xEA, .init(invalidIn64: true))
        one(0xEB, .init(op: .jmpRel, immediate: .rel8, size: .default64, flags: .endsBlock))
        one(0xEC, .init(op: .inPort, size: .byte))
        one(0xED, .init(op: .inPort))
        one(0xEE, .init(op: .outPort, size: .byte))
        one(0xEF, .init(op: .outPort))
        one(0xF1, .init(op: .int1, flags: .endsBlock))
        one(0xF4, .init(op: .hlt, flags: .endsBlock))
        one(0xF5, .init(op: .flagOp, sub: FlagInstruction.cmc.rawValue))
        one(0xF6, .init(modrm: true, size: .byte, group: .group3))
        one(0xF7, .init(modrm: true, group: .group3))
        one(0xF8, .init(op: .flagOp, sub: FlagInstruction.clc.rawValue))
        one(0xF9, .init(op: .flagOp, sub: FlagInstruction.stc.rawValue))
        one(0xFA, .init(op: .flagOp, sub: FlagInstruction.cli.rawValue))
        one(0xFB, .init(op: .flagOp, sub: FlagInstruction.sti.rawValue, flags: .endsBlock))
        one(0xFC, .init(op: .flagOp, sub: FlagInstruction.cld.rawValue))
        one(0xFD, .init(op: .flagOp, sub: FlagInstruction.std.rawValue))
        one(0xFE, .init(modrm: true, size: .byte, group: .group4))
        one(0xFF, .init(modrm: true, group: .group5))
    }

    private mutating func buildTwoByteMap() {
        two(0x00, .init(modrm: true, size: .word, group: .group6))
        two(0x01, .init(modrm: true, group: .group7))
        two(0x02, .init(op: .lar, modrm: true, flags: .regIsDestination))
        two(0x03, .init(op: .lsl, modrm: true, flags: .regIsDestination))
        two(0x05, .init(op: .syscall, flags: .endsBlock))
        two(0x06, .init(op: .clts))
        two(0x07, .init(op: .sysret, flags: .endsBlock))
        two(0x08, .init(op: .invd))
        two(0x09, .init(op: .wbinvd))
        two(0x0B, .init(op: .ud2))
        two(0x0D, .init(op: .nop, modrm: true))  // PREFETCHW
        two(0x18, .init(modrm: true, group: .group16Prefetch))
        for o in 0x19...0x1F { two(o, .init(op: .nop, modrm: true)) }
        two(0x20, .init(op: .movFromCR, modrm: true, size: .force64))
        two(0x21, .init(op: .movFromDR, modrm: true, size: .force64))
        two(0x22, .init(op: .movToCR, modrm: true, size: .force64, flags: .endsBlock))
        two(0x23, .init(op: .movToDR, modrm: true, size: .force64))
        two(0x30, .init(op: .wrmsr, flags: .endsBlock))
        two(0x31, .init(op: .rdtsc))
        two(0x32, .init(op: .rdmsr))
        for cc in 0..<16 {
            two(0x40 + cc, .init(op: .cmovcc, sub: UInt8(cc), modrm: true, flags: .regIsDestination))
            two(0x80 + cc, .init(op: .jcc, sub: UInt8(cc), immediate: .rel32, size: .default64, flags: .endsBlock))
            two(0x90 + cc, .init(op: .setcc, sub: UInt8(cc), modrm: true, size: .byte))
        }
        two(0xA0, .init(op: .pushSegment, sub: UInt8(4), size: .default64))
        two(0xA1, .init(op: .popSegment, sub: UInt8(4), size: .default64))
        two(0xA2, .init(op: .cpuid, flags: .endsBlock))
        two(0xA3, .init(op: .bitTest, sub: 0, modrm: true))
        two(0xA4, .init(op: .shiftDouble, sub: 0, modrm: true, immediate: .byteUnsigned))
        two(0xA5, .init(op: .shiftDouble, sub: 0, modrm: true, flags: .countCL))
        two(0xA8, .init(op: .pushSegment, sub: UInt8(5), size: .default64))
        two(0xA9, .init(op: .popSegment, sub: UInt8(5), size: .default64))
        two(0xAB, .init(op: .bitTest, sub: 1, modrm: true, lockable: true))
        two(0xAC, .init(op: .shiftDouble, sub: 1, modrm: true, immediate: .byteUnsigned))
        two(0xAD, .init(op: .shiftDouble, sub: 1, modrm: true, flags: .countCL))
        two(0xAE, .init(modrm: true, group: .group15))
        two(0xAF, .init(op: .imul, modrm: true, flags: .regIsDestination))
        two(0xB0, .init(op: .cmpxchg, modrm: true, size: .byte, lockable: true))
        two(0xB1, .init(op: .cmpxchg, modrm: true, lockable: true))
        two(0xB3, .init(op: .bitTest, sub: 2, modrm: true, lockable: true))
        two(0xB6, .init(op: .movExtend, sub: 1, modrm: true, flags: .regIsDestination))
        two(0xB7, .init(op: .movExtend, sub: 2, modrm: true, flags: .regIsDestination))
        two(0xB8, .init(op: .popcnt, modrm: true, flags: .regIsDestination))  // F3 only; see decoder
        two(0xB9, .init(op: .ud2, modrm: true))  // UD1
        two(0xBA, .init(modrm: true, immediate: .byteUnsigned, group: .group8))
        two(0xBB, .init(op: .bitTest, sub: 3, modrm: true, lockable: true))
        two(0xBC, .init(op: .bsf, modrm: true, flags: .regIsDestination))
        two(0xBD, .init(op: .bsr, modrm: true, flags: .regIsDestination))
        two(0xBE, .init(op: .movExtend, sub: 1, modrm: true, flags: [.regIsDestination, .signExtend]))
        two(0xBF, .init(op: .movExtend, sub: 2, modrm: true, flags: [.regIsDestination, .signExtend]))
        two(0xC0, .init(op: .xadd, modrm: true, size: .byte, lockable: true))
        two(0xC1, .init(op: .xadd, modrm: true, lockable: true))
        two(0xC3, .init(op: .mov, modrm: true))  // MOVNTI (memory only; see decoder)
        two(0xC7, .init(modrm: true, group: .group9))
        for r in 0..<8 { two(0xC8 + r, .init(op: .bswap, sub: UInt8(r))) }
        two(0xFF, .init(op: .ud2, modrm: true))  // UD0
        // SSE/SSE2, refined by mandatory prefix in `decodeSSE`; 70-73 and C4-C6 take an imm8.
        for o in Decoder.sseOpcodes {
            let imm8 = (0x70...0x73).contains(o) || (0xC2...0xC6).contains(o)
            two(Int(o), .init(op: .sse, modrm: true, immediate: imm8 ? .byteUnsigned : .none))
        }
    }
}
