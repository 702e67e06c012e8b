/// Collects the instructions of one snippet, encoding each at its final address.
struct SnippetBuilder {
    var pc: UInt64
    var instrs: [Instr] = []

    init(pc: UInt64) { self.pc = pc }

    mutating func emit(_ inst: Inst, _ text: String, _ flags: FlagEffect = .none) throws {
        let bytes = try inst.assemble(at: pc)
        instrs.append(Instr(address: pc, bytes: bytes, text: text, flags: flags))
        pc += UInt64(bytes.count)
    }

    /// Length of an instruction (to branch over it); `at` only matters for RIP-relative
    /// operands, whose length does not depend on it but whose displacement must fit.
    static func length(_ inst: Inst, at address: UInt64 = 0) throws -> Int { try inst.assemble(at: address).count }
}

/// A kind of instruction the tester generates: `--class NAME` selects one.
struct InstructionClass: Sendable {
    let name: String
    let isAvailable: @Sendable (CPUFeatures) -> Bool
    let generate: @Sendable (inout CaseGenerator, inout SnippetBuilder) throws -> Void

    init(_ name: String, when isAvailable: @escaping @Sendable (CPUFeatures) -> Bool = { _ in true },
         _ generate: @escaping @Sendable (inout CaseGenerator, inout SnippetBuilder) throws -> Void) {
        self.name = name
        self.isAvailable = isAvailable
        self.generate = generate
    }

    static let all: [InstructionClass] = [
        InstructionClass("alu") { try $0.genALU(&$1) },
        InstructionClass("test") { try $0.genTest(&$1) },
        InstructionClass("incdec") { try $0.genIncDec(&$1) },
        InstructionClass("notneg") { try $0.genNotNeg(&$1) },
        InstructionClass("mul") { try $0.genMul(&$1) },
        InstructionClass("imul") { try $0.genIMul(&$1) },
        InstructionClass("div") { try $0.genDiv(&$1) },
        InstructionClass("shift") { try $0.genShift(&$1) },
        InstructionClass("shiftd") { try $0.genShiftDouble(&$1) },
        InstructionClass("bt") { try $0.genBitTest(&$1) },
        InstructionClass("bitscan") { try $0.genBitScan(&$1) },
        InstructionClass("bitcount", when: { $0.popcnt || $0.lzcnt || $0.bmi1 }) { try $0.genBitCount(&$1) },
        InstructionClass("bswap") { try $0.genBswap(&$1) },
        InstructionClass("cmpxchg") { try $0.genCmpxchg(&$1) },
        InstructionClass("cmpxchg8b") { try $0.genCmpxchgDouble(&$1) },
        InstructionClass("xadd") { try $0.genXadd(&$1) },
        InstructionClass("xchg") { try $0.genXchg(&$1) },
        InstructionClass("mov") { try $0.genMov(&$1) },
        InstructionClass("movx") { try $0.genMovExtend(&$1) },
        InstructionClass("lea") { try $0.genLea(&$1) },
        InstructionClass("cmov") { try $0.genCmov(&$1) },
        InstructionClass("setcc") { try $0.genSetcc(&$1) },
        InstructionClass("xlat") { try $0.genXlat(&$1) },
        InstructionClass("movbe", when: { $0.movbe }) { try $0.genMovbe(&$1) },
        InstructionClass("cbw") { try $0.genSignExtendAccumulator(&$1) },
        InstructionClass("jcc") { try $0.genJump(&$1) },
        InstructionClass("loop") { try $0.genLoop(&$1) },
        InstructionClass("callret") { try $0.genCallRet(&$1) },
        InstructionClass("pushpop") { try $0.genPushPop(&$1) },
        InstructionClass("enterleave") { try $0.genEnterLeave(&$1) },
        InstructionClass("pushf") { try $0.genPushfPopf(&$1) },
        InstructionClass("string") { try $0.genString(&$1) },
        InstructionClass("flagops") { try $0.genFlagOps(&$1) },
        InstructionClass("lahf", when: { $0.lahfLong }) { try $0.genLahfSahf(&$1) },
        InstructionClass("nop") { try $0.genNop(&$1) },
        InstructionClass("fence") { try $0.genFence(&$1) },
        InstructionClass("x87") { try $0.genX87(&$1) },
        InstructionClass("sse") { try $0.genSSE(&$1) },
    ]
}
