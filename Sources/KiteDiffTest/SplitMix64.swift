/// The tester's only source of randomness: SplitMix64 (Steele, Lea, Flood 2014), so that a
/// seed reproduces the same cases on every machine and toolchain.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for case `index` of a run seeded with `seed`: cases are independent, so
    /// one case can be replayed alone with `--start`.
    init(seed: UInt64, case index: Int) {
        var mixer = SplitMix64(seed: seed ^ 0x6B69_7465_6469_6666)
        for _ in 0..<2 { _ = mixer.next() }
        state = mixer.next() &+ UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<n` (the modulo bias is irrelevant for test generation).
    mutating func below(_ n: Int) -> Int {
        n <= 1 ? 0 : Int(next() % UInt64(n))
    }

    /// Uniform in the closed range.
    mutating func range(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }

    /// True with probability 1/n.
    mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }

    mutating func bool() -> Bool { next() & 1 == 1 }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// A value of `bits` width biased towards the edges where flag logic goes wrong.
    mutating func interesting(bits: Int) -> UInt64 {
        let mask: UInt64 = bits >= 64 ? ~0 : (1 << UInt64(bits)) - 1
        let sign: UInt64 = 1 << UInt64(bits - 1)
        switch below(12) {
        case 0: return 0
        case 1: return 1
        case 2: return mask
        case 3: return sign
        case 4: return sign - 1
        case 5: return UInt64(below(256)) & mask
        case 6: return (0 &- UInt64(1 + below(256))) & mask
        case 7: return (sign &+ UInt64(below(4))) & mask
        case 8: return (1 << UInt64(below(bits))) & mask
        default: return next() & mask
        }
    }

    /// An initial 64-bit register value: random upper bits under an interesting low part,
    /// so partial-register writes that forget to preserve (or zero) the rest are seen.
    mutating func registerValue() -> UInt64 {
        let bits = pick([8, 16, 32, 64, 64])
        let mask: UInt64 = bits == 64 ? ~0 : (1 << UInt64(bits)) - 1
        let upper = oneIn(4) ? 0 : (oneIn(3) ? ~0 : next())
        return (upper & ~mask) | interesting(bits: bits)
    }
}
