/// RCPPS/RCPSS and RSQRTPS/RSQRTSS: the approximations Intel processors return, bit for bit.
///
/// The SDM only bounds their error (1.5 × 2^-12). These formulas reproduce an Intel Xeon's
/// results for all 2^32 inputs (checked exhaustively on the host, also under DAZ, FTZ and
/// every rounding mode, which they ignore): the result has 12 fraction bits; RCP looks at
/// the top 11 fraction bits of the input, RSQRT at the top 10 and the exponent's parity,
/// and both return the exact value at the middle of that input interval rounded to
/// nearest. AMD processors use other tables. No exception is raised and no MXCSR flag set;
/// denormal inputs read as zeros and tiny RCP results are flushed to zero.
enum SSEApproximation {
    static let sign: UInt32 = 0x8000_0000
    static let infinity: UInt32 = 0x7F80_0000
    static let quietBit: UInt32 = 0x0040_0000

    static func reciprocal(_ x: UInt32) -> UInt32 {
        let s = x & sign, e = (x >> 23) & 0xFF, m = x & 0x7F_FFFF
        if e == 0xFF { return m != 0 ? x | quietBit : s }
        if e == 0 { return s | infinity }
        if e >= 253 { return s }
        // 1 / (1 + (i + 1/2) / 2^11) in units of 2^-13, i the top 11 fraction bits; the
        // divisor is odd, so there are no ties.
        let d = 4097 + 2 * (m >> 12)
        let n = ((1 << 26) + d) / (2 * d)
        return s | ((253 - e) << 23) | ((n - 4096) << 11)
    }

    static func reciprocalSquareRoot(_ x: UInt32) -> UInt32 {
        let s = x & sign, e = (x >> 23) & 0xFF, m = x & 0x7F_FFFF
        if e == 0xFF && m != 0 { return x | quietBit }
        if e == 0 { return s | infinity }
        if s != 0 { return 0xFFC0_0000 }
        if e == 0xFF { return 0 }
        // x = 2^(2k) × y with y in [1, 4): 1/sqrt of the middle of y's interval (top 10
        // fraction bits), in units of 2^-13. Division and square root are IEEE operations,
        // correctly rounded on every host.
        let exponent = Int(e) - 127
        let odd = exponent & 1
        let k = (exponent - odd) / 2
        let middle = (2049 + 2 * Double(m >> 13)) / 2048 * (odd == 1 ? 2 : 1)
        let n = UInt32((8192 / middle.squareRoot()).rounded(.toNearestOrEven))
        return UInt32(126 - k) << 23 | ((n - 4096) << 11)
    }
}
