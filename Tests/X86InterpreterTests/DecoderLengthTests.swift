import Foundation
import Testing
import X86
import X86Interpreter

/// Cross-checks `X86Decoder.instructionLength` against the host's disassemblers.
///
/// A few thousand byte strings shaped like real encodings (legacy prefixes, an optional REX,
/// every one- and two-byte opcode, some 0F 38/0F 3A ones, directed prefix/REX/size
/// combinations, random ModRM/SIB/displacement/immediate bytes) are assembled as `.byte`
/// data, one per 32-byte slot padded with INT3, and disassembled with llvm-objdump. Every
/// string our decoder accepts must start with an instruction of the same length in LLVM's
/// view. Strings we call #UD are skipped (LLVM knows x87, SSE and AVX, which this CPU does
/// not have); strings LLVM cannot decode but we measure are mismatches, unless GNU objdump
/// (in Intel64 mode) is installed and measures them as we do: LLVM lacks the hint NOPs,
/// INT1, UD0, the SAL and TEST aliases, and reads 66h on near branches as AMD does.
@Suite struct DecoderLengthTests {
    /// Bytes per test string: longer than any instruction, so the decoder never runs out.
    static let caseBytes = 16
    /// Slot size: a case, then INT3s. An instruction LLVM starts in the random tail ends
    /// before byte 15 + 15 = 30, so the disassembler is back in step at every slot.
    static let slotBytes = 32
    static let variantsPerOpcode = 8
    static let threeByteCasesPerMap = 128

    @Test func lengthsAgreeWithLLVMObjdump() throws {
        guard let clang = ExternalDisassembler.find("clang") else {
            Issue.record("clang not found on PATH, in /opt/swift/usr/bin or /usr/bin: cannot cross-check decoder lengths")
            return
        }
        guard let llvm = ExternalDisassembler.llvm(besideClang: clang) else {
            Issue.record("llvm-objdump not found on PATH, in /opt/swift/usr/bin or /usr/bin: cannot cross-check decoder lengths")
            return
        }
        let gnu = ExternalDisassembler.gnu()

        let cases = LengthCaseGenerator.cases(
            seed: 0x1E_9C7B, caseBytes: Self.caseBytes, variantsPerOpcode: Self.variantsPerOpcode,
            threeByteCasesPerMap: Self.threeByteCasesPerMap)
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("kite-decoder-length-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = try ExternalDisassembler.assemble(cases, slotBytes: Self.slotBytes, clang: clang, in: dir)
        let end = cases.count * Self.slotBytes
        let llvmListing = try llvm.instructions(in: object, end: end)
        let gnuListing = try gnu?.instructions(in: object, end: end)

        var compared = 0
        var skippedInvalid = 0
        var skippedOther = 0
        var settledByGNU: [LengthMismatch] = []
        var mismatches: [LengthMismatch] = []
        for (i, bytes) in cases.enumerated() {
            let ours = X86Decoder.instructionLength(bytes, mode: .long64)
            guard case .length(let n) = ours else {
                if ours == .invalidOpcode { skippedInvalid += 1 } else { skippedOther += 1 }
                continue
            }
            compared += 1
            let offset = i * Self.slotBytes
            let l = llvmListing[offset]
            if let l, !llvm.isUndecodable(l.text), l.length == n { continue }
            // LLVM disagrees or cannot decode: GNU objdump (Intel64 reading) may settle it.
            let g = gnuListing?[offset]
            let m = LengthMismatch(bytes: bytes, ours: n, llvm: l, gnu: g)
            if let gnu, let g, g.length == n, !gnu.isUndecodable(g.text) || Self.isMPXWithReservedBound(g.text)
                || Self.isPrefixedWBINVD(bytes) || Self.isUndocumentedX87Alias(bytes) {
                settledByGNU.append(m)
            } else {
                mismatches.append(m)
            }
        }

        print("DecoderLengthTests: \(cases.count) cases, \(compared) compared, \(skippedInvalid) skipped as #UD, "
            + "\(skippedOther) skipped as too long/truncated; \(settledByGNU.count) agree only with GNU objdump, "
            + "\(mismatches.count) mismatches (\(llvm.path), \(gnu?.path ?? "no GNU objdump"))")
        for m in settledByGNU { print("  GNU-ONLY \(m)") }
        for m in mismatches { print("  LENGTH-MISMATCH \(m)") }
        #expect(compared > cases.count / 3, "too few cases decoded as valid for the check to mean much")
        if !mismatches.isEmpty {
            let shown = mismatches.prefix(60).map { "\($0)" }.joined(separator: "\n")
            Issue.record("\(mismatches.count) of \(compared) decoded lengths disagree with the host disassemblers (first 60; all are printed above):\n\(shown)")
        }
    }

    /// GNU objdump reads 0F 1A/0F 1B as MPX and prints BND4-BND7 as "(bad)"; on a CPU
    /// without MPX (this one) they are hint NOPs, whose length GNU still measures.
    /// WBINVD (0F 09) with a 66 prefix: neither disassembler decodes it, while processors
    /// ignore the operand-size prefix on it; Kite's decoder runs it as WBINVD.
    static func isPrefixedWBINVD(_ bytes: [UInt8]) -> Bool {
        let body = bytes.drop { [0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65].contains($0) }
        return Array(body.prefix(2)) == [0x0F, 0x09] && bytes.first == 0x66
    }

    /// The reserved x87 register forms Intel processors execute as aliases (FCOM2 DC D0+i,
    /// FCOMP3 DC D8+i, FXCH4 DD C8+i, FCOMP5 DE D0+i, FXCH7 DF C8+i, FSTP8 DF D0+i, FSTP9
    /// DF D8+i, FSTP1 D9 D8+i; X87CrossCheckTests runs them on the host), which neither
    /// disassembler names: two bytes after the prefixes, as we measure.
    static func isUndocumentedX87Alias(_ bytes: [UInt8]) -> Bool {
        let body = Array(bytes.drop { [0x66, 0x67, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0xF2, 0xF3].contains($0) || (0x40...0x4F).contains($0) }.prefix(2))
        guard body.count == 2 else { return false }
        let aliases: [(UInt8, UInt8)] = [(0xDC, 0xD0), (0xDC, 0xD8), (0xDD, 0xC8), (0xDE, 0xD0), (0xDF, 0xC8), (0xDF, 0xD0), (0xDF, 0xD8), (0xD9, 0xD8)]
        return aliases.contains { body[0] == $0.0 && body[1] & 0xF8 == $0.1 }
    }

    static func isMPXWithReservedBound(_ text: String) -> Bool {
        text.contains("bndldx") || text.contains("bndstx") || text.contains("bndmov") || text.contains("bndcl")
            || text.contains("bndcu") || text.contains("bndcn") || text.contains("bndmk")
    }

    @Test func theGeneratorIsDeterministicAndCoversTheMaps() {
        let a = LengthCaseGenerator.cases(seed: 7, caseBytes: 16, variantsPerOpcode: 2, threeByteCasesPerMap: 4)
        let b = LengthCaseGenerator.cases(seed: 7, caseBytes: 16, variantsPerOpcode: 2, threeByteCasesPerMap: 4)
        #expect(a == b)
        #expect(a.count == 256 * 2 + 256 * 2 + 2 * 4 + LengthCaseGenerator.directedHeads.count * LengthCaseGenerator.directedVariants)
        #expect(a.allSatisfy { $0.count == 16 })
        // Variant 0 of each opcode carries no prefix, so the opcode is the first byte.
        #expect(a[0][0] == 0x00 && a[2 * 0xF4][0] == 0xF4)
        #expect(a[512][0] == 0x0F && a[512][1] == 0x00)
    }
}

/// One disagreement, printed with everything the decoder's author needs.
struct LengthMismatch: CustomStringConvertible {
    let bytes: [UInt8]
    let ours: Int
    let llvm: ExternalDisassembler.Instruction?
    let gnu: ExternalDisassembler.Instruction?

