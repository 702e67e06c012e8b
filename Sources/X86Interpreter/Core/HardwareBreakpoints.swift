/// DR0-DR3 as DR7 enables them (SDM vol. 3, 17.2), decoded once whenever DR0-DR3 or DR7
/// change so that the engine's fast paths only ever test `armed` — and only off their hot
/// paths (run-loop entry, TLB fill, memory-access slow paths).
///
/// I/O breakpoints (R/W = 10, meaningful only with CR4.DE) are treated as disabled.
struct HardwareBreakpoints {
    /// DR7 R/W field values.
    enum Kind: UInt8 {
        case execute = 0
        case write = 1
        case io = 2
        case readWrite = 3
    }

    /// One enabled breakpoint: its DR6 B bit and the bytes it covers (DRn aligned down to
    /// its length).
    struct Slot: Equatable {
        var bit: UInt64
        var kind: Kind
        var first: UInt64
        var last: UInt64
    }

    /// Some instruction or data breakpoint is enabled: the engine must run instruction by
    /// instruction and keep the watched pages out of its TLBs.
    private(set) var armed = false
    private(set) var slots: [Slot] = []
    /// DR0-DR3 and DR7 as last decoded.
    private var source: [UInt64] = [0, 0, 0, 0, 0x400]

    /// B0-B3 bits of the data breakpoints the executing instruction has hit (a trap after it).
    var pendingDataHits: UInt64 = 0
    /// The last instruction was MOV SS: its data hits wait for the next one to complete.
    var holdDataHits = false

    init() {}

    /// Decodes `debugRegisters` (DR0-DR7). Returns whether the set of enabled breakpoints
    /// changed (the caller then drops TLB entries that may cover newly watched pages).
    mutating func reload(from debugRegisters: [UInt64]) -> Bool {
        guard debugRegisters.count >= 8 else {
            let changed = armed
            self = HardwareBreakpoints()
            return changed
        }
        let registers = [debugRegisters[0], debugRegisters[1], debugRegisters[2], debugRegisters[3], debugRegisters[7]]
        if registers == source { return false }
        source = registers
        let dr7 = registers[4]
        var decoded: [Slot] = []
        for n in 0..<4 {
            let shift = UInt64(n)
            guard (dr7 >> (2 * shift)) & 3 != 0,  // Ln or Gn
                let kind = Kind(rawValue: UInt8((dr7 >> (16 + 4 * shift)) & 3)), kind != .io
            else { continue }
            // LEN: 00 one byte, 01 two, 11 four, 10 eight; instruction breakpoints use one.
            let lengthCode = (dr7 >> (18 + 4 * shift)) & 3
            let length: UInt64 = kind == .execute ? 1 : [1, 2, 8, 4][Int(lengthCode)]
            let first = registers[n] & ~(length - 1)
            decoded.append(Slot(bit: 1 << shift, kind: kind, first: first, last: first | (length - 1)))
        }
        let changed = decoded != slots
        slots = decoded
        armed = !decoded.isEmpty
        if !armed {
            pendingDataHits = 0
            holdDataHits = false
        }
        return changed
    }

    /// DR6 bits of the instruction breakpoints at `rip`.
    func instructionHits(at rip: UInt64) -> UInt64 {
        var hits: UInt64 = 0
        for s in slots where s.kind == .execute && s.first == rip { hits |= s.bit }
        return hits
    }

    /// DR6 bits of the data breakpoints a `size`-byte access at `linear` overlaps.
    func dataHits(_ linear: UInt64, _ size: Int, write: Bool) -> UInt64 {
        let end = linear &+ UInt64(max(size, 1) - 1)
        var hits: UInt64 = 0
        for s in slots where s.kind == .readWrite || (write && s.kind == .write) {
            // An access wrapping past the top of the address space is non-canonical anyway.
            if linear <= s.last && end >= s.first { hits |= s.bit }
        }
        return hits
    }

    /// Whether a data breakpoint lies in the page of `linear` (for writes: one that writes
    /// trigger; for reads: one that reads trigger). Such pages get no TLB entry for that
    /// access, so every access to them takes a slow path that checks `dataHits`.
    func watchesPage(_ linear: UInt64, write: Bool) -> Bool {
        let page = linear & ~0xFFF
        for s in slots where s.kind == .readWrite || (write && s.kind == .write) {
            // A breakpoint is at most eight aligned bytes: it lies within one page.
            if s.first & ~0xFFF == page { return true }
        }
        return false
    }
}
