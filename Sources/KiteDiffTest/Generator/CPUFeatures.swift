/// Optional instructions the host CPU has, read with CPUID on the host itself: the tester
/// generates an instruction only if the host executes it as documented (without LZCNT, for
/// example, F3 0F BD runs as BSR).
struct CPUFeatures {
    var popcnt = false
    var lzcnt = false
    /// TZCNT is part of BMI1.
    var bmi1 = false
    var movbe = false
    var cmpxchg16b = false
    /// LAHF/SAHF in 64-bit mode.
    var lahfLong = false

    init(native: NativeRunner) {
        let maxBasic = native.cpuid(leaf: 0).eax
        let l1 = native.cpuid(leaf: 1)
        popcnt = l1.ecx & (1 << 23) != 0
        movbe = l1.ecx & (1 << 22) != 0
        cmpxchg16b = l1.ecx & (1 << 13) != 0
        if maxBasic >= 7 { bmi1 = native.cpuid(leaf: 7, subleaf: 0).ebx & (1 << 3) != 0 }
        let maxExt = native.cpuid(leaf: 0x8000_0000).eax
        if maxExt >= 0x8000_0001 {
            let e1 = native.cpuid(leaf: 0x8000_0001)
            lahfLong = e1.ecx & 1 != 0
            lzcnt = e1.ecx & (1 << 5) != 0
        }
    }

    var summary: String {
        [("popcnt", popcnt), ("lzcnt", lzcnt), ("bmi1", bmi1), ("movbe", movbe), ("cx16", cmpxchg16b), ("lahf_lm", lahfLong)]
            .map { "\($0.0)=\($0.1 ? "yes" : "no")" }.joined(separator: " ")
    }
}
