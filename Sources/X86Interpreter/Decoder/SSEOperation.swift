/// The SSE/SSE2 operations this CPU implements (`DecodedInstruction.sub` of `Op.sse`): data
/// movement, logic, packed integers, and floating-point arithmetic, comparisons and
/// conversions, the reciprocal approximations. Not implemented (#UD): MMX and the
/// MMX-register forms of SSE/SSE2.
enum SSEOperation: UInt8 {
    // Moves. "Store" forms write the r/m operand from the reg one.
    case movups, movupsStore, movaps, movapsStore, movdqu, movdquStore, movdqa, movdqaStore
    case movss, movssStore, movsd, movsdStore
    case movdToXMM, movdFromXMM, movqToXMM, movqStore
    case movntps, movntdq
    case movlps, movlpsStore, movhps, movhpsStore, movhlps, movlhps
    case movmskps, movmskpd, pmovmskb
    // 128-bit logic (the PS, PD and integer forms alike).
    case and, andn, or, xor
    // Packed integer arithmetic.
    case paddb, paddw, paddd, paddq, psubb, psubw, psubd, psubq
    case paddsb, paddsw, paddusb, paddusw, psubsb, psubsw, psubusb, psubusw
    case pcmpeqb, pcmpeqw, pcmpeqd, pcmpgtb, pcmpgtw, pcmpgtd
    case pminub, pmaxub, pminsw, pmaxsw, pavgb, pavgw
    case pmullw, pmulhw, pmulhuw, pmuludq, pmaddwd, psadbw
    // Rearrangements.
    case punpcklbw, punpcklwd, punpckldq, punpcklqdq, punpckhbw, punpckhwd, punpckhdq, punpckhqdq
    case packsswb, packuswb, packssdw
    case pshufd, pshuflw, pshufhw, shufps, shufpd, unpcklps, unpckhps, unpcklpd, unpckhpd
    case pextrw, pinsrw
    // Shifts by an XMM/m128 count, then by imm8 (0F 71-73 groups).
    case psrlw, psrld, psrlq, psraw, psrad, psllw, pslld, psllq
    case psrlwImm, psrldImm, psrlqImm, psrawImm, psradImm, psllwImm, pslldImm, psllqImm, psrldq, pslldq
    case maskmovdqu
    // Floating point: ADD SUB MUL DIV MIN MAX SQRT, each as PS, SS, PD, SD in this order.
    case addps, addss, addpd, addsd, subps, subss, subpd, subsd, mulps, mulss, mulpd, mulsd
    case divps, divss, divpd, divsd, minps, minss, minpd, minsd, maxps, maxss, maxpd, maxsd
    case sqrtps, sqrtss, sqrtpd, sqrtsd
    case cmpps, cmpss, cmppd, cmpsd, comiss, ucomiss, comisd, ucomisd
    case cvtsi2ss, cvtsi2sd, cvttss2si, cvtss2si, cvttsd2si, cvtsd2si
    case cvtss2sd, cvtsd2ss, cvtps2pd, cvtpd2ps, cvtdq2ps, cvtps2dq, cvttps2dq, cvtdq2pd, cvtpd2dq, cvttpd2dq
    case rcpps, rcpss, rsqrtps, rsqrtss

    /// For the floating-point arithmetic: the operation, whether packed, whether double.
    var arithmeticShape: (SSEFloat.Operation, packed: Bool, double: Bool)? {
        guard rawValue >= SSEOperation.addps.rawValue && rawValue <= SSEOperation.sqrtsd.rawValue else { return nil }
        let i = Int(rawValue - SSEOperation.addps.rawValue)
        let op: SSEFloat.Operation = switch i / 4 {
        case 0: .add
        case 1: .subtract
        case 2: .multiply
        case 3: .divide
        case 4: .minimum
        case 5: .maximum
        default: .squareRoot
        }
        return (op, i % 2 == 0, i % 4 >= 2)
    }
}

/// The mandatory-prefix column of an SSE opcode: F3 or F2 (the last one) win over 66.
enum SSEPrefix {
    case none, p66, f3, f2
}

/// How an SSE operation reads and writes its operands.
struct SSEForm {
    var operation: SSEOperation
    /// Bytes of the memory operand (16, 8, 4 or 2).
    var memorySize: UInt8 = 16
    /// A 16-byte memory operand must be 16-byte aligned (#GP(0) otherwise).
    var aligned = true
    /// Only a memory (true) or only a register (false) r/m operand is defined.
    var memoryOnly: Bool? = nil
}

