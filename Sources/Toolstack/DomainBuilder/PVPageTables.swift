import GuestMemory

/// Fills the initial page tables of every mapping (Xen: `setup_pgtables_pv`): for each
/// level, top first, each table entry points at the next level's table or, in L1, at the
/// mapped page, by machine frame number.
///
/// Entry bits: L1 `P|RW|A` (0x023), but `P|A` (0x021) for pages that are themselves page
/// tables, because Xen refuses writable mappings of them; L2–L4 `P|RW|US|A|D` (0x067).
enum PVPageTables {
    static let present: UInt64 = 0x001
    static let writable: UInt64 = 0x002
    static let user: UInt64 = 0x004
    static let accessed: UInt64 = 0x020
    static let dirty: UInt64 = 0x040
    /// Xen: lvl_prot[0] of x86_64_params
    static let leafProtection: UInt64 = present | writable | accessed
    /// Xen: lvl_prot[1 ... 3]
    static let upperProtection: UInt64 = present | writable | accessed | dirty | user
    static let entriesPerTable = 512

    /// Writes the tables of `layout.mappings` into `memory`; tables are written whole.
    static func write(_ layout: PVLayout, to memory: some PVBuildMemory) throws(BuilderError) {
        let mappings = layout.mappings
        for l in stride(from: PVMapping.levelCount - 1, through: 0, by: -1) {
            for table in mappings {
                let level = table.levels[l]
                guard level.count > 0 else { continue }
                var entries = [UInt64](repeating: 0, count: Int(level.count) * entriesPerTable)
                let shift = PVMapping.entryShift(level: l)
                for target in mappings {
                    // What the entries of this level point at: the next level's tables, or
                    // in L1 the mapped pages themselves.
                    let pointee: PVMapping.Level
                    if l > 0 {
                        pointee = target.levels[l - 1]
                        if pointee.count == 0 { continue }
                    } else {
                        pointee = PVMapping.Level(from: target.from, to: target.to, pfn: target.pfn,
                                                  count: target.pageTableCount)
                    }
                    if pointee.from >= level.to || pointee.to <= level.from { continue }
                    let first = Swift.max(level.from, pointee.from)
                    let last = Swift.min(level.to, pointee.to)
                    let firstIndex = (first - level.from) >> shift
                    let lastIndex = (last - level.from) >> shift
                    var pfn = ((first - pointee.from) >> shift) + pointee.pfn
                    guard lastIndex < UInt64(entries.count) else {
                        throw .addressesOutOfBounds("page-table index \(lastIndex) beyond the level's \(entries.count) entries")
                    }
                    for index in firstIndex...lastIndex {
                        let machine = try memory.requireMachineFrame(of: GuestFrame(pfn))
                        entries[Int(index)] = machine.rawValue << 12 | protection(level: l, pfn: pfn, mappings: mappings)
                        pfn += 1
                    }
                }
                var bytes = [UInt8](repeating: 0, count: entries.count * 8)
                bytes.withUnsafeMutableBytes { raw in
                    for (i, entry) in entries.enumerated() {
                        raw.storeBytes(of: entry.littleEndian, toByteOffset: i * 8, as: UInt64.self)
                    }
                }
                try memory.write(bytes, to: GuestFrame(level.pfn))
            }
        }
    }

    /// Xen: get_pg_prot — read-only leaf entries for the mappings' own page-table frames.
    static func protection(level: Int, pfn: UInt64, mappings: [PVMapping]) -> UInt64 {
        guard level == 0 else { return upperProtection }
        for mapping in mappings {
            let start = mapping.firstTableFrame
            if pfn >= start && pfn < start + mapping.pageTableCount { return leafProtection & ~writable }
        }
        return leafProtection
    }
}
