import X86

/// Views of an XMM register as SIMD lanes (little-endian, lane 0 lowest).
extension XMMRegister {
    var bytes: SIMD16<UInt8> {
        get { unsafeBitCast(self, to: SIMD16<UInt8>.self) }
        set { self = unsafeBitCast(newValue, to: XMMRegister.self) }
    }
    var words: SIMD8<UInt16> {
        get { unsafeBitCast(self, to: SIMD8<UInt16>.self) }
        set { self = unsafeBitCast(newValue, to: XMMRegister.self) }
    }
    var dwords: SIMD4<UInt32> {
        get { unsafeBitCast(self, to: SIMD4<UInt32>.self) }
        set { self = unsafeBitCast(newValue, to: XMMRegister.self) }
    }
    var wide: UInt128 { UInt128(high) << 64 | UInt128(low) }

    init<V: SIMD>(_ v: V) where V.Scalar: FixedWidthInteger { self = unsafeBitCast(v, to: XMMRegister.self) }
    init(_ v: UInt128) { self.init(low: UInt64(truncatingIfNeeded: v), high: UInt64(truncatingIfNeeded: v >> 64)) }
}

extension Interpreter {
    /// A two-operand packed operation: `a` is the destination's old value, `b` the source.
    static func ssePacked(_ op: SSEOperation, _ a: XMMRegister, _ b: XMMRegister, immediate: UInt8) -> XMMRegister {
        switch op {
        case .and: return XMMRegister(low: a.low & b.low, high: a.high & b.high)
        case .andn: return XMMRegister(low: ~a.low & b.low, high: ~a.high & b.high)
        case .or: return XMMRegister(low: a.low | b.low, high: a.high | b.high)
        case .xor: return XMMRegister(low: a.low ^ b.low, high: a.high ^ b.high)
        case .paddb: return XMMRegister(a.bytes &+ b.bytes)
        case .paddw: return XMMRegister(a.words &+ b.words)
        case .paddd: return XMMRegister(a.dwords &+ b.dwords)
        case .paddq: return XMMRegister(low: a.low &+ b.low, high: a.high &+ b.high)
        case .psubb: return XMMRegister(a.bytes &- b.bytes)
        case .psubw: return XMMRegister(a.words &- b.words)
        case .psubd: return XMMRegister(a.dwords &- b.dwords)
        case .psubq: return XMMRegister(low: a.low &- b.low, high: a.high &- b.high)
        case .paddsb, .psubsb:
            let x = SIMD16<Int16>(truncatingIfNeeded: SIMD16<Int8>(truncatingIfNeeded: a.bytes))
            let y = SIMD16<Int16>(truncatingIfNeeded: SIMD16<Int8>(truncatingIfNeeded: b.bytes))
            let s = (op == .paddsb ? x &+ y : x &- y).clamped(lowerBound: .init(repeating: -128), upperBound: .init(repeating: 127))
            return XMMRegister(SIMD16<UInt8>(truncatingIfNeeded: s))
        case .paddsw, .psubsw:
            let x = SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: a.words))
            let y = SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: b.words))
            let s = (op == .paddsw ? x &+ y : x &- y).clamped(lowerBound: .init(repeating: -32768), upperBound: .init(repeating: 32767))
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: s))
        case .paddusb, .psubusb:
            let x = SIMD16<Int16>(truncatingIfNeeded: a.bytes)
            let y = SIMD16<Int16>(truncatingIfNeeded: b.bytes)
            let s = (op == .paddusb ? x &+ y : x &- y).clamped(lowerBound: .init(repeating: 0), upperBound: .init(repeating: 255))
            return XMMRegister(SIMD16<UInt8>(truncatingIfNeeded: s))
        case .paddusw, .psubusw:
            let x = SIMD8<Int32>(truncatingIfNeeded: a.words)
            let y = SIMD8<Int32>(truncatingIfNeeded: b.words)
            let s = (op == .paddusw ? x &+ y : x &- y).clamped(lowerBound: .init(repeating: 0), upperBound: .init(repeating: 65535))
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: s))
        case .pcmpeqb: return XMMRegister(SIMD16<UInt8>(repeating: 0).replacing(with: 0xFF, where: a.bytes .== b.bytes))
        case .pcmpeqw: return XMMRegister(SIMD8<UInt16>(repeating: 0).replacing(with: 0xFFFF, where: a.words .== b.words))
        case .pcmpeqd: return XMMRegister(SIMD4<UInt32>(repeating: 0).replacing(with: ~0, where: a.dwords .== b.dwords))
        case .pcmpgtb:
            let gt = SIMD16<Int8>(truncatingIfNeeded: a.bytes) .> SIMD16<Int8>(truncatingIfNeeded: b.bytes)
            return XMMRegister(SIMD16<UInt8>(repeating: 0).replacing(with: 0xFF, where: gt))
        case .pcmpgtw:
            let gt = SIMD8<Int16>(truncatingIfNeeded: a.words) .> SIMD8<Int16>(truncatingIfNeeded: b.words)
            return XMMRegister(SIMD8<UInt16>(repeating: 0).replacing(with: 0xFFFF, where: gt))
        case .pcmpgtd:
            let gt = SIMD4<Int32>(truncatingIfNeeded: a.dwords) .> SIMD4<Int32>(truncatingIfNeeded: b.dwords)
            return XMMRegister(SIMD4<UInt32>(repeating: 0).replacing(with: ~0, where: gt))
        case .pminub: return XMMRegister(pointwiseMin(a.bytes, b.bytes))
        case .pmaxub: return XMMRegister(pointwiseMax(a.bytes, b.bytes))
        case .pminsw:
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: pointwiseMin(SIMD8<Int16>(truncatingIfNeeded: a.words), SIMD8<Int16>(truncatingIfNeeded: b.words))))
        case .pmaxsw:
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: pointwiseMax(SIMD8<Int16>(truncatingIfNeeded: a.words), SIMD8<Int16>(truncatingIfNeeded: b.words))))
        case .pavgb:
            return XMMRegister(SIMD16<UInt8>(truncatingIfNeeded: (SIMD16<UInt16>(truncatingIfNeeded: a.bytes) &+ SIMD16<UInt16>(truncatingIfNeeded: b.bytes) &+ 1) &>> 1))
        case .pavgw:
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: (SIMD8<UInt32>(truncatingIfNeeded: a.words) &+ SIMD8<UInt32>(truncatingIfNeeded: b.words) &+ 1) &>> 1))
        case .pmullw: return XMMRegister(a.words &* b.words)
        case .pmulhw:
            let p = SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: a.words)) &* SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: b.words))
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: p &>> 16))
        case .pmulhuw:
            let p = SIMD8<UInt32>(truncatingIfNeeded: a.words) &* SIMD8<UInt32>(truncatingIfNeeded: b.words)
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: p &>> 16))
        case .pmuludq:
            return XMMRegister(low: (a.low & 0xFFFF_FFFF) &* (b.low & 0xFFFF_FFFF), high: (a.high & 0xFFFF_FFFF) &* (b.high & 0xFFFF_FFFF))
        case .pmaddwd:
            let p = SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: a.words)) &* SIMD8<Int32>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: b.words))
            return XMMRegister(SIMD4<UInt32>(truncatingIfNeeded: p.evenHalf &+ p.oddHalf))
        case .psadbw:
            let diff = SIMD16<UInt16>(truncatingIfNeeded: pointwiseMax(a.bytes, b.bytes) &- pointwiseMin(a.bytes, b.bytes))
            return XMMRegister(low: UInt64(diff.lowHalf.wrappedSum()), high: UInt64(diff.highHalf.wrappedSum()))
        case .punpcklbw: return XMMRegister(interleave(a.bytes.lowHalf, b.bytes.lowHalf, into: SIMD16<UInt8>.self))
        case .punpckhbw: return XMMRegister(interleave(a.bytes.highHalf, b.bytes.highHalf, into: SIMD16<UInt8>.self))
        case .punpcklwd: return XMMRegister(interleave(a.words.lowHalf, b.words.lowHalf, into: SIMD8<UInt16>.self))
        case .punpckhwd: return XMMRegister(interleave(a.words.highHalf, b.words.highHalf, into: SIMD8<UInt16>.self))
        case .punpckldq, .unpcklps: return XMMRegister(interleave(a.dwords.lowHalf, b.dwords.lowHalf, into: SIMD4<UInt32>.self))
        case .punpckhdq, .unpckhps: return XMMRegister(interleave(a.dwords.highHalf, b.dwords.highHalf, into: SIMD4<UInt32>.self))
        case .punpcklqdq, .unpcklpd: return XMMRegister(low: a.low, high: b.low)
        case .punpckhqdq, .unpckhpd: return XMMRegister(low: a.high, high: b.high)
        case .packsswb, .packuswb:
            let x = SIMD16<Int16>(lowHalf: SIMD8<Int16>(truncatingIfNeeded: a.words), highHalf: SIMD8<Int16>(truncatingIfNeeded: b.words))
            let s = op == .packsswb ? x.clamped(lowerBound: .init(repeating: -128), upperBound: .init(repeating: 127))
                : x.clamped(lowerBound: .init(repeating: 0), upperBound: .init(repeating: 255))
            return XMMRegister(SIMD16<UInt8>(truncatingIfNeeded: s))
        case .packssdw:
            let x = SIMD8<Int32>(lowHalf: SIMD4<Int32>(truncatingIfNeeded: a.dwords), highHalf: SIMD4<Int32>(truncatingIfNeeded: b.dwords))
            return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: x.clamped(lowerBound: .init(repeating: -32768), upperBound: .init(repeating: 32767))))
        case .pshufd:
            let s = b.dwords
            let i = Int(immediate)
            return XMMRegister(SIMD4<UInt32>(s[i & 3], s[(i >> 2) & 3], s[(i >> 4) & 3], s[(i >> 6) & 3]))
        case .pshuflw, .pshufhw:
            var w = b.words
            let base = op == .pshuflw ? 0 : 4
            for i in 0..<4 { w[base + i] = b.words[base + Int(immediate >> UInt8(2 * i)) & 3] }
            return XMMRegister(w)
        case .shufps:
            let x = a.dwords
            let y = b.dwords
            return XMMRegister(SIMD4<UInt32>(x[Int(immediate) & 3], x[Int(immediate >> 2) & 3], y[Int(immediate >> 4) & 3], y[Int(immediate >> 6) & 3]))
        case .shufpd:
            return XMMRegister(low: immediate & 1 == 0 ? a.low : a.high, high: immediate & 2 == 0 ? b.low : b.high)
        case .psrlw, .psrld, .psrlq, .psraw, .psrad, .psllw, .pslld, .psllq:
            return sseShift(op, a, count: b.low)
        default:
            return a
        }
    }

    /// The shifts: by an XMM/m128 count (its low quadword) or an imm8. Counts beyond the
    /// element width clear it (logical) or fill it with the sign (arithmetic); PSRLDQ and
    /// PSLLDQ shift the whole register by bytes.
    static func sseShift(_ op: SSEOperation, _ a: XMMRegister, count: UInt64) -> XMMRegister {
        switch op {
        case .psrlw, .psrlwImm: return count > 15 ? XMMRegister() : XMMRegister(a.words &>> UInt16(count))
        case .psllw, .psllwImm: return count > 15 ? XMMRegister() : XMMRegister(a.words &<< UInt16(count))
        case .psraw, .psrawImm: return XMMRegister(SIMD8<UInt16>(truncatingIfNeeded: SIMD8<Int16>(truncatingIfNeeded: a.words) &>> Int16(min(count, 15))))
        case .psrld, .psrldImm: return count > 31 ? XMMRegister() : XMMRegister(a.dwords &>> UInt32(count))
        case .pslld, .pslldImm: return count > 31 ? XMMRegister() : XMMRegister(a.dwords &<< UInt32(count))
        case .psrad, .psradImm: return XMMRegister(SIMD4<UInt32>(truncatingIfNeeded: SIMD4<Int32>(truncatingIfNeeded: a.dwords) &>> Int32(min(count, 31))))
        case .psrlq, .psrlqImm: return count > 63 ? XMMRegister() : XMMRegister(low: a.low >> count, high: a.high >> count)
        case .psllq, .psllqImm: return count > 63 ? XMMRegister() : XMMRegister(low: a.low << count, high: a.high << count)
        case .psrldq: return count > 15 ? XMMRegister() : XMMRegister(a.wide >> UInt128(8 * count))
        default: return count > 15 ? XMMRegister() : XMMRegister(a.wide << UInt128(8 * count))  // .pslldq
        }
    }

    /// a0 b0 a1 b1 ... of two half-width vectors, as a full-width one.
    static func interleave<H: SIMD, F: SIMD>(_ a: H, _ b: H, into: F.Type) -> F where F.Scalar == H.Scalar {
        var r = F()
        for i in 0..<a.scalarCount {
            r[2 * i] = a[i]
            r[2 * i + 1] = b[i]
        }
        return r
    }
}
