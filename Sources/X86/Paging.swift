import GuestMemory

/// Bits of a 4-level paging-structure entry (Intel SDM vol. 3, 4.5).
public enum PTE {
    public static let present: UInt64 = 1 << 0
    public static let writable: UInt64 = 1 << 1
    public static let user: UInt64 = 1 << 2
    public static let writeThrough: UInt64 = 1 << 3
    public static let cacheDisable: UInt64 = 1 << 4
    public static let accessed: UInt64 = 1 << 5
    public static let dirty: UInt64 = 1 << 6
    /// PS in L2/L3 entries (2 MiB / 1 GiB page); PAT in L1 entries.
    public static let pageSize: UInt64 = 1 << 7
    public static let global: UInt64 = 1 << 8
    public static let noExecute: UInt64 = 1 << 63
    /// Physical address bits 12-51.
    public static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
    /// Physical address width Kite's CPU reports (CPUID 0x80000008).
    public static let physicalAddressBits: UInt64 = 46
}

/// How the engine turns the physical addresses it meets (in CR3, in paging-structure entries
/// and as translation results) into machine addresses.
///
/// For PV guests page tables hold machine frames and the translation is the identity; for
/// PVH/HVM guests they hold guest frames and the hypervisor supplies its p2m (a software EPT).
public protocol PhysicalTranslation: AnyObject, Sendable {
    /// The machine frame backing guest-physical frame `frame`, or nil if nothing backs it.
    func machineFrame(forPhysicalFrame frame: UInt64) -> MachineFrame?
}

/// Physical addresses are machine addresses (PV guests).
public final class IdentityTranslation: PhysicalTranslation {
    public let frameCount: UInt64
    public init(memory: PhysicalMemory) { frameCount = memory.frameCount }
    public func machineFrame(forPhysicalFrame frame: UInt64) -> MachineFrame? {
        frame < frameCount ? MachineFrame(frame) : nil
    }
}

/// The kind of access a linear-address translation is for.
public enum MemoryAccessKind: Sendable {
    case read, write, execute
}

/// What TLB entries an invalidation removes.
public enum TLBFlush: Equatable, Sendable {
    /// Everything, global entries included (CR4.PGE toggle).
    case all
    /// Everything but global entries (MOV to CR3).
    case nonGlobal
    /// Entries for the page containing this linear address (INVLPG).
    case address(UInt64)
}
