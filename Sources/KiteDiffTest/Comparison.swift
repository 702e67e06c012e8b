import X86

/// Compares the host CPU's result with the engine's and formats failures.
enum Comparison {
    /// The differences between the two results, one line each; empty when the case passed.
    /// Status flags the SDM leaves undefined (`undefinedFlags`) are ignored unless `strict`.
    static func differences(_ c: TestCase, native: MachineResult, engine: MachineResult, layout: Layout,
                            strict: Bool) -> [String] {
        var out: [String] = []
        if let why = native.abnormalExit { out.append("native: \(why)") }
        if let why = engine.abnormalExit { out.append("engine: \(why)") }
        out += engine.notes
        for r in 0..<16 where native.registers[r] != engine.registers[r] {
            let n = native.registers[r], e = engine.registers[r]
            out.append("\(pad(Reg.names64[r], 4)) native \(hex64(n))  engine \(hex64(e))  (xor \(hex(n ^ e)))")
        }
        let ignored = strict ? 0 : c.undefinedFlags
        let mask = FlagBits.compared & ~ignored
        let diff = (native.rflags ^ engine.rflags) & mask
        if diff != 0 {
            out.append("rflags native \(hex(native.rflags)) [\(FlagBits.names(native.rflags & FlagBits.compared))]"
                       + "  engine \(hex(engine.rflags)) [\(FlagBits.names(engine.rflags & FlagBits.compared))]"
                       + "  differ: \(FlagBits.names(diff))" + (ignored != 0 ? "  (undefined, ignored: \(FlagBits.names(ignored)))" : ""))
        }
        out += memoryDifferences("buffer", start: layout.buffer, native.buffer, engine.buffer)
        out += memoryDifferences("stack", start: layout.stack, native.stack, engine.stack)
        out += fpuDifferences(native.fpu, engine.fpu)
        return out
    }

    /// Differences between two FXSAVE images: FCW, FSW, the abridged tags, FOP, FIP, FDP
    /// (the same linear addresses on both sides), MXCSR, the registers in stack order and
    /// the XMM registers. MXCSR_MASK and the reserved bytes are not compared.
    static func fpuDifferences(_ a: [UInt8], _ b: [UInt8]) -> [String] {
        guard a.count == 512, b.count == 512 else { return a.count == b.count ? [] : ["fpu: images of \(a.count) and \(b.count) bytes"] }
        func field(_ bytes: [UInt8], _ at: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(bytes[at + $1]) << UInt64(8 * $1) } }
        var out: [String] = []
        let fields: [(String, Int, Int)] = [("FCW", 0, 2), ("FSW", 2, 2), ("FTW", 4, 1), ("FOP", 6, 2), ("FIP", 8, 8), ("FDP", 16, 8), ("MXCSR", 24, 4)]
        for (name, at, n) in fields where field(a, at, n) != field(b, at, n) {
            out.append("\(name) native \(hex(field(a, at, n)))  engine \(hex(field(b, at, n)))")
        }
        for i in 0..<8 {
            let at = 32 + 16 * i
            let (sa, sb) = (field(a, at, 8), field(b, at, 8))
            let (ea, eb) = (field(a, at + 8, 2), field(b, at + 8, 2))
            if sa != sb || ea != eb { out.append("ST\(i) native \(hex(ea)):\(hex64(sa))  engine \(hex(eb)):\(hex64(sb))") }
        }
        for i in 0..<16 {
            let at = 160 + 16 * i
            if a[at..<at + 16] != b[at..<at + 16] { out.append("XMM\(i) native \(bytesText(a[at..<at + 16]))  engine \(bytesText(b[at..<at + 16]))") }
        }
        return out
    }

    /// Differing byte runs (at most four shown).
    private static func memoryDifferences(_ name: String, start: UInt64, _ a: [UInt8], _ b: [UInt8]) -> [String] {
        guard a.count == b.count else { return ["\(name): engine returned \(b.count) bytes, expected \(a.count)"] }
        var runs: [Range<Int>] = []
        var i = 0
        while i < a.count {
            if a[i] != b[i] {
                var j = i
                while j < a.count && j - i < 32 && (a[j] != b[j] || (j + 1 < a.count && a[j + 1] != b[j + 1])) { j += 1 }
                runs.append(i..<j)
                i = j
            } else {
                i += 1
            }
        }
        var out: [String] = []
        for r in runs.prefix(4) {
            out.append("\(name) \(hex(start + UInt64(r.lowerBound))) (\(r.count) bytes): native \(bytesText(a[r]))  engine \(bytesText(b[r]))")
        }
        if runs.count > 4 { out.append("\(name): \(runs.count - 4) more differing runs") }
        return out
    }

    /// The case as text: code listing and initial state.
    static func listing(_ c: TestCase, layout: Layout) -> [String] {
        var out: [String] = []
        for s in c.snippets {
            for i in s.instrs {
                let bytes = bytesText(i.bytes[...])
                out.append("  \(String(i.address, radix: 16)): \(pad(bytes, 30)) \(i.text)" + (s.className == "fixup" ? "   ; flag fixup" : ""))
            }
        }
        var regs: [String] = []
        for r in 0..<16 { regs.append("\(pad(Reg.names64[r], 3))=\(hex64(c.registers[r]))") }
        for row in stride(from: 0, to: 16, by: 4) { out.append("  in: " + regs[row..<row + 4].joined(separator: " ")) }
        out.append("  in: rflags=\(hex(c.rflags)) [\(FlagBits.names(c.rflags))]  base=\(Reg.names64[c.baseRegister])"
                   + "  buffer=\(hex(layout.buffer))  undefined at end: \(FlagBits.names(c.undefinedFlags))")
        var fpu = FPUState()
        fpu.loadFXSAVEImage(c.fpu)
        if fpu != FPUState() {
            var line = "  in: FCW=\(hex(UInt64(fpu.controlWord))) FSW=\(hex(UInt64(fpu.statusWord))) tags=\(hex(UInt64(fpu.abridgedTags)))"
            for i in 0..<8 where fpu.abridgedTags & (1 << UInt8((fpu.top + i) & 7)) != 0 {
                line += " ST\(i)=\(hex(UInt64(fpu.st(i).signExponent))):\(hex64(fpu.st(i).significand))"
            }
            out.append(line)
        }
        return out
    }

    static func bytesText(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }

    static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - s.count) + s
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}
