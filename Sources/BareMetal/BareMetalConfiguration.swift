/// How a `BareMetalMachine` is laid out and how long it may run.
///
/// Physical memory map (identity-mapped; linear address = physical address):
///
///     0x0000_0000  page 0, left unmapped so that null-pointer accesses fault
///     0x0000_1000  page tables (PML4, PDPTs, page directories, one page table)
///     loadAddress  the flat image; its entry point is its first byte
///     ...          free for the guest's .bss and heap
///     top of RAM   initial RSP (grows down)
///
/// The page tables sit below the image rather than after it because a flat binary does not
/// say how large its .bss is: anything placed right after the file's bytes could be zeroed
/// by the guest's own start-up code.
public struct BareMetalConfiguration: Sendable, Equatable {
    /// Machine RAM in bytes; a multiple of 4 KiB, at least 4 MiB.
    public var memoryBytes: UInt64
    /// Physical (and linear) address the image is loaded at and entered at.
    public var loadAddress: UInt64
    /// Ends the run with `.instructionLimit` after this many instructions; nil runs forever.
    public var maxInstructions: UInt64?
    /// Instructions per `VirtualCPU.run(budget:)` call: how often the loop checks the limit.
    public var sliceBudget: Int
    /// The console bytes kept in the result (streaming is not limited); bounds what a
    /// chatty guest makes the host allocate.
    public var consoleCapacity: Int

    public static let defaultMemoryBytes: UInt64 = 64 << 20
    public static let defaultLoadAddress: UInt64 = 0x10_0000
    public static let minimumMemoryBytes: UInt64 = 4 << 20
    /// Keeps the page tables inside the frames below `loadAddress` (and host mappings sane).
    public static let maximumMemoryBytes: UInt64 = 64 << 30

    public init(
        memoryBytes: UInt64 = Self.defaultMemoryBytes,
        loadAddress: UInt64 = Self.defaultLoadAddress,
        maxInstructions: UInt64? = nil,
        sliceBudget: Int = 1_000_000,
        consoleCapacity: Int = 1 << 20
    ) {
        self.memoryBytes = memoryBytes
        self.loadAddress = loadAddress
        self.maxInstructions = maxInstructions
        self.sliceBudget = sliceBudget
        self.consoleCapacity = consoleCapacity
    }
}
