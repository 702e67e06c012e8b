/// The four registers one CPUID query returns.
public struct CPUIDResult: Equatable, Sendable {
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    public init(eax: UInt32 = 0, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) {
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }
}

/// What CPUID tells a guest about Kite's CPU: the whole table is on this page. Bare-metal
/// guests see `.kite` as is; XenCore derives its PV policy from it.
///
/// It is honest: a bit is set only for what Kite's engine executes. The x87 FPU,
/// FXSAVE/FXRSTOR, SSE and SSE2 (the XMM forms; no MMX, so neither MMX nor the MMX-register
/// forms of SSE are there), no MSRs (bare metal fails the run on RDMSR/WRMSR), no RDRAND
/// (not intercepted, so it raises #UD), no BMI1 although TZCNT works (ANDN, BEXTR and the
/// rest do not). Leaves not in the table read as zeroes, as on AMD.
public struct CPUIDPolicy: Sendable {
    public struct Leaf: Sendable {
        public var leaf: UInt32
        public var result: CPUIDResult
        public init(_ leaf: UInt32, _ result: CPUIDResult) {
            self.leaf = leaf
            self.result = result
        }
    }

    public var leaves: [Leaf]
    public init(leaves: [Leaf]) { self.leaves = leaves }

    /// The answer for `leaf`; no leaf in the table has subleaves, so `subleaf` is ignored.
    public func query(leaf: UInt32, subleaf: UInt32) -> CPUIDResult {
        leaves.first { $0.leaf == leaf }?.result ?? CPUIDResult()
    }

    /// Kite's CPU as bare-metal guests see it.
    public static let kite = CPUIDPolicy(leaves: [
        // Highest basic leaf; vendor "KiteKiteKite" in EBX, EDX, ECX.
        Leaf(0x0000_0000, CPUIDResult(eax: 0x1, ebx: vendorWord, ecx: vendorWord, edx: vendorWord)),
        // Family 6 model 0 stepping 1; CLFLUSH line 8 × 8 = 64 bytes; one logical CPU.
        Leaf(0x0000_0001, CPUIDResult(
            eax: 0x0000_0601,
            ebx: (1 << 16) | (8 << 8),
            ecx: Leaf1ECX.cmpxchg16b | Leaf1ECX.movbe | Leaf1ECX.popcnt | Leaf1ECX.hypervisor,
            edx: Leaf1EDX.fpu | Leaf1EDX.tsc | Leaf1EDX.pae | Leaf1EDX.cmpxchg8b | Leaf1EDX.pge | Leaf1EDX.cmov
                | Leaf1EDX.clflush | Leaf1EDX.fxsr | Leaf1EDX.sse | Leaf1EDX.sse2)),
        Leaf(0x8000_0000, CPUIDResult(eax: 0x8000_0008)),
        Leaf(0x8000_0001, CPUIDResult(
            ecx: Ext1ECX.lahfSahf64 | Ext1ECX.lzcnt,
            edx: Ext1EDX.syscall | Ext1EDX.noExecute | Ext1EDX.rdtscp | Ext1EDX.longMode)),
        Leaf(0x8000_0002, brand(0)),
        Leaf(0x8000_0003, brand(1)),
        Leaf(0x8000_0004, brand(2)),
        // 46 physical address bits (as the page walker checks), 48 linear.
        Leaf(0x8000_0008, CPUIDResult(eax: 46 | (48 << 8))),
    ])

    /// "Kite" as a little-endian register.
    public static let vendorWord: UInt32 = word(Array("Kite".utf8))
    static let brandString = "Kite software x86-64 CPU"

    public enum Leaf1ECX {
        public static let cmpxchg16b: UInt32 = 1 << 13
        public static let movbe: UInt32 = 1 << 22
        public static let popcnt: UInt32 = 1 << 23
        /// Set by every hypervisor: software runs under one.
        public static let hypervisor: UInt32 = 1 << 31
    }

    public enum Leaf1EDX {
        /// x87 FPU on chip (with CMOV: FCMOVcc and FCOMI too).
        public static let fpu: UInt32 = 1 << 0
        public static let tsc: UInt32 = 1 << 4
        public static let pae: UInt32 = 1 << 6
        public static let cmpxchg8b: UInt32 = 1 << 8
        public static let pge: UInt32 = 1 << 13
        public static let cmov: UInt32 = 1 << 15
        public static let clflush: UInt32 = 1 << 19
        /// FXSAVE/FXRSTOR (and CR4.OSFXSR).
        public static let fxsr: UInt32 = 1 << 24
        /// SSE (with CR4.OSFXSR and OSXMMEXCPT: XMM state, #XM).
        public static let sse: UInt32 = 1 << 25
        public static let sse2: UInt32 = 1 << 26
    }

    public enum Ext1ECX {
        public static let lahfSahf64: UInt32 = 1 << 0
        /// ABM: LZCNT.
        public static let lzcnt: UInt32 = 1 << 5
    }

    public enum Ext1EDX {
        public static let syscall: UInt32 = 1 << 11
        public static let noExecute: UInt32 = 1 << 20
        public static let rdtscp: UInt32 = 1 << 27
        public static let longMode: UInt32 = 1 << 29
    }

    /// Sixteen bytes of the 48-byte, NUL-padded brand string.
    static func brand(_ part: Int) -> CPUIDResult {
        var bytes = Array(brandString.utf8.prefix(47))
        bytes += Array(repeating: 0, count: 48 - bytes.count)
        let chunk = Array(bytes[(part * 16)..<(part * 16 + 16)])
        return CPUIDResult(
            eax: word(Array(chunk[0..<4])), ebx: word(Array(chunk[4..<8])),
            ecx: word(Array(chunk[8..<12])), edx: word(Array(chunk[12..<16])))
    }

    public static func word(_ b: [UInt8]) -> UInt32 {
        b.prefix(4).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
}
