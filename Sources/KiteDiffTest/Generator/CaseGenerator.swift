/// Generates one test case: initial registers, flags and memory, and a sequence of 1-6
/// snippets, each from a random instruction class (or the one class asked for).
///
/// It tracks which status flags the SDM leaves undefined after each instruction: a snippet
/// that would consume an undefined flag (ADC after MUL, a Jcc on OF after a multi-bit shift,
/// PUSHF after DIV...) is preceded by a `cmp` that defines all of them, and the flags still
/// undefined at the end are excluded from the comparison.
struct CaseGenerator {
    var rng: SplitMix64
    let layout: Layout
    let features: CPUFeatures
    /// The register holding the data buffer's address (RBX or R12-R15), never overwritten.
    let base: Int
    /// Where the test's first instruction goes: right after the harness's entry jump, or
    /// just before the boundary between the two code pages so that instructions straddle it.
    let testStart: UInt64
    /// The end of the room for test code.
    let testLimit: UInt64

    init(seed: UInt64, index: Int, layout: Layout, features: CPUFeatures, earliestStart: UInt64, testLimit: UInt64) {
        rng = SplitMix64(seed: seed, case: index)
        self.layout = layout
        self.features = features
        self.testLimit = testLimit
        base = rng.pick([R.rbx, R.rbx, 12, 13, 14, 15])
        let boundary = layout.code + 0x1000
        testStart = rng.bool() ? earliestStart : max(earliestStart, boundary - UInt64(rng.range(0...40)))
    }

    mutating func generateCase(index: Int, classes: [InstructionClass]) -> TestCase {
        var registers = (0..<16).map { _ in rng.registerValue() }
        registers[R.rsp] = layout.initialRSP
        registers[base] = layout.baseValue
        let rflags = 0x202 | (rng.next() & FlagBits.status) | (rng.oneIn(4) ? FlagBits.df : 0)
        var buffer = [UInt8](repeating: 0, count: Int(Layout.bufferSize))
        var stack = [UInt8](repeating: 0, count: Int(Layout.stackSize))
        buffer.withUnsafeMutableBytes { p in
            for i in 0..<p.count / 8 { p.storeBytes(of: rng.interesting(bits: 64).littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        }
        stack.withUnsafeMutableBytes { p in
            for i in 0..<p.count / 8 { p.storeBytes(of: rng.next().littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
        }
        let fpu = initialFPU(x87: classes.contains { $0.name == "x87" }, sse: classes.contains { $0.name == "sse" })

        var snippets: [Snippet] = []
        var pc = testStart
        var undefined: UInt64 = 0
        var unplaced: [String] = []
        let count = rng.range(1...6)
        for _ in 0..<count {
            guard pc + 512 < testLimit else { break }
            let cls = rng.pick(classes)
            var attempts = 0
            var placed = false
            while attempts < 50 && !placed {
                attempts += 1
                var b = SnippetBuilder(pc: pc)
                do { try cls.generate(&self, &b) } catch { continue }
                if Self.consumesUndefined(b.instrs, undefined) {
                    if let fix = try? makeFixup(at: pc) {
                        snippets.append(fix)
                        pc += UInt64(fix.instrs[0].bytes.count)
                        undefined = 0
                    }
                    continue
                }
                for i in b.instrs { undefined = i.flags.apply(to: undefined) }
                snippets.append(Snippet(className: cls.name, instrs: b.instrs))
                pc = b.pc
                placed = true
            }
            if !placed { unplaced.append(cls.name) }
        }
        return TestCase(index: index, start: testStart, snippets: snippets, registers: registers, rflags: rflags, buffer: buffer,
                        stack: stack, fpu: fpu, undefinedFlags: undefined, baseRegister: base, unplaced: unplaced)
    }

    /// Whether some instruction reads a flag that is undefined when it runs.
    private static func consumesUndefined(_ instrs: [Instr], _ undefinedBefore: UInt64) -> Bool {
        var u = undefinedBefore
        for i in instrs {
            if i.flags.reads & u != 0 { return true }
            u = i.flags.apply(to: u)
        }
        return false
    }

    /// `cmp r64, r64`: defines every status flag from register values that agree on both sides.
    private mutating func makeFixup(at pc: UInt64) throws -> Snippet {
        var b = SnippetBuilder(pc: pc)
        let a = rng.below(16), c = rng.below(16)
        var i = Inst([0x39], rexW: true)
        i.regField = c
        i.regOperand = Reg(c, 8)
        i.rm = .reg(Reg(a, 8))
        try b.emit(i, "cmp \(Reg(a, 8).name), \(Reg(c, 8).name)", .arith)
        return Snippet(className: "fixup", instrs: b.instrs)
    }
}
