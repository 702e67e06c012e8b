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

        /// The floating-point forms.
        static let floatForms: [(UInt8?, UInt8, String)] = {
            var f: [(UInt8?, UInt8, String)] = []
            for prefix: UInt8? in [nil, 0xF3, 0x66, 0xF2] {
                for o: UInt8 in [0x51, 0x58, 0x59, 0x5A, 0x5C, 0x5D, 0x5E, 0x5F] { f.append((prefix, o, "rm")) }
                f.append((prefix, 0xC2, "rmi"))
            }
            f += [(nil, 0x5B, "rm"), (0x66, 0x5B, "rm"), (0xF3, 0x5B, "rm"), (0x66, 0xE6, "rm"), (0xF3, 0xE6, "rm"), (0xF2, 0xE6, "rm"),
                  (nil, 0x2E, "rm"), (nil, 0x2F, "rm"), (0x66, 0x2E, "rm"), (0x66, 0x2F, "rm"), (0xF3, 0x2A, "g"), (0xF2, 0x2A, "g"),
                  (0xF3, 0x2C, "rmG"), (0xF3, 0x2D, "rmG"), (0xF2, 0x2C, "rmG"), (0xF2, 0x2D, "rmG")]
            return f
        }()

        /// A word of float lanes: one double or two singles of every class.
        static func floatLanes(_ r: inout TestRandom) -> UInt64 {
            func single() -> UInt64 {
                let sign: UInt64 = r.chance(50) ? 1 << 31 : 0
                let f = r.next() & 0x7F_FFFF
                switch r.below(8) {
                case 0: return sign
                case 1: return sign | (f >> UInt64(r.below(23)))
                case 2: return sign | 0x7F80_0000 | (r.chance(50) ? 0 : f)
                case 3: return sign | UInt64(1 + r.below(4)) << 23 | f
                case 4: return sign | UInt64(250 + r.below(4)) << 23 | f
                default: return sign | UInt64(120 + r.below(16)) << 23 | (r.chance(30) ? f & ~0xFFFF : f)
                }
            }
            if r.chance(50) { return single() | single() << 32 }
            let sign: UInt64 = r.chance(50) ? 1 << 63 : 0
            let f = r.next() & 0xF_FFFF_FFFF_FFFF
            switch r.below(8) {
            case 0: return sign
            case 1: return sign | (f >> UInt64(r.below(52)))
            case 2: return sign | 0x7FF0_0000_0000_0000 | (r.chance(50) ? 0 : f)
            case 3: return sign | UInt64(1 + r.below(4)) << 52 | f
            case 4: return sign | UInt64(2040 + r.below(6)) << 52 | f
            case 5: return UInt64(bitPattern: Int64(r.below(2001) - 1000) << UInt64(r.below(40)))  // integers for the CVTs
            default: return sign | UInt64(1010 + r.below(30)) << 52 | (r.chance(30) ? f & ~0xFFFF_FFFF : f)
            }
        }

        /// Runs `count` cases of `forms` on both sides: XMM registers from `lanes`, MXCSR from
        /// `mxcsr`, a [rsi] buffer and RAX from `lanes` too; prints the first mismatches.
        func crossCheck(_ name: String, seed: UInt64, forms: [(UInt8?, UInt8, String)], lanes: (inout TestRandom) -> UInt64,
                        mxcsr: (inout TestRandom) -> UInt32) throws {
            guard let native = NativeX87() else {
                Issue.record("cannot map executable memory for the native runner")
                return
            }
            var r = TestRandom(seed: seed)
            var failures = 0
            let count = 6000 * X87CrossCheckTests.scale
            for index in 0..<count {
                var state = FPUState()
                for i in 0..<16 { state.xmm[i] = XMMRegister(low: lanes(&r), high: lanes(&r)) }
                state.mxcsr = mxcsr(&r)
                let (prefix, opcode, form) = forms[r.below(forms.count)]
                let memory = form.contains("m") && (!form.contains("r") || r.chance(40)) || (form.hasPrefix("g") && r.chance(40))
                let reg = form.contains("G") ? 0 : UInt8(r.below(16))
                let rm = form.contains("g") ? 0 : UInt8(r.below(16))
                let digit: UInt8? = form == "s" ? [0x71: [2, 4, 6], 0x72: [2, 4, 6], 0x73: [2, 3, 6, 7]][opcode]?.map { UInt8($0) }[r.below(opcode == 0x73 ? 4 : 3)] : nil
                let rexW = (form.contains("g") || form.contains("G")) && r.chance(50)
                let regField = digit ?? reg
                let rex: UInt8 = 0x40 | (rexW ? 8 : 0) | (regField >= 8 ? 4 : 0) | (rm >= 8 && !memory ? 1 : 0)
                var bytes: [UInt8] = prefix.map { [$0] } ?? []
                if rex != 0x40 || r.chance(10) { bytes.append(rex) }
                bytes += [0x0F, opcode, memory ? (regField & 7) << 3 | 6 : 0xC0 | (regField & 7) << 3 | (rm & 7)]
                if form.contains("i") || form == "s" { bytes.append(UInt8(truncatingIfNeeded: r.chance(50) ? r.next() & 7 : r.next())) }
                let buffer = (0..<4).flatMap { _ in X87Samples.bytes(lanes(&r), 8) }
                let rax = r.chance(50) ? lanes(&r) : UInt64(bitPattern: Int64(r.below(1 << 20)) - (1 << 19))
                let rflags = 0x202 | (r.next() & 0x8D5)
                let n = native.run(bytes, state: state, memory: buffer, rax: rax, rflags: rflags)
                let (e, exit) = try X87EngineRunner.run(bytes, state: state, memory: buffer, rax: rax, rflags: rflags)
                var diffs = X87EngineRunner.differences(native: n, engine: e)
                if exit != .hlt(length: 1) { diffs.append("engine exit \(exit)") }
                guard !diffs.isEmpty else { continue }
                failures += 1
                if failures <= 12 {
                    print("\(name) case \(index): \(bytes.map { hex($0) }) MXCSR \(hex(state.mxcsr)) rax \(hex(rax))")
                    print("  xmm\(reg) \(hex(state.xmm[Int(reg)].high)):\(hex(state.xmm[Int(reg)].low)) xmm\(rm) \(hex(state.xmm[Int(rm)].high)):\(hex(state.xmm[Int(rm)].low))")
                    for d in diffs { print("  ! " + d) }
                }
            }
            #expect(failures == 0, "\(name): \(failures) of \(count) cases differ from the host")
        }

        @Test func floatingPoint() throws {
            // Every exception masked (an unmasked one would trap on the host), any rounding,
            // DAZ and FTZ at random, some flags already set.
            try crossCheck("sse-fp", seed: 78, forms: Self.floatForms, lanes: { Self.floatLanes(&$0) }) { r in
                0x1F80 | UInt32(r.below(4)) << 13 | (r.chance(30) ? 1 << 6 : 0) | (r.chance(30) ? 1 << 15 : 0)
                    | (r.chance(20) ? UInt32(r.next() & 0x3F) : 0)
            }
        }

        @Test func packedAndMoves() throws {
            try crossCheck("sse", seed: 77, forms: Self.forms, lanes: { Self.lanes(&$0) }) { _ in 0x1F80 }
        }
    }
#endif
