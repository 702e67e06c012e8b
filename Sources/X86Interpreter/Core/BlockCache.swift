/// A straight-line run of decoded instructions starting at one machine address.
struct DecodedBlock {
    /// Machine address of the first instruction byte, or `emptyKey`.
    var key: UInt64 = DecodedBlock.emptyKey
    /// Index of the first instruction in the arena.
    var start: Int32 = 0
    var count: Int32 = 0
    /// The machine frame the block was decoded from and its code-watch version then.
    var frame: UInt64 = 0
    var version: UInt32 = 0
    /// Up to two successors seen before (taken and fall-through): the RIP control reached,
    /// the table slot and key of the block found there, under TLB generation `linkGeneration`.
    var links: (BlockLink, BlockLink) = (BlockLink(), BlockLink())
    /// Which link the next new successor replaces.
    var nextLink: UInt8 = 0
    static let emptyKey: UInt64 = ~0
}

/// A remembered successor of a block (block chaining without a table lookup).
struct BlockLink {
    var rip: UInt64 = ~0
    var key: UInt64 = DecodedBlock.emptyKey
    var slot: Int32 = 0
    var generation: UInt32 = 0
}

/// Decoded blocks keyed by machine address, in a direct-mapped table over one arena of
/// instructions. When the arena fills, everything is dropped and decoding starts over
/// (cheap, and simpler than freeing blocks one by one).
final class BlockCache {
    static let tableSize = 8192
    static let arenaCapacity = 1 << 17
    /// Longest block; also bounds how far a budget can be overrun (never: blocks are cut to
    /// the remaining budget when they run).
    static let maxBlockLength = 64
    let table: UnsafeMutablePointer<DecodedBlock>
    let arena: UnsafeMutablePointer<DecodedInstruction>
    private(set) var used = 0
    /// One instruction decoded outside the cache (it straddles a page boundary).
    let scratch: UnsafeMutablePointer<DecodedInstruction>

    init() {
        table = .allocate(capacity: Self.tableSize)
        table.initialize(repeating: DecodedBlock(), count: Self.tableSize)
        arena = .allocate(capacity: Self.arenaCapacity)
        arena.initialize(repeating: DecodedInstruction(), count: Self.arenaCapacity)
        scratch = .allocate(capacity: 1)
        scratch.initialize(to: DecodedInstruction())
    }

    deinit {
        table.deallocate()
        arena.deallocate()
        scratch.deallocate()
    }

    @inline(__always) func slot(for key: UInt64) -> UnsafeMutablePointer<DecodedBlock> {
        table + Int((key ^ (key >> 13)) & UInt64(Self.tableSize - 1))
    }

    /// Room for a new block of up to `maxBlockLength` instructions; flushes when full.
    func reserve() -> Int {
        if used + Self.maxBlockLength > Self.arenaCapacity { flush() }
        return used
    }

    func commit(count: Int) { used += count }

    func flush() {
        table.update(repeating: DecodedBlock(), count: Self.tableSize)
        used = 0
    }
}
