import X86

extension Interpreter {
    /// Executes one decoded instruction. Instructions not flagged `endsBlock` leave RIP to
    /// this function, which advances it after they succeed; the others set RIP themselves.
    /// A fault leaves RIP at the instruction.
    @inline(__always)
    func execute(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        switch p.pointee.op {
        case .aluRegReg: executeALURegister(p, immediate: false)
        case .aluRegImm: executeALURegister(p, immediate: true)
        case .incDecReg: executeIncDecRegister(p)
        case .alu: try executeALU(p)
        case .mov: try executeMov(p)
        case .jcc:
            rip = condition(p.pointee.sub) ? nextRIP(p) &+ p.pointee.immediate : nextRIP(p)
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
