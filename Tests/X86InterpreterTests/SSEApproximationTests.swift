import Testing
import X86
@testable import X86Interpreter

/// RCPPS/RSQRTPS and their scalar forms: values an Intel Xeon returns (the formulas were
/// checked against it for all 2^32 inputs; here a sample and every special case).
@Suite struct SSEApproximationTests {
    @Test func reciprocalMatchesIntel() {
        let cases: [(UInt32, UInt32)] = [
            (0x3F80_0000, 0x3F7F_F000),  // 1 → 0.99975586
            (0x4040_0000, 0x3EAA_A000),  // 3
            (0x3FA0_0000, 0x3F4C_C000),  // 1.25 (index 512)
            (0x3FB0_0000, 0x3F3A_2800),  // 1.375 (index 768)
            (0xBF80_0000, 0xBF7F_F000),  // -1
            (0x0000_0000, 0x7F80_0000), (0x8000_0000, 0xFF80_0000),  // ±0 → ±∞
            (0x0000_0001, 0x7F80_0000), (0x807F_FFFF, 0xFF80_0000),  // denormals read as 0
            (0x7F80_0000, 0x0000_0000), (0xFF80_0000, 0x8000_0000),  // ±∞ → ±0
            (0x7E80_0000, 0x0000_0000), (0xFE80_0000, 0x8000_0000),  // tiny results flush
            (0x7F80_0001, 0x7FC0_0001), (0xFFC0_1234, 0xFFC0_1234),  // NaNs quieted
        ]
        for (x, r) in cases { #expect(SSEApproximation.reciprocal(x) == r, "rcp \(String(x, radix: 16))") }
    }

    @Test func reciprocalSquareRootMatchesIntel() {
        let cases: [(UInt32, UInt32)] = [
            (0x3F80_0000, 0x3F7F_F000),  // 1
            (0x4000_0000, 0x3F34_F800),  // 2
            (0x4080_0000, 0x3EFF_F000),  // 4
            (0x0000_0000, 0x7F80_0000), (0x8000_0000, 0xFF80_0000),  // ±0 → ±∞
            (0x0000_0001, 0x7F80_0000),  // a denormal reads as 0
            (0xBF80_0000, 0xFFC0_0000), (0xFF80_0000, 0xFFC0_0000),  // negative: indefinite
            (0x7F80_0000, 0x0000_0000),  // +∞ → +0
            (0x7F80_0001, 0x7FC0_0001),
        ]
        for (x, r) in cases { #expect(SSEApproximation.reciprocalSquareRoot(x) == r, "rsqrt \(String(x, radix: 16))") }
    }

    @Test func relativeErrorStaysWithinTheSDMsBound() {
        var x: UInt32 = 0x0080_0000
        while x < 0x7E80_0000 {
            let v = Double(Float(bitPattern: x))
            let rcp = Double(Float(bitPattern: SSEApproximation.reciprocal(x)))
            let rsqrt = Double(Float(bitPattern: SSEApproximation.reciprocalSquareRoot(x)))
            #expect(abs(rcp * v - 1) <= 1.5 / 4096)
            #expect(abs(rsqrt * v.squareRoot() - 1) <= 1.5 / 4096)
            x &+= 0x1357
        }
    }
}
