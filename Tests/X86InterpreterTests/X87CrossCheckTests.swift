#if arch(x86_64) && canImport(Glibc)
    import Foundation
    import Testing
    import X86
    @testable import X86Interpreter

    /// Every x87 instruction form against the host's FPU: random states (all encoding
    /// classes, every rounding and precision control, some exceptions unmasked) and operands,
    /// one instruction each, compared bit for bit through FXSAVE images.
    @Suite struct X87CrossCheckTests {
        struct Case {
            var instruction: [UInt8]
            var memory: [UInt8] = []
            var rax: UInt64 = 0
            var rflags: UInt64 = 0x202
        }

        /// Runs `count` cases made by `make` on both sides; reports the first mismatches.
        /// KITE_X87_CASES multiplies the case counts, KITE_X87_SEED varies the seeds and
        /// KITE_X87_UNMASKED sets how many states (percent) unmask exceptions, for long hunts
        /// outside the regular test runs.
        static let scale = Int(ProcessInfo.processInfo.environment["KITE_X87_CASES"] ?? "") ?? 1
        static let seedOffset = UInt64(ProcessInfo.processInfo.environment["KITE_X87_SEED"] ?? "") ?? 0
        static let unmaskedOverride = Int(ProcessInfo.processInfo.environment["KITE_X87_UNMASKED"] ?? "")

        func crossCheck(_ name: String, count baseCount: Int = 2000, seed baseSeed: UInt64, unmaskedPercent: Int = 20, make: (inout TestRandom) -> Case) throws {
            let count = baseCount * Self.scale
            let seed = baseSeed &+ Self.seedOffset &* 1000
            guard let native = NativeX87() else {
                Issue.record("cannot map executable memory for the native x87 runner")
                return
            }
            var r = TestRandom(seed: seed)
            var failures = 0
            for index in 0..<count {
                let state = X87Samples.state(&r, unmaskedPercent: Self.unmaskedOverride ?? unmaskedPercent)
                let c = make(&r)
                let n = native.run(c.instruction, state: state, memory: c.memory, rax: c.rax, rflags: c.rflags)
                let (e, exit) = try X87EngineRunner.run(c.instruction, state: state, memory: c.memory, rax: c.rax, rflags: c.rflags)
                var diffs = X87EngineRunner.differences(native: n, engine: e)
                // FIP and FDP: each side's own instruction and operand address, or untouched.
                let (nativeFIP, engineFIP) = (Self.quad(n.image, 8), Self.quad(e.image, 8))
                if engineFIP != nativeFIP && engineFIP != (nativeFIP == 0 ? 0 : TestMachine.codeBase) { diffs.append("FIP native \(hex(nativeFIP)) engine \(hex(engineFIP))") }
                let (nativeFDP, engineFDP) = (Self.quad(n.image, 16), Self.quad(e.image, 16))
                if engineFDP != nativeFDP && engineFDP != (nativeFDP == 0 ? 0 : TestMachine.dataBase) { diffs.append("FDP native \(hex(nativeFDP)) engine \(hex(engineFDP))") }
                if exit != .hlt(length: 1) { diffs.append("engine exit \(exit)") }
                guard !diffs.isEmpty else { continue }
                failures += 1
                if failures <= 12 {
                    print("\(name) case \(index): \(c.instruction.map { hex($0) }) mem \(c.memory.prefix(10).map { hex($0) }) rflags \(hex(c.rflags))")
                    print("  from " + X87EngineRunner.describe(state))
                    for d in diffs { print("  ! " + d) }
                }
            }
            #expect(failures == 0, "\(name): \(failures) of \(count) cases differ from the host")
        }

        static func quad(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << UInt64(8 * $1) } }

        /// Each (opcode, ModRM base) with ST(0) to ST(7).
        static func registerForms(_ bases: [(UInt8, UInt8)]) -> [[UInt8]] {
            var forms: [[UInt8]] = []
            for (opcode, modrm) in bases {
                for i in 0..<8 { forms.append([opcode, modrm | UInt8(i)]) }
            }
            return forms
        }

        @Test func arithmeticOnRegisters() throws {
            try crossCheck("arith-reg", seed: 1) { r in
                let group = [0, 4, 6][r.below(3)]
                var reg = r.below(8)
                var i = r.below(8)
                if group == 6 && reg == 3 { i = 1 }
                if group == 6 && reg == 2 { reg = 0 }
                return Case(instruction: [UInt8(0xD8 + group), UInt8(0xC0 | reg << 3 | i)])
            }
        }

        @Test func arithmeticWithMemory() throws {
            try crossCheck("arith-mem", seed: 2) { r in
                let group = [0, 2, 4, 6][r.below(4)]
                let reg = r.below(8)
                let memory: [UInt8] = switch group {
                case 0: X87Samples.bytes(UInt64(X87Samples.single(&r)), 4)
                case 4: X87Samples.bytes(X87Samples.double(&r), 8)
                default: X87Samples.bytes(r.next() >> UInt64(r.below(64)), 4)
                }
                return Case(instruction: [UInt8(0xD8 + group), UInt8(reg << 3 | 6)], memory: memory)
            }
        }

        @Test func loadsAndStores() throws {
            let forms: [(UInt8, Int)] = [(0xD9, 0), (0xD9, 2), (0xD9, 3), (0xDD, 0), (0xDD, 1), (0xDD, 2), (0xDD, 3), (0xDB, 0),
                                         (0xDB, 1), (0xDB, 2), (0xDB, 3), (0xDB, 5), (0xDB, 7), (0xDF, 0), (0xDF, 1), (0xDF, 2),
                                         (0xDF, 3), (0xDF, 4), (0xDF, 5), (0xDF, 6), (0xDF, 7)]
            try crossCheck("load-store", count: 4000, seed: 3) { r in
                let (opcode, reg) = forms[r.below(forms.count)]
                var memory: [UInt8]
                switch (opcode, reg) {
                case (0xD9, 0): memory = X87Samples.bytes(UInt64(X87Samples.single(&r)), 4)
                case (0xDD, 0): memory = X87Samples.bytes(X87Samples.double(&r), 8)
                case (0xDB, 5):
                    let v = X87Samples.register(&r)
                    memory = X87Samples.bytes(v.significand, 8) + X87Samples.bytes(UInt64(v.signExponent), 2)
                case (0xDF, 4): memory = X87Samples.bytes(r.chance(70) ? 0x1234_5678_9012_3456 : r.next(), 8) + [UInt8(r.below(0x100)), r.chance(50) ? 0x80 : 0]
                default: memory = X87Samples.bytes(r.next() >> UInt64(r.below(64)), 8)
                }
                return Case(instruction: [opcode, UInt8(reg << 3 | 6)], memory: memory)
            }
        }

        @Test func stackAndUnaryOperations() throws {
            // FLD ST(i), FXCH, FNOP, FSTP1, FCHS, FABS, FTST, FXAM, the constants, FDECSTP,
            // FINCSTP, FSQRT, FRNDINT, FXTRACT, FPREM1, FPREM, FSCALE; FFREE, FST/FSTP ST(i),
            // FFREEP.
            let perRegister: [(UInt8, UInt8)] = [(0xD9, 0xC0), (0xD9, 0xC8), (0xD9, 0xD8), (0xDD, 0xC0), (0xDD, 0xD0), (0xDD, 0xD8), (0xDF, 0xC0)]
            let d9: [UInt8] = [0xD0, 0xE0, 0xE1, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xF6, 0xF7, 0xFA, 0xFC,
                               0xF4, 0xF5, 0xF8, 0xFD, 0xF4, 0xF5, 0xF8, 0xFD]
            let forms = Self.registerForms(perRegister) + d9.map { [0xD9, $0] }
            try crossCheck("stack-unary", count: 4000, seed: 4) { r in Case(instruction: forms[r.below(forms.count)]) }
        }

        @Test func comparisons() throws {
            let perRegister: [(UInt8, UInt8)] = [(0xD8, 0xD0), (0xD8, 0xD8), (0xDB, 0xE8), (0xDB, 0xF0), (0xDD, 0xE0), (0xDD, 0xE8), (0xDF, 0xE8), (0xDF, 0xF0)]
            let forms = Self.registerForms(perRegister) + [[0xDA, 0xE9], [0xDE, 0xD9]]
            try crossCheck("compare", seed: 5) { r in Case(instruction: forms[r.below(forms.count)], rflags: 0x202 | (r.next() & 0x8D5)) }
        }

        @Test func fxsaveAndMXCSR() throws {
            // FXSAVE, FXRSTOR (both formats), STMXCSR, LDMXCSR with [rsi].
            try crossCheck("fxsave", count: 1500, seed: 8) { r in
                var image = X87Samples.state(&r).fxsaveImage()
                var s = FPUState()
                s.loadFXSAVEImage(image)
                s.lastInstructionPointer = r.next() >> 17
                s.lastDataPointer = r.next() >> 17
                s.lastOpcode = UInt16(truncatingIfNeeded: r.next())
                s.mxcsr = UInt32(truncatingIfNeeded: r.next()) & 0xFFFF
                for i in 0..<16 { s.xmm[i] = XMMRegister(low: r.next(), high: r.next()) }
                image = s.fxsaveImage()
                image[0] = UInt8(truncatingIfNeeded: r.next())  // any control word; reserved byte 5
                image[5] = UInt8(truncatingIfNeeded: r.next())
                let forms: [[UInt8]] = [[0x0F, 0xAE, 0x06], [0x48, 0x0F, 0xAE, 0x06], [0x0F, 0xAE, 0x0E], [0x48, 0x0F, 0xAE, 0x0E],
                                        [0x0F, 0xAE, 0x1E], [0x0F, 0xAE, 0x16]]
                let form = forms[r.below(forms.count)]
                let memory = form == [0x0F, 0xAE, 0x16] ? X87Samples.bytes(r.next() & 0xFFFF, 4) : image + [UInt8](repeating: 0x5A, count: 512)
                return Case(instruction: form, memory: memory)
            }
        }

        @Test func conditionalMoves() throws {
            try crossCheck("fcmov", seed: 6) { r in
                Case(instruction: [r.chance(50) ? 0xDA : 0xDB, UInt8(0xC0 | r.below(32))], rflags: 0x202 | (r.next() & 0x8D5))
            }
        }

        @Test func controlInstructions() throws {
            // FNSTSW AX, FNCLEX, FNINIT, FNSTCW, FLDCW, FNSTSW m16, FNSTENV, FLDENV, FNSAVE,
            // FRSTOR (with and without 66h).
            let forms: [[UInt8]] = [[0xDF, 0xE0], [0xDB, 0xE2], [0xDB, 0xE3], [0xD9, 0x3E], [0xD9, 0x2E], [0xDD, 0x3E],
                                    [0xD9, 0x36], [0xD9, 0x26], [0xDD, 0x36], [0xDD, 0x26], [0x66, 0xD9, 0x36], [0x66, 0xD9, 0x26],
                                    [0x66, 0xDD, 0x36], [0x66, 0xDD, 0x26]]
            try crossCheck("control", count: 3000, seed: 7) { r in
                var memory = (0..<16).flatMap { _ in X87Samples.bytes(r.next(), 8) }
                // Mostly plausible environments: tags, a control word with masks.
                if r.chance(70) { memory[0] |= 0x3F; memory[4] &= 0xC0 }
                return Case(instruction: forms[r.below(forms.count)], memory: memory)
            }
        }
    }
#endif
