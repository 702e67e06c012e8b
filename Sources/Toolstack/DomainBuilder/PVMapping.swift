/// One initial virtual mapping of a 64-bit PV guest and the page tables that build it:
/// the kernel mapping `[virt_base, virt_pgtab_end)`, and with INIT_P2M a second one for the
/// p2m list. Xen: `struct xc_dom_x86_mapping` and `count_pgtables` (xg_dom_x86.c).
///
/// Addresses are masked to 48 bits as Xen's builder does (`vaddr_mask`); page-table
/// indices only depend on those bits.
public struct PVMapping: Equatable, Sendable {
    /// The page tables of one level: tables for `[from, to]` (inclusive, masked), `count`
    /// consecutive frames starting at `pfn`. Xen: `struct xc_dom_x86_mapping_lvl`.
    public struct Level: Equatable, Sendable {
        public var from: UInt64 = 0
        public var to: UInt64 = 0
        public var pfn: UInt64 = 0
        public var count: UInt64 = 0
    }

    /// Masked start and inclusive end of the mapped area.
    public var from: UInt64
    public var to: UInt64
    /// First pseudo-physical frame the area maps (`VA from` → `pfn`).
    public var pfn: UInt64
    /// Page-table frames of this mapping, all levels.
    public var pageTableCount: UInt64
    /// Index 0 = L1 … 3 = L4.
    public var levels: [Level]

    /// Xen: VIRT_BITS_X86_64 = 48.
    static let addressMask: UInt64 = (1 << 48) - 1
    /// Xen: PGTBL_LEVELS_X86_64.
    static let levelCount = 4

    /// Bits of address space one entry of a level-`l` table covers (`l` = 0 for L1).
    static func entryShift(level l: Int) -> UInt64 { 12 + UInt64(l) * 9 }

    /// The first pseudo-physical frame of this mapping's page tables: the top level's pfn,
    /// which `count` sets before any table is counted (Xen: get_pg_prot's `pfn_s`).
    public var firstTableFrame: UInt64 { levels.last?.pfn ?? 0 }

    /// Counts the page tables needed to map `[from, to]` (inclusive) given the mappings
    /// made before, whose tables are shared where their ranges contain this one's.
    /// `tablesStart` is the pfn where this mapping's tables will be allocated; `totalPages`
    /// bounds `pfn + (to - from) / 4096`, as Xen's check against `p2m_size`.
    static func count(from: UInt64, to: UInt64, pfn: UInt64, tablesStart: UInt64,
                      existing: [PVMapping], totalPages: UInt64) throws(BuilderError) -> PVMapping {
        guard to >= from else { throw .addressSpaceOverflow(what: "an initial mapping") }
        let (pfnEnd, overflow) = pfn.addingReportingOverflow((to - from) >> 12)
        guard !overflow, pfnEnd < totalPages else {
            throw .initialMappingTooLarge(endPFN: overflow ? UInt64.max : pfnEnd, totalPages: totalPages)
        }
        for other in existing where from < other.to && to > other.from {
            throw .overlappingMappings(kernelEnd: other.to, p2mBase: from)
        }

        var mapping = PVMapping(from: from & addressMask, to: to & addressMask, pfn: pfn,
                                pageTableCount: 0, levels: Array(repeating: Level(), count: levelCount))
        for l in stride(from: levelCount - 1, through: 0, by: -1) {
            mapping.levels[l].pfn = tablesStart + mapping.pageTableCount
            if l == levelCount - 1 {
                // One top-level table, in the first mapping only; later ones share it.
                if existing.isEmpty {
                    mapping.levels[l].from = 0
                    mapping.levels[l].to = addressMask
                    mapping.levels[l].count = 1
                    mapping.pageTableCount += 1
                }
                continue
            }
            // A level-l table covers 2^(bits) bytes of address space.
            let bits = entryShift(level: l + 1)
            let mask: UInt64 = (1 << bits) - 1
            var level = Level(from: mapping.from & ~mask, to: mapping.to | mask, pfn: mapping.levels[l].pfn)
            for other in existing {
                let shared = other.levels[l]
                if shared.from == shared.to { continue }
                if level.from >= shared.from && level.to <= shared.to {
                    // Entirely inside tables an earlier mapping already has.
                    level.from = 0
                    level.to = 0
                    break
                }
                // Trim the part an earlier mapping's tables already cover.
                if level.from >= shared.from && level.from <= shared.to { level.from = shared.to &+ 1 }
                if level.to >= shared.from && level.to <= shared.to { level.to = shared.from &- 1 }
            }
            if level.from < level.to {
                level.count = ((level.to - level.from) >> bits) + 1
            }
            mapping.levels[l] = level
            mapping.pageTableCount += level.count
        }
        return mapping
    }
}
