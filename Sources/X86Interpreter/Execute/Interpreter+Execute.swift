import X86

extension Interpreter {
    /// Executes one decoded instruction. Instructions not flagged `endsBlock` leave RIP to
    /// this function, which advances it after they succeed; the others set RIP themselves.
    /// A fault leaves RIP at the instruction.
    @inline(__always)
    func execute(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        switch p.pointee.op {
        case .add64RR: fastALU(p, .add, wide: true, immediate: false)
        case .or64RR: fastALU(p, .or, wide: true, immediate: false)
        case .and64RR: fastALU(p, .and, wide: true, immediate: false)
        case .sub64RR: fastALU(p, .sub, wide: true, immediate: false)
        case .xor64RR: fastALU(p, .xor, wide: true, immediate: false)
        case .cmp64RR: fastALU(p, .cmp, wide: true, immediate: false)
        case .add64RI: fastALU(p, .add, wide: true, immediate: true)
        case .or64RI: fastALU(p, .or, wide: true, immediate: true)
        case .and64RI: fastALU(p, .and, wide: true, immediate: true)
        case .sub64RI: fastALU(p, .sub, wide: true, immediate: true)
        case .xor64RI: fastALU(p, .xor, wide: true, immediate: true)
        case .cmp64RI: fastALU(p, .cmp, wide: true, immediate: true)
        case .add32RR: fastALU(p, .add, wide: false, immediate: false)
        case .or32RR: fastALU(p, .or, wide: false, immediate: false)
        case .and32RR: fastALU(p, .and, wide: false, immediate: false)
        case .sub32RR: fastALU(p, .sub, wide: false, immediate: false)
        case .xor32RR: fastALU(p, .xor, wide: false, immediate: false)
        case .cmp32RR: fastALU(p, .cmp, wide: false, immediate: false)
        case .add32RI: fastALU(p, .add, wide: false, immediate: true)
        case .or32RI: fastALU(p, .or, wide: false, immediate: true)
        case .and32RI: fastALU(p, .and, wide: false, immediate: true)
        case .sub32RI: fastALU(p, .sub, wide: false, immediate: true)
        case .xor32RI: fastALU(p, .xor, wide: false, immediate: true)
        case .cmp32RI: fastALU(p, .cmp, wide: false, immediate: true)
        case .inc64: fastIncDec(p, decrement: false, wide: true)
        case .dec64: fastIncDec(p, decrement: true, wide: true)
        case .inc32: fastIncDec(p, decrement: false, wide: false)
        case .dec32: fastIncDec(p, decrement: true, wide: false)
        case .jz:
            fastJZ(p)
            return
        case .jc:
            fastJC(p)
            return
        case .movRR64: regs[Int(p.pointee.rm & 15)] = regs[Int(p.pointee.reg & 15)]
        case .movRR32: regs[Int(p.pointee.rm & 15)] = regs[Int(p.pointee.reg & 15)] & 0xFFFF_FFFF
        case .movRImm: regs[Int(p.pointee.rm & 15)] = p.pointee.immediate
        case .load64: try fastLoad(p, wide: true)
        case .load32: try fastLoad(p, wide: false)
        case .store64: try fastStore(p, wide: true, immediate: false)
        case .store32: try fastStore(p, wide: false, immediate: false)
        case .storeImm64: try fastStore(p, wide: true, immediate: true)
        case .storeImm32: try fastStore(p, wide: false, immediate: true)
        case .aluMem64: try fastALUMemory(p, wide: true, immediate: false)
        case .aluMem32: try fastALUMemory(p, wide: false, immediate: false)
        case .aluMemImm64: try fastALUMemory(p, wide: true, immediate: true)
        case .aluMemImm32: try fastALUMemory(p, wide: false, immediate: true)
        case .aluLoad64: try fastALULoad(p, wide: true)
        case .aluLoad32: try fastALULoad(p, wide: false)
        case .pushReg64: try fastPush(p)
        case .popReg64: try fastPop(p)
        case .callRel where p.pointee.size == 8:
            try fastCall(p)
            return
        case .ret where p.pointee.size == 8:
            try fastReturn(p)
            return
        case .aluRegReg: executeALURegister(p, immediate: false)
        case .aluRegImm: executeALURegister(p, immediate: true)
        case .incDecReg: executeIncDecRegister(p)
        case .alu: try executeALU(p)
        case .mov: try executeMov(p)
        case .jcc:
            conditionalJump(p, taken: condition(p.pointee.sub))
            return
        case .incDec: try executeIncDec(p)
        case .test: try executeTest(p)
        case .lea: setReg(p.pointee.reg, p.pointee.size, effectiveAddress(p))
        case .push: try executePush(p)
        case .pop: try executePop(p)
        case .callRel, .callIndirect, .jmpRel, .jmpIndirect, .ret, .loop:
            try executeBranch(p)
            return
        case .cmovcc: try executeCmov(p)
        case .setcc: try writeE(p, condition(p.pointee.sub) ? 1 : 0)
        case .movExtend, .movsxd: try executeMovExtend(p)
        case .xchg: try executeXchg(p)
        case .not, .neg: try executeNotNeg(p)
        case .nop, .pause: break
        case .shift: try executeShift(p)
        case .shiftDouble: try executeShiftDouble(p)
        case .mul, .imul1, .div, .idiv: try executeMulDiv(p)
        case .imul: try executeIMul(p)
        case .bitTest: try executeBitTest(p)
        case .bsf, .bsr, .tzcnt, .lzcnt, .popcnt: try executeBitScan(p)
        case .cmpxchg: try executeCmpxchg(p)
        case .cmpxchgDouble: try executeCmpxchgDouble(p)
        case .xadd: try executeXadd(p)
        case .bswap: executeBswap(p)
        case .movs, .cmps, .stos, .lods, .scas, .ins, .outs:
            try executeString(p)  // sets RIP itself: a REP form may pause at itself
            return
        case .signExtendAccumulator, .signExtendIntoDX: executeSignExtendAccumulator(p)
        case .lahf, .sahf: executeLahfSahf(p)
        case .flagOp:
            try executeFlagOp(p)
            if p.pointee.flags.contains(.endsBlock) { rip = nextRIP(p); return }
        case .xlat: try executeXlat(p)
        case .movbe: try executeMovbe(p)
        case .enter: try executeEnter(p)
        case .leave: try executeLeave(p)
        case .pushf: try executePushf(p)
        case .popf:
            try executePopf(p)
            rip = nextRIP(p)
            return
        case .invalid, .ud2: throw .undefinedOpcode
        default:
            // System instructions: each sets RIP itself when it ends the block.
            try executeSystem(p)
            if p.pointee.flags.contains(.endsBlock) { return }
        }
        rip = nextRIP(p)
    }
}
