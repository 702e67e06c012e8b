import BareMetal
import X86
import Testing

@Suite struct CPUIDPolicyTests {
    func text(_ words: [UInt32]) -> String {
        let bytes = words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    @Test func vendorAndBrand() {
        let p = CPUIDPolicy.kite
        let v = p.query(leaf: 0, subleaf: 0)
        #expect(text([v.ebx, v.edx, v.ecx]) == "KiteKiteKite")
        let brand = (0..<3).flatMap { i -> [UInt32] in
            let r = p.query(leaf: 0x8000_0002 + UInt32(i), subleaf: 0)
            return [r.eax, r.ebx, r.ecx, r.edx]
        }
        #expect(text(brand) == "Kite software x86-64 CPU")
    }

    @Test func featuresAreHonest() {
        let p = CPUIDPolicy.kite
        let l1 = p.query(leaf: 1, subleaf: 0)
        #expect(l1.edx & 1 != 0, "x87 FPU")
        #expect(l1.edx & (1 << 24) != 0, "FXSAVE/FXRSTOR")
        #expect(l1.edx & (1 << 25 | 1 << 26) == 1 << 25 | 1 << 26, "SSE and SSE2")
        #expect(l1.edx & (1 << 23) == 0, "no MMX")
        #expect(l1.edx & (1 << 5) == 0, "no MSRs on bare metal")
        #expect(l1.edx & (1 << 4) != 0, "TSC")
        #expect(l1.ecx & (1 << 23) != 0, "POPCNT")
        #expect(l1.ecx & (1 << 30) == 0, "no RDRAND")
        #expect(p.query(leaf: 0x8000_0001, subleaf: 0).edx & (1 << 29) != 0, "long mode")
        #expect(p.query(leaf: 0x8000_0008, subleaf: 0).eax & 0xFF == 46)
    }

    @Test func unknownLeavesReadAsZero() {
        #expect(CPUIDPolicy.kite.query(leaf: 7, subleaf: 0) == CPUIDResult())
        #expect(CPUIDPolicy.kite.query(leaf: 0x4000_0000, subleaf: 0) == CPUIDResult())
    }
}
