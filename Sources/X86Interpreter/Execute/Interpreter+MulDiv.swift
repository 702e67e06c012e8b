import X86

extension Interpreter {
    /// One-operand MUL/IMUL (RDX:RAX ← RAX × E) and DIV/IDIV (RAX, RDX ← RDX:RAX ÷ E).
    /// Division faults (#DE) on a zero divisor or a quotient that does not fit, before any
    /// register changes.
    func executeMulDiv(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let size = d.size
        let m = sizeMask(size)
        let src = try readE(p)
        let bits = UInt64(size) * 8
        // The implicit low and high halves: AL/AH for bytes, else rAX and rDX.
        let low = gpr(.rax) & m
        let high = size == 1 ? (gpr(.rax) >> 8) & 0xFF : gpr(.rdx) & m
        switch d.op {
        case .mul, .imul1:
            let (hi, lo): (UInt64, UInt64)
            let overflow: Bool
            if d.op == .mul {
                (hi, lo) = Self.multiplyUnsigned(low, src, size: size)
                overflow = hi != 0
            } else {
                (hi, lo) = Self.multiplySigned(low, src, size: size)
                // CF = OF = 1 when the high half is not the sign extension of the low half.
                overflow = hi != (lo & signBit(size) != 0 ? m : 0)
            }
            writeDoubleResult(low: lo, high: hi, size: size)
            setMultiplyFlags(overflow: overflow, result: lo, size: size)
        default:
            guard src != 0 else { throw .fault(.divideError) }
            let quotient: UInt64
            let remainder: UInt64
            if d.op == .div {
                guard high < src else { throw .fault(.divideError) }  // quotient would not fit
                if size == 8 {
                    (quotient, remainder) = src.dividingFullWidth((high, low))
                } else {
                    let dividend = (high << bits) | low
                    quotient = dividend / src
                    remainder = dividend % src
                }
            } else {
                guard let r = Self.divideSigned(high: high, low: low, by: src, size: size) else {
                    throw .fault(.divideError)
                }
                (quotient, remainder) = r
            }
            writeDoubleResult(low: quotient & m, high: remainder & m, size: size)
            // Flags are undefined after DIV/IDIV; they are left as they were.
        }
    }

    /// IMUL r, r/m and IMUL r, r/m, imm: the truncated product, CF = OF = overflow.
    func executeIMul(_ p: UnsafePointer<DecodedInstruction>) throws(CPUEvent) {
        let d = p.pointee
        let a = try readE(p)
        let b = d.flags.contains(.sourceImmediate) ? d.immediate & sizeMask(d.size) : reg(d.reg, d.size)
        let (hi, lo) = Self.multiplySigned(a, b, size: d.size)
        let overflow = hi != (lo & signBit(d.size) != 0 ? sizeMask(d.size) : 0)
        setReg(d.reg, d.size, lo)
        setMultiplyFlags(overflow: overflow, result: lo, size: d.size)
    }

    /// Stores a double-width result: AX for bytes, else rDX:rAX.
    private func writeDoubleResult(low: UInt64, high: UInt64, size: UInt8) {
        if size == 1 {
            setReg(0, 2, (high << 8) | low)
        } else {
            setReg(0, size, low)
            setReg(2, size, high)
        }
    }

    /// CF and OF from the overflow; for the flags the SDM leaves undefined, SF and PF from the
    /// low result with ZF and AF cleared, which is what Intel processors produce (measured
    /// on the host, a family 6 Xeon: ZF stays clear even for a zero product).
    private func setMultiplyFlags(overflow: Bool, result: UInt64, size: UInt8) {
        var f = szpBits(result, size: size) & ~Self.ZF
        if overflow { f |= Self.CF | Self.OF }
        setStatusFlags(f, mask: Self.statusMask)
    }

    /// Unsigned product of two `size`-byte values as (high, low) halves of `size` bytes.
    static func multiplyUnsigned(_ a: UInt64, _ b: UInt64, size: UInt8) -> (UInt64, UInt64) {
        let m = sizeMask(size)
        if size == 8 {
            let r = (a & m).multipliedFullWidth(by: b & m)
            return (r.high, r.low)
        }
        let product = (a & m) &* (b & m)  // fits: at most 64 bits for 32-bit operands
        return ((product >> (UInt64(size) * 8)) & m, product & m)
    }

    /// Signed product of two `size`-byte values as (high, low) halves of `size` bytes.
    static func multiplySigned(_ a: UInt64, _ b: UInt64, size: UInt8) -> (UInt64, UInt64) {
        let m = sizeMask(size)
        let sa = Int64(bitPattern: signExtend(a & m, from: size))
        let sb = Int64(bitPattern: signExtend(b & m, from: size))
        if size == 8 {
            let r = sa.multipliedFullWidth(by: sb)
            return (UInt64(bitPattern: r.high), r.low)
        }
        let product = UInt64(bitPattern: sa &* sb)  // exact: |product| < 2^62
        return ((product >> (UInt64(size) * 8)) & m, product & m)
    }

    /// Signed division of high:low by `divisor`, or nil when the quotient does not fit
    /// (including INT_MIN / -1).
    static func divideSigned(high: UInt64, low: UInt64, by divisor: UInt64, size: UInt8) -> (UInt64, UInt64)? {
        let m = sizeMask(size)
        let sd = Int64(bitPattern: signExtend(divisor & m, from: size))
        if size == 8 {
            // 128-bit dividend: divide magnitudes, then fix signs.
            let negative = high & (1 << 63) != 0
            var (mh, ml) = (high, low)
            if negative { (mh, ml) = negate128(mh, ml) }
            let md = sd < 0 ? UInt64(bitPattern: 0 &- sd) : UInt64(sd)
            guard mh < md else { return nil }
            let (uq, ur) = md.dividingFullWidth((mh, ml))
            let quotientNegative = negative != (sd < 0)
            if quotientNegative {
                guard uq <= 1 << 63 else { return nil }
            } else {
                guard uq < 1 << 63 else { return nil }
            }
            let q = quotientNegative ? 0 &- uq : uq
            let r = negative ? 0 &- ur : ur
            return (q, r)
        }
        let bits = UInt64(size) * 8
        let dividend = Int64(bitPattern: (high << bits) | low)  // 2×size ≤ 64 bits, sign in place
        let signedDividend = size == 4 ? dividend : Int64(bitPattern: signExtend(UInt64(bitPattern: dividend), from: size * 2))
        // INT64_MIN / -1 (a 32-bit IDIV of 0x80000000:00000000 by -1) would trap in Swift.
        let (q, overflow) = signedDividend.dividedReportingOverflow(by: sd)
        let (r, _) = signedDividend.remainderReportingOverflow(dividingBy: sd)
        guard !overflow else { return nil }
        let limit = Int64(1) << (bits - 1)
        guard q >= -limit && q < limit else { return nil }
        return (UInt64(bitPattern: q) & m, UInt64(bitPattern: r) & m)
    }

    private static func negate128(_ high: UInt64, _ low: UInt64) -> (UInt64, UInt64) {
        let nl = ~low &+ 1
        let nh = ~high &+ (nl == 0 ? 1 : 0)
        return (nh, nl)
    }
}