    var description: String {
        func hex(_ b: some Sequence<UInt8>) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }
        func show(_ i: ExternalDisassembler.Instruction?) -> String { i.map { "\($0.length) '\($0.text)'" } ?? "-" }
        return "[\(hex(bytes.prefix(ours)))] ours=\(ours) llvm=\(show(llvm)) gnu=\(show(gnu))  (case: \(hex(bytes)))"
    }
}

/// Deterministic instruction-shaped byte strings.
enum LengthCaseGenerator {
    static let legacyPrefixes: [UInt8] = [0x66, 0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x2E, 0x3E, 0x26, 0x36, 0x64, 0x65]

    /// For every one-byte opcode and every 0F xx opcode, `variantsPerOpcode` strings (the
    /// first without prefixes), then `threeByteCasesPerMap` strings for each of 0F 38 and
    /// 0F 3A with random third bytes. Each string is `caseBytes` long.
    static func cases(seed: UInt64, caseBytes: Int, variantsPerOpcode: Int, threeByteCasesPerMap: Int) -> [[UInt8]] {
        var rng = SplitMix(seed: seed)
        var out: [[UInt8]] = []
        for opcode in 0..<256 {
            for v in 0..<variantsPerOpcode {
                out.append(make([UInt8(opcode)], plain: v == 0, caseBytes: caseBytes, &rng))
            }
        }
        for opcode in 0..<256 {
            for v in 0..<variantsPerOpcode {
                out.append(make([0x0F, UInt8(opcode)], plain: v == 0, caseBytes: caseBytes, &rng))
            }
        }
        for map: UInt8 in [0x38, 0x3A] {
            for _ in 0..<threeByteCasesPerMap {
                out.append(make([0x0F, map, UInt8(truncatingIfNeeded: rng.next())], plain: false, caseBytes: caseBytes, &rng))
            }
        }
        for head in directedHeads {
            for _ in 0..<directedVariants { out.append(make(head, plain: true, caseBytes: caseBytes, &rng)) }
        }
        return out
    }

