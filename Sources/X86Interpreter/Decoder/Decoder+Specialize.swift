import X86

/// The decoder's rewrites of the hottest instruction forms into dedicated operations
/// (`Op.add64RR`, `Op.load64`, `Op.jz` ...), so that the executor's common cases need no
/// decisions on operand form, size or kind. The memory, stack and branch rewrites keep every
/// field the general handler reads, so their handlers can fall back to it on a slow path.
extension Decoder {
    /// Rewrites Jcc by condition, PUSH/POP/MOV of 64- and 32-bit registers, register-only
    /// ALU and INC/DEC forms (destination in `rm`), and the memory forms below.
    func specialize(_ d: inout DecodedInstruction) {
        if d.op == .jcc {
            if d.sub >> 1 == 2 { d.op = .jz } else if d.sub >> 1 == 1 { d.op = .jc }
            return
        }
        if d.flags.contains(.memory) {
            specializeMemory(&d)
            return
        }
        if d.size == 8 && !d.flags.contains(.sourceImmediate) {
            if d.op == .push { d.op = .pushReg64 } else if d.op == .pop { d.op = .popReg64 }
        }
        if d.op == .mov && (d.size == 8 || d.size == 4) {
            if d.flags.contains(.sourceImmediate) {
                d.op = .movRImm
                d.immediate &= sizeMask(d.size)
            } else {
                d.op = d.size == 8 ? .movRR64 : .movRR32
                if d.flags.contains(.regIsDestination) { swap(&d.reg, &d.rm) }
            }
            return
        }
        switch d.op {
        case .alu where d.flags.contains(.sourceImmediate):
            d.op = .aluRegImm
            d.immediate &= sizeMask(d.size)
        case .alu:
            d.op = .aluRegReg
            if d.flags.contains(.regIsDestination) { swap(&d.reg, &d.rm) }
        case .incDec:
            d.op = .incDecReg
        default:
            return
        }
        // 64- and 32-bit forms get an operation per ALU kind (ADC and SBB stay general).
        guard d.size == 8 || d.size == 4 else { return }
        let wide = d.size == 8
        if d.op == .incDecReg {
            d.op = d.sub & 1 == 0 ? (wide ? .inc64 : .inc32) : (wide ? .dec64 : .dec32)
            return
        }
        // The four groups of six are declared in this order in `Op`: add or and sub xor cmp.
        let index: UInt8
        switch AluKind(rawValue: d.sub) {
        case .add: index = 0
        case .or: index = 1
        case .and: index = 2
        case .sub: index = 3
        case .xor: index = 4
        case .cmp: index = 5
        default: return
        }
        let group: UInt8 = (wide ? 0 : 2) + (d.op == .aluRegImm ? 1 : 0)
        if let op = Op(rawValue: Op.add64RR.rawValue + group * 6 + index) { d.op = op }
    }

    /// Memory forms of MOV and ALU with 64- or 32-bit operands and a plain 64-bit address.
    func specializeMemory(_ d: inout DecodedInstruction) {
        guard d.size == 8 || d.size == 4, d.addressSize == 8, d.segment == DecodedInstruction.noRegister,
            !d.flags.contains(.lock)
        else { return }
        let wide = d.size == 8
        let immediate = d.flags.contains(.sourceImmediate)
        let toRegister = d.flags.contains(.regIsDestination)
        switch d.op {
        case .mov:
            if immediate {
                d.op = wide ? .storeImm64 : .storeImm32
                d.immediate &= sizeMask(d.size)
            } else {
                d.op = toRegister ? (wide ? .load64 : .load32) : (wide ? .store64 : .store32)
            }
        case .alu where d.sub != AluKind.adc.rawValue && d.sub != AluKind.sbb.rawValue:
            if toRegister {
                d.op = wide ? .aluLoad64 : .aluLoad32
            } else if immediate {
                d.op = wide ? .aluMemImm64 : .aluMemImm32
                d.immediate &= sizeMask(d.size)
            } else {
                d.op = wide ? .aluMem64 : .aluMem32
            }
        default:
            break
        }
    }
}