extension SSEForm {
    /// The form of 0F `opcode` under `prefix`, ModRM.reg `reg` selecting the shift groups;
    /// nil when this CPU has no such instruction (#UD).
    static func lookup(opcode: UInt8, prefix: SSEPrefix, reg: UInt8) -> SSEForm? {
        switch (opcode, prefix) {
        case (0x10, .none), (0x10, .p66): return SSEForm(operation: .movups, aligned: false)
        case (0x11, .none), (0x11, .p66): return SSEForm(operation: .movupsStore, aligned: false)
        case (0x10, .f3): return SSEForm(operation: .movss, memorySize: 4)
        case (0x11, .f3): return SSEForm(operation: .movssStore, memorySize: 4)
        case (0x10, .f2): return SSEForm(operation: .movsd, memorySize: 8)
        case (0x11, .f2): return SSEForm(operation: .movsdStore, memorySize: 8)
        case (0x12, .none): return SSEForm(operation: .movlps, memorySize: 8)  // register form: MOVHLPS
        case (0x12, .p66): return SSEForm(operation: .movlps, memorySize: 8, memoryOnly: true)
        case (0x13, .none), (0x13, .p66): return SSEForm(operation: .movlpsStore, memorySize: 8, memoryOnly: true)
        case (0x14, .none): return SSEForm(operation: .unpcklps)
        case (0x14, .p66): return SSEForm(operation: .unpcklpd)
        case (0x15, .none): return SSEForm(operation: .unpckhps)
        case (0x15, .p66): return SSEForm(operation: .unpckhpd)
        case (0x16, .none): return SSEForm(operation: .movhps, memorySize: 8)  // register form: MOVLHPS
        case (0x16, .p66): return SSEForm(operation: .movhps, memorySize: 8, memoryOnly: true)
        case (0x17, .none), (0x17, .p66): return SSEForm(operation: .movhpsStore, memorySize: 8, memoryOnly: true)
        case (0x28, .none), (0x28, .p66): return SSEForm(operation: .movaps)
        case (0x29, .none), (0x29, .p66): return SSEForm(operation: .movapsStore)
        case (0x2B, .none), (0x2B, .p66): return SSEForm(operation: .movntps, memoryOnly: true)
        case (0x50, .none): return SSEForm(operation: .movmskps, memoryOnly: false)
        case (0x50, .p66): return SSEForm(operation: .movmskpd, memoryOnly: false)
        case (0x54, .none), (0x54, .p66): return SSEForm(operation: .and)
        case (0x55, .none), (0x55, .p66): return SSEForm(operation: .andn)
        case (0x56, .none), (0x56, .p66): return SSEForm(operation: .or)
        case (0x57, .none), (0x57, .p66): return SSEForm(operation: .xor)
        case (0x6E, .p66): return SSEForm(operation: .movdToXMM, memorySize: 4)
        case (0x7E, .p66): return SSEForm(operation: .movdFromXMM, memorySize: 4)
        case (0x7E, .f3): return SSEForm(operation: .movqToXMM, memorySize: 8)
        case (0xD6, .p66): return SSEForm(operation: .movqStore, memorySize: 8)
        case (0x6F, .p66): return SSEForm(operation: .movdqa)
        case (0x7F, .p66): return SSEForm(operation: .movdqaStore)
        case (0x6F, .f3): return SSEForm(operation: .movdqu, aligned: false)
        case (0x7F, .f3): return SSEForm(operation: .movdquStore, aligned: false)
        case (0x70, .p66): return SSEForm(operation: .pshufd)
        case (0x70, .f2): return SSEForm(operation: .pshuflw)
        case (0x70, .f3): return SSEForm(operation: .pshufhw)
        case (0x71, .p66), (0x72, .p66), (0x73, .p66): return shiftGroup(opcode: opcode, reg: reg)
        case (0xC4, .p66): return SSEForm(operation: .pinsrw, memorySize: 2)
        case (0xC5, .p66): return SSEForm(operation: .pextrw, memoryOnly: false)
        case (0xC6, .none): return SSEForm(operation: .shufps)
        case (0xC6, .p66): return SSEForm(operation: .shufpd)
        case (0xD7, .p66): return SSEForm(operation: .pmovmskb, memoryOnly: false)
        case (0xE7, .p66): return SSEForm(operation: .movntdq, memoryOnly: true)
        case (0xF7, .p66): return SSEForm(operation: .maskmovdqu, memoryOnly: false)
        case (0x51, _), (0x58, _), (0x59, _), (0x5C, _), (0x5D, _), (0x5E, _), (0x5F, _), (0xC2, _):
            return floatingPoint(opcode: opcode, prefix: prefix)
        case (0x52, .none): return SSEForm(operation: .rsqrtps)
        case (0x52, .f3): return SSEForm(operation: .rsqrtss, memorySize: 4)
        case (0x53, .none): return SSEForm(operation: .rcpps)
        case (0x53, .f3): return SSEForm(operation: .rcpss, memorySize: 4)
        case (0x2E, .none): return SSEForm(operation: .ucomiss, memorySize: 4)
        case (0x2E, .p66): return SSEForm(operation: .ucomisd, memorySize: 8)
        case (0x2F, .none): return SSEForm(operation: .comiss, memorySize: 4)
        case (0x2F, .p66): return SSEForm(operation: .comisd, memorySize: 8)
        case (0x2A, .f3): return SSEForm(operation: .cvtsi2ss, memorySize: 4)
        case (0x2A, .f2): return SSEForm(operation: .cvtsi2sd, memorySize: 4)
        case (0x2C, .f3): return SSEForm(operation: .cvttss2si, memorySize: 4)
        case (0x2D, .f3): return SSEForm(operation: .cvtss2si, memorySize: 4)
        case (0x2C, .f2): return SSEForm(operation: .cvttsd2si, memorySize: 8)
        case (0x2D, .f2): return SSEForm(operation: .cvtsd2si, memorySize: 8)
        case (0x5A, .none): return SSEForm(operation: .cvtps2pd, memorySize: 8)
        case (0x5A, .p66): return SSEForm(operation: .cvtpd2ps)
        case (0x5A, .f3): return SSEForm(operation: .cvtss2sd, memorySize: 4)
        case (0x5A, .f2): return SSEForm(operation: .cvtsd2ss, memorySize: 8)
        case (0x5B, .none): return SSEForm(operation: .cvtdq2ps)
        case (0x5B, .p66): return SSEForm(operation: .cvtps2dq)
        case (0x5B, .f3): return SSEForm(operation: .cvttps2dq)
        case (0xE6, .p66): return SSEForm(operation: .cvttpd2dq)
        case (0xE6, .f3): return SSEForm(operation: .cvtdq2pd, memorySize: 8)
        case (0xE6, .f2): return SSEForm(operation: .cvtpd2dq)
        case (_, .p66): return packedInteger[opcode].map { SSEForm(operation: $0) }
        default: return nil
        }
    }

