/// A straight-line run of decoded instructions starting at one machine address. Conditional
/// branches do not end a block: when one is taken it stops the block (a side exit).
struct DecodedBlock {
    /// Machine address of the first instruction byte, or `emptyKey`.
    var key: UInt64 = DecodedBlock.emptyKey
    /// The first instruction in the arena.
    var first: UnsafeMutablePointer<DecodedInstruction>? = nil
    var count: Int32 = 0
    /// The code-watch version of `frame` when the block was decoded.
    var version: UInt32 = 0
    /// The machine frame the block was decoded from.
    var frame: UInt64 = 0
    /// Up to two successors seen before: the RIP control reached and the block found there,
    /// under TLB generation `generation`.
    var links: (BlockLink, BlockLink) = (BlockLink(), BlockLink())
    /// Which link the next new successor replaces.
    var nextLink: UInt8 = 0
    static let emptyKey: UInt64 = ~0
}

/// A remembered successor of a block (block chaining without a table lookup). Valid while
/// the TLB generation is the one recorded: it changes on every TLB flush, privilege change
/// and decoded block (so `target` still holds the block it held when the link was made).
struct BlockLink {
    var rip: UInt64 = ~0
    var generation: UInt32 = 0
    var target: UnsafeMutablePointer<DecodedBlock>? = nil
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
