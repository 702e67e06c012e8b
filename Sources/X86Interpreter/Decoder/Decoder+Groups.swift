extension Decoder {
    /// Refines a group opcode by ModRM.reg (and for some groups ModRM.mod/rm or a prefix).
    func resolveGroup(
        _ d: inout DecodedInstruction, group: OpcodeGroup, opcode: UInt8, modrm: UInt8, rep: UInt8,
        rexW: Bool, is64: Bool, opsizePrefix: Bool
    ) {
        let reg = (modrm >> 3) & 7
        let isMemory = modrm >> 6 != 3
        let rm = modrm & 7
        // Near indirect branches and PUSH r/m: 64-bit in 64-bit mode unless 0x66 without REX.W.
        let default64Size: UInt8 = is64 ? (opsizePrefix && !rexW ? 2 : 8) : d.size
        d.sub = reg
        switch group {
        case .none:
            break
        case .group1:
            d.op = .alu
        case .group1A:
            d.op = reg == 0 ? .pop : .invalid
        case .group2:
            d.op = .shift
        case .group3:
            d.op = [.test, .test, .not, .neg, .mul, .imul1, .div, .idiv][Int(reg)]
        case .group4:
            d.op = reg <= 1 ? .incDec : .invalid
        case .group5:
            switch reg {
            case 0, 1: d.op = .incDec
            case 2:
                d.op = .callIndirect
                d.size = default64Size
                d.flags.insert(.endsBlock)
            case 3:
                d.op = isMemory ? .callFar : .invalid
                d.flags.insert(.endsBlock)
            case 4:
                d.op = .jmpIndirect
                d.size = default64Size
                d.flags.insert(.endsBlock)
            case 5:
                d.op = isMemory ? .jmpFar : .invalid
                d.flags.insert(.endsBlock)
            case 6:
                d.op = .push
                d.size = default64Size
            default: d.op = .invalid
            }
        case .group6:
            d.op = [.sldt, .str, .lldt, .ltr, .verr, .verw, .invalid, .invalid][Int(reg)]
            if d.op == .sldt || d.op == .str {
                // Register destinations take the operand size; memory is always 16 bits.
                d.size = isMemory ? 2 : (rexW ? 8 : (opsizePrefix ? 2 : 4))
            }
        case .group7:
            if isMemory {
                d.op = [.sgdt, .sidt, .lgdt, .lidt, .smsw, .invalid, .lmsw, .invlpg][Int(reg)]
                if d.op == .smsw || d.op == .lmsw { d.size = 2 }
                if d.op != .smsw && d.op != .sgdt && d.op != .sidt { d.flags.insert(.endsBlock) }
            } else {
                switch (reg, rm) {
                case (1, 2): d.op = .clac
                case (1, 3): d.op = .stac
                case (2, 0): d.op = .xgetbv
                case (2, 1):
                    d.op = .xsetbv
                    d.flags.insert(.endsBlock)
                case (4, _):
                    d.op = .smsw
                    d.size = rexW ? 8 : (opsizePrefix ? 2 : 4)
                case (6, _):
                    d.op = .lmsw
                    d.size = 2
                    d.flags.insert(.endsBlock)
                case (7, 0):
                    d.op = is64 ? .swapgs : .invalid
                case (7, 1): d.op = .rdtscp
                default: d.op = .invalid
                }
            }
        case .group8:
            d.op = reg >= 4 ? .bitTest : .invalid
            d.sub = reg & 3
            d.flags.insert(.sourceImmediate)
        case .group9:
            if isMemory {
                d.op = reg == 1 ? .cmpxchgDouble : .invalid
                d.size = rexW ? 16 : 8
            } else if reg == 6 && rep == 0 {
                d.op = .rdrand
            } else if reg == 7 && rep == 0 {
                d.op = .rdseed
            } else if reg == 7 && rep == 0xF3 {
                d.op = .rdpid
                d.size = 8
            } else {
                d.op = .invalid
            }
        case .group11:
            d.op = reg == 0 ? .mov : .invalid
        case .group15:
            if isMemory {
                // FXSAVE FXRSTOR LDMXCSR STMXCSR (no mandatory prefix allowed) and CLFLUSH;
                // XSAVE, XRSTOR and XSAVEOPT are not implemented (CPUID hides them): #UD.
                let unprefixed = rep == 0 && !opsizePrefix
                switch reg {
                case 0...3 where unprefixed: d.op = [.fxsave, .fxrstor, .ldmxcsr, .stmxcsr][Int(reg)]
                case 7 where rep == 0: d.op = .clflush
                default: d.op = .invalid
                }
            } else if rep == 0xF3 && reg <= 3 && is64 {
                d.op = .fsgsBase
                d.size = rexW ? 8 : 4
            } else if rep == 0 && reg >= 5 {
                d.op = .fence
            } else {
                d.op = .invalid
            }
        case .group16Prefetch:
            d.op = isMemory ? .nop : .nop
        case .nopHint:
            d.op = .nop
        }
    }
}