    /// 0F 51 and 58-5F (PS, 66 PD, F3 SS, F2 SD; no 5A/5B here) and CMPxx (0F C2 ib).
    private static func floatingPoint(opcode: UInt8, prefix: SSEPrefix) -> SSEForm? {
        let column = switch prefix {
        case .none: 0
        case .f3: 1
        case .p66: 2
        case .f2: 3
        }
        let scalarSize: UInt8 = column == 1 ? 4 : 8
        let size: UInt8 = column & 1 == 1 ? scalarSize : 16
        let first: SSEOperation = switch opcode {
        case 0x58: .addps
        case 0x59: .mulps
        case 0x5C: .subps
        case 0x5D: .minps
        case 0x5E: .divps
        case 0x5F: .maxps
        case 0x51: .sqrtps
        default: .cmpps
        }
        guard let op = SSEOperation(rawValue: first.rawValue + UInt8(column)) else { return nil }
        return SSEForm(operation: op, memorySize: size)
    }

    /// 66 0F 71/72/73 /r ib: shifts of words, doublewords, quadwords and the whole register
    /// by an immediate (register operands only).
    private static func shiftGroup(opcode: UInt8, reg: UInt8) -> SSEForm? {
        let op: SSEOperation? = switch (opcode, reg) {
        case (0x71, 2): .psrlwImm
        case (0x71, 4): .psrawImm
        case (0x71, 6): .psllwImm
        case (0x72, 2): .psrldImm
        case (0x72, 4): .psradImm
        case (0x72, 6): .pslldImm
        case (0x73, 2): .psrlqImm
        case (0x73, 3): .psrldq
        case (0x73, 6): .psllqImm
        case (0x73, 7): .pslldq
        default: nil
        }
        return op.map { SSEForm(operation: $0, memoryOnly: false) }
    }

    /// The 66-prefixed packed-integer opcodes with an XMM/m128 source.
    private static let packedInteger: [UInt8: SSEOperation] = [
        0x60: .punpcklbw, 0x61: .punpcklwd, 0x62: .punpckldq, 0x63: .packsswb, 0x64: .pcmpgtb, 0x65: .pcmpgtw,
        0x66: .pcmpgtd, 0x67: .packuswb, 0x68: .punpckhbw, 0x69: .punpckhwd, 0x6A: .punpckhdq, 0x6B: .packssdw,
        0x6C: .punpcklqdq, 0x6D: .punpckhqdq, 0x74: .pcmpeqb, 0x75: .pcmpeqw, 0x76: .pcmpeqd,
        0xD1: .psrlw, 0xD2: .psrld, 0xD3: .psrlq, 0xD4: .paddq, 0xD5: .pmullw, 0xD8: .psubusb, 0xD9: .psubusw,
        0xDA: .pminub, 0xDB: .and, 0xDC: .paddusb, 0xDD: .paddusw, 0xDE: .pmaxub, 0xDF: .andn,
        0xE0: .pavgb, 0xE1: .psraw, 0xE2: .psrad, 0xE3: .pavgw, 0xE4: .pmulhuw, 0xE5: .pmulhw,
        0xE8: .psubsb, 0xE9: .psubsw, 0xEA: .pminsw, 0xEB: .or, 0xEC: .paddsb, 0xED: .paddsw, 0xEE: .pmaxsw, 0xEF: .xor,
        0xF1: .psllw, 0xF2: .pslld, 0xF3: .psllq, 0xF4: .pmuludq, 0xF5: .pmaddwd, 0xF6: .psadbw,
        0xF8: .psubb, 0xF9: .psubw, 0xFA: .psubd, 0xFB: .psubq, 0xFC: .paddb, 0xFD: .paddw, 0xFE: .paddd,
    ]
}
