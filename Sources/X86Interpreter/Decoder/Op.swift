/// The operation of a decoded instruction; the executor switches on it.
/// `DecodedInstruction.sub` refines it (ALU kind, condition code, shift kind, ...).
enum Op: UInt8 {
    /// An encoding that raises #UD.
    case invalid
    /// ADD OR ADC SBB AND SUB XOR CMP; sub = `AluKind`.
    case alu
    /// Register-only specialisations made by the decoder for the hot loop:
    /// `aluRegReg` computes rm ← rm op reg, `aluRegImm` rm ← rm op imm, `incDecReg` rm ± 1.
    case aluRegReg, aluRegImm, incDecReg
    /// Further specialisations of `aluRegReg`/`aluRegImm`/`incDecReg` for 64- and 32-bit
    /// operands (the executor's hottest cases, each handled without further switches).
    case add64RR, or64RR, and64RR, sub64RR, xor64RR, cmp64RR
    case add64RI, or64RI, and64RI, sub64RI, xor64RI, cmp64RI
    case add32RR, or32RR, and32RR, sub32RR, xor32RR, cmp32RR
    case add32RI, or32RI, and32RI, sub32RI, xor32RI, cmp32RI
    case inc64, dec64, inc32, dec32
    /// JZ/JNZ (sub 4 or 5): the commonest conditional branch, tested without the
    /// general condition switch.
    case jz
    /// JB/JAE (sub 2 or 3).
    case jc
    /// MOV r, r (destination in rm) and MOV r, imm (immediate masked to the size) with 64- or
    /// 32-bit operands.
    case movRR64, movRR32, movRImm
    /// Memory forms with 64- or 32-bit operands, a 64-bit address and no segment override
    /// (nor LOCK): MOV r, m / MOV m, r / MOV m, imm; ALU m, r / ALU m, imm (sub = ALU kind,
    /// not ADC/SBB); ALU r, m.
    case load64, load32, store64, store32, storeImm64, storeImm32
    case aluMem64, aluMem32, aluMemImm64, aluMemImm32, aluLoad64, aluLoad32
    /// PUSH r64 / POP r64.
    case pushReg64, popReg64
    case test
    /// sub 0 = INC, 1 = DEC.
    case incDec
    case not, neg
    /// One-operand MUL / IMUL / DIV / IDIV (group 3).
    case mul, imul1, div, idiv
    /// IMUL r, r/m and IMUL r, r/m, imm (source is E, second factor imm when flagged).
    case imul
    /// ROL ROR RCL RCR SHL SHR SAL SAR; sub = kind. Count from 1, CL or imm (see flags).
    case shift
    /// SHLD / SHRD; sub 0 = left, 1 = right. Count from imm or CL.
    case shiftDouble
    /// BT BTS BTR BTC; sub 0..3. Bit offset from G or imm.
    case bitTest
    case bsf, bsr, tzcnt, lzcnt, popcnt
    case cmpxchg
    /// CMPXCHG8B, or CMPXCHG16B with REX.W.
    case cmpxchgDouble
    case xadd, xchg
    /// MOV in every register, memory and immediate form (moffs included).
    case mov
    /// MOVZX / MOVSX with a byte or word source: sub = source size, flag signExtend.
    case movExtend
    /// MOVSXD.
    case movsxd
    case lea
    case bswap
    /// sub = condition code 0..15.
    case setcc, cmovcc, jcc
    case jmpRel, jmpIndirect, callRel, callIndirect
    /// Far JMP/CALL through memory (m16:16/32/64).
    case jmpFar, callFar
    /// RET [imm16]; RETF [imm16].
    case ret, retFar
    /// sub 0 = LOOPNE, 1 = LOOPE, 2 = LOOP, 3 = JRCXZ.
    case loop
    case enter, leave
    /// PUSH r/m, reg, imm; PUSH FS/GS (sub = segment when flagged).
    case push
    case pop
    case pushSegment, popSegment
    case pushf, popf
    /// String instructions; REP prefixes in flags.
    case movs, cmps, stos, lods, scas, ins, outs
    /// CBW/CWDE/CDQE by size.
    case signExtendAccumulator
    /// CWD/CDQ/CQO by size.
    case signExtendIntoDX
    case lahf, sahf
    /// CLC STC CMC CLD STD CLI STI; sub indexes `FlagInstruction`.
    case flagOp
    case nop, pause
    /// LFENCE MFENCE SFENCE.
    case fence
    case clflush
    case ud2
    case rdtsc, rdtscp, rdrand, rdseed, rdpid
    case cpuid, rdmsr, wrmsr
    /// IN/OUT with an imm8 port (flag immediate) or DX.
    case inPort, outPort
    case hlt
    /// INT imm8.
    case int
    case int3, int1
    case syscall, sysret, iret
    /// MOV CRn/DRn; reg field selects the register.
    case movToCR, movFromCR, movToDR, movFromDR
    case invlpg
    case lgdt, lidt, sgdt, sidt, smsw, lmsw, ltr, str, lldt, sldt
    case swapgs, wbinvd, invd, clts, xgetbv, xsetbv
    case movToSegment, movFromSegment
    case xlat
    /// RDFSBASE RDGSBASE WRFSBASE WRGSBASE; sub 0..3.
    case fsgsBase
    case lar, lsl, verr, verw
    case clac, stac
    case movbe
    /// x87 escape opcodes D8-DF: sub = (opcode & 7) << 3 | ModRM.reg, rm = ST(i) for register
    /// forms, immediate = FOP (opcode & 7) << 8 | ModRM.
    case x87
    /// FWAIT (9B).
    case fwait
    /// FXSAVE/FXRSTOR (64-bit format with REX.W), LDMXCSR, STMXCSR (0F AE /0-/3).
    case fxsave, fxrstor, ldmxcsr, stmxcsr
    /// SSE/SSE2: sub = `SSEOperation`, reg and rm = XMM (or general) register numbers.
    case sse
}

/// ALU operations in their ModRM.reg encoding order.
enum AluKind: UInt8 {
    case add = 0, or, adc, sbb, and, sub, xor, cmp
}

/// Shift and rotate operations in their ModRM.reg encoding order (6 = SAL, an alias of SHL).
enum ShiftKind: UInt8 {
    case rol = 0, ror, rcl, rcr, shl, shr, sal, sar
}

/// The flag-manipulating one-byte instructions.
enum FlagInstruction: UInt8 {
    case clc = 0, stc, cmc, cld, std, cli, sti
}