    static let directedVariants = 4

    /// Starts of encodings where operand-size, address-size and REX rules interact, which
    /// random prefixes reach too rarely; each is completed with random bytes.
    static let directedHeads: [[UInt8]] = [
        [0x66, 0x48, 0x68], [0x66, 0x48, 0x6A], [0x66, 0x68], [0x66, 0x6A],  // PUSH imm: REX.W beats 66
        [0x66, 0x48, 0xB8], [0x66, 0x48, 0xC7, 0x00], [0x66, 0x48, 0x05], [0x66, 0x48, 0xA9],
        [0x66, 0x48, 0xF7, 0x00], [0x66, 0x48, 0x81, 0xC0], [0x66, 0x48, 0x69, 0xC0],
        [0x48, 0xB8], [0x49, 0xBF], [0x66, 0xB8], [0x48, 0xC7, 0x04, 0x24],
        [0xA1], [0x48, 0xA1], [0x67, 0xA1], [0x67, 0x48, 0xA3], [0x66, 0x67, 0xA0],  // moffs
        [0x66, 0xE8], [0x66, 0xE9], [0x66, 0xEB], [0x66, 0x0F, 0x84], [0x66, 0xC2], [0x66, 0xC3],
        [0xC8], [0x66, 0xC8], [0xC2], [0xCA], [0x66, 0xFF, 0xD0], [0x66, 0xFF, 0x20], [0x66, 0x8F, 0x00],
        [0x40, 0x66, 0x90], [0x48, 0x66, 0xB8], [0x48, 0xF3, 0x90], [0xF3, 0x90], [0x41, 0x90],
        [0x0F, 0x20, 0xC0], [0x0F, 0x20, 0x00], [0x0F, 0x22, 0x44], [0x0F, 0x21, 0x80], [0x0F, 0x23, 0x04],
        [0xF3, 0x0F, 0x1E, 0xFA], [0xF3, 0x0F, 0xB8], [0xF3, 0x0F, 0xBC], [0xF3, 0x0F, 0xBD],
        [0x0F, 0x38, 0xF0, 0x00], [0x48, 0x0F, 0x38, 0xF1, 0x44], [0x66, 0x0F, 0x38, 0xF1, 0x04],
        [0xF3, 0x0F, 0xAE, 0xC0], [0xF3, 0x48, 0x0F, 0xAE, 0xD8], [0x0F, 0xAE, 0xE8], [0x0F, 0xAE, 0x38],
        [0x0F, 0xC7, 0x08], [0x48, 0x0F, 0xC7, 0x0C, 0x24], [0x0F, 0xC7, 0xF0], [0xF3, 0x0F, 0xC7, 0xF8],
        [0x0F, 0x01, 0xF8], [0x0F, 0x01, 0xF9], [0x0F, 0x01, 0xD0], [0x0F, 0x01, 0xCA], [0x0F, 0x01, 0x15],
        [0x0F, 0x00, 0xD8], [0x48, 0x0F, 0x00, 0xC0], [0x0F, 0xBA, 0xE0], [0xF0, 0x48, 0x0F, 0xBA, 0x28],
        [0x0F, 0xA4, 0xC0], [0x0F, 0xAC, 0x04, 0x24], [0xF6, 0x00], [0xF6, 0xC0], [0xF7, 0x40], [0x66, 0xF7, 0xC0],
        [0xF0, 0x48, 0x0F, 0xC1, 0x03], [0xF0, 0x0F, 0xB1, 0x0A], [0xF0, 0x87, 0x03], [0xF0, 0x80, 0x30],
        [0x8C, 0xD8], [0x8E, 0xD8], [0x8E, 0xC8], [0x8D, 0x04, 0x25], [0x8D, 0x05], [0x67, 0x8D, 0x44, 0x24],
        [0xE4], [0xE6], [0xCD], [0xCC], [0xF1], [0x9B], [0xD7], [0xE3], [0x67, 0xE3], [0xE2],
    ]

    /// Prefixes (none if `plain`), an optional REX, the opcode bytes and random bytes to
    /// fill `caseBytes` (ModRM, SIB, displacement and immediate come from these).
    private static func make(_ opcode: [UInt8], plain: Bool, caseBytes: Int, _ rng: inout SplitMix) -> [UInt8] {
        var bytes: [UInt8] = []
        if !plain {
            // Mostly zero or one prefix, sometimes two or three.
            let roll = rng.next() % 20
            let count = roll < 8 ? 0 : (roll < 15 ? 1 : (roll < 19 ? 2 : 3))
            for _ in 0..<count {
                bytes.append(legacyPrefixes[Int(rng.next() % UInt64(legacyPrefixes.count))])
            }
            if rng.next() % 5 < 2 { bytes.append(0x40 | UInt8(rng.next() & 0xF)) }
        }
        bytes += opcode
        while bytes.count < caseBytes { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
        return bytes
    }
}
