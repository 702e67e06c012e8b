import GuestMemory

/// Builds 4-level page tables in machine memory, for harnesses, tests and bare-metal guests
/// (domain builders write their own, with their own layout rules).
///
/// Table frames come from a caller-supplied allocator so that the caller owns the layout.
/// Page-table entries hold machine addresses (an identity physical translation).
public struct PageTableBuilder {
    public enum BuildError: Error, Equatable, CustomStringConvertible {
        case outOfFrames
        case notAligned(UInt64)
        case conflictingMapping(UInt64)
        case nonCanonical(UInt64)
        public var description: String {
            switch self {
            case .outOfFrames: "page-table builder ran out of frames"
            case .notAligned(let a): "address 0x\(String(a, radix: 16)) is not aligned to its page size"
            case .conflictingMapping(let a): "linear address 0x\(String(a, radix: 16)) is already mapped by a large page"
            case .nonCanonical(let a): "linear address 0x\(String(a, radix: 16)) is not canonical"
            }
        }
    }

    public let memory: PhysicalMemory
    /// The L4 table; load its address into CR3.
    public let root: MachineFrame
    private var allocate: () -> MachineFrame?

    /// - Parameter allocateFrame: returns a fresh frame for a table (it is zeroed here).
    public init(memory: PhysicalMemory, allocateFrame: @escaping () -> MachineFrame?) throws(BuildError) {
        self.memory = memory
        self.allocate = allocateFrame
        guard let r = allocateFrame(), memory.zero(r) else { throw .outOfFrames }
        root = r
    }

    /// Maps one 4 KiB page. `flags` are PTE bits besides the address (present is implied);
    /// intermediate tables are created present, writable and user so that the leaf decides.
    public mutating func map(linear: UInt64, to frame: MachineFrame, flags: UInt64) throws(BuildError) {
        try mapLeaf(linear: linear, address: frame.address.rawValue, level: 1, flags: flags)
    }

    /// Maps a 2 MiB page (level 2) or a 1 GiB page (level 3).
    public mutating func mapLarge(linear: UInt64, to address: MachineAddress, level: Int, flags: UInt64) throws(BuildError) {
        try mapLeaf(linear: linear, address: address.rawValue, level: level, flags: flags | PTE.pageSize)
    }

    /// Maps `[linear, linear+length)` to consecutive frames starting at `first` with 4 KiB pages.
    public mutating func mapRange(linear: UInt64, length: UInt64, to first: MachineFrame, flags: UInt64) throws(BuildError) {
        var offset: UInt64 = 0
        while offset < length {
            try map(linear: linear &+ offset, to: MachineFrame(first.rawValue + offset / pageSize), flags: flags)
            offset += pageSize
        }
    }

    private mutating func mapLeaf(linear: UInt64, address: UInt64, level: Int, flags: UInt64) throws(BuildError) {
        guard isCanonical(linear) else { throw .nonCanonical(linear) }
        let leafSize: UInt64 = 1 << (12 + 9 * UInt64(level - 1))
        guard linear % leafSize == 0, address % leafSize == 0 else { throw .notAligned(linear) }
        var table = root
        var l = 4
        while l > level {
            let slot = table.address.rawValue + ((linear >> (12 + 9 * UInt64(l - 1))) & 511) * 8
            let entry = memory.load(UInt64.self, at: MachineAddress(slot)) ?? 0
            if entry & PTE.present == 0 {
                guard let t = allocate(), memory.zero(t) else { throw .outOfFrames }
                memory.store(t.address.rawValue | PTE.present | PTE.writable | PTE.user, at: MachineAddress(slot))
                table = t
            } else {
                guard entry & PTE.pageSize == 0 else { throw .conflictingMapping(linear) }
                table = MachineAddress(entry & PTE.addressMask).frame
            }
            l -= 1
        }
        let slot = table.address.rawValue + ((linear >> (12 + 9 * UInt64(level - 1))) & 511) * 8
        memory.store((address & PTE.addressMask) | flags | PTE.present, at: MachineAddress(slot))
    }
}
