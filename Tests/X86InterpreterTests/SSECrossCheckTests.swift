#if arch(x86_64) && canImport(Glibc)
    import Testing
    import X86
    @testable import X86Interpreter

    /// The SSE/SSE2 subset against the host: random XMM contents (lanes of 0, all ones, sign
    /// bits, small and random values), every implemented form with register and [rsi]
    /// operands, compared through the FXSAVE images, RAX and the operand buffer.
    @Suite struct SSECrossCheckTests {
        /// (mandatory prefix, opcode, form): "rm" any, "m" memory only, "r" register only,
        /// "i" with imm8, "g" a general register (RAX) in r/m, "G" a general register (EAX) in reg.
        static let forms: [(UInt8?, UInt8, String)] = {
            var f: [(UInt8?, UInt8, String)] = []
            for o: UInt8 in [0x10, 0x11, 0x14, 0x15, 0x28, 0x29, 0x54, 0x55, 0x56, 0x57] { f += [(nil, o, "rm"), (0x66, o, "rm")] }
            for o: UInt8 in [0x13, 0x17, 0x2B] { f += [(nil, o, "m"), (0x66, o, "m")] }
            f += [(nil, 0x12, "rm"), (nil, 0x16, "rm"), (0x66, 0x12, "m"), (0x66, 0x16, "m"), (nil, 0x50, "rG"), (0x66, 0x50, "rG"),
                  (nil, 0xC6, "rmi"), (0x66, 0xC6, "rmi"), (0x66, 0x6E, "g"), (0x66, 0x7E, "g"), (0x66, 0x70, "rmi"),
                  (0x66, 0x71, "s"), (0x66, 0x72, "s"), (0x66, 0x73, "s"), (0x66, 0xC4, "gi"), (0x66, 0xC5, "rGi"),
                  (0x66, 0xD7, "rG"), (0x66, 0xE7, "m"), (0x66, 0xD6, "rm"), (0xF3, 0x10, "rm"), (0xF3, 0x11, "rm"),
                  (0xF2, 0x10, "rm"), (0xF2, 0x11, "rm"), (0xF3, 0x6F, "rm"), (0xF3, 0x7F, "rm"), (0xF3, 0x7E, "rm"),
                  (0xF3, 0x70, "rmi"), (0xF2, 0x70, "rmi")]
            let integer: [UInt8] = Array(0x60...0x6F) + [0x74, 0x75, 0x76, 0x7F] + Array(0xD1...0xD5) + Array(0xD8...0xE5)
                + Array(0xE8...0xEF) + Array(0xF1...0xF6) + Array(0xF8...0xFE)
            for o in integer where o != 0x6E { f.append((0x66, o, "rm")) }
            return f
        }()

        static func lanes(_ r: inout TestRandom) -> UInt64 {
            switch r.below(6) {
            case 0: return 0
            case 1: return ~0
            case 2: return 0x8080_8080_8080_8080 & r.next()
            case 3: return r.next() & 0x00FF_00FF_00FF_00FF
            case 4: return r.next() & 0x7F7F_7F7F_7F7F_7F7F
            default: return r.next()
            }
        }

        @Test func packedAndMoves() throws {
            guard let native = NativeX87() else {
                Issue.record("cannot map executable memory for the native runner")
                return
            }
            var r = TestRandom(seed: 77)
            var failures = 0
            let count = 6000 * X87CrossCheckTests.scale
            for index in 0..<count {
                var state = FPUState()
                for i in 0..<16 { state.xmm[i] = XMMRegister(low: Self.lanes(&r), high: Self.lanes(&r)) }
                let (prefix, opcode, form) = Self.forms[r.below(Self.forms.count)]
                let memory = form.contains("m") && (!form.contains("r") || r.chance(50))
                var reg = UInt8(r.below(16))
                var rm = UInt8(r.below(16))
                if form.contains("G") { reg = 0 }
                if form.contains("g") { rm = 0 }
                if form == "s" { reg = [0x71: [2, 4, 6], 0x72: [2, 4, 6], 0x73: [2, 3, 6, 7]][opcode]!.map { UInt8($0) }[r.below(opcode == 0x73 ? 4 : 3)] }
                let rexW = form.contains("g") && r.chance(50)
                let rex: UInt8 = 0x40 | (rexW ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 && !memory ? 1 : 0)
                var bytes: [UInt8] = prefix.map { [$0] } ?? []
                if rex != 0x40 || r.chance(10) { bytes.append(rex) }
                bytes += [0x0F, opcode, memory ? (reg & 7) << 3 | 6 : 0xC0 | (reg & 7) << 3 | (rm & 7)]
                if form.contains("i") || form == "s" { bytes.append(UInt8(truncatingIfNeeded: r.chance(30) ? r.next() & 0x1F : r.next())) }
                let buffer = (0..<4).flatMap { _ in X87Samples.bytes(Self.lanes(&r), 8) }
                let rax = Self.lanes(&r)
                let n = native.run(bytes, state: state, memory: buffer, rax: rax)
                let (e, exit) = try X87EngineRunner.run(bytes, state: state, memory: buffer, rax: rax, rflags: 0x202)
                var diffs = X87EngineRunner.differences(native: n, engine: e)
                if exit != .hlt(length: 1) { diffs.append("engine exit \(exit)") }
                guard !diffs.isEmpty else { continue }
                failures += 1
                if failures <= 12 {
                    print("sse case \(index): \(bytes.map { hex($0) })")
                    for d in diffs { print("  ! " + d) }
                }
            }
            #expect(failures == 0, "sse: \(failures) of \(count) cases differ from the host")
        }
    }
#endif
