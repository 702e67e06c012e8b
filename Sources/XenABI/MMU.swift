/// The paravirtual MMU interface of 64-bit PV guests: mmu_update, mmuext_op, update_va_mapping
/// and memory_op, as Swift values. Xen: public/xen.h, public/memory.h.
///
/// Layouts are those of the 64-bit guest ABI; every struct names its size and field offsets.

/// Xen: MMU_UPDATE_PREEMPTED — bit 31 of `count`, Xen's own continuation marker.
public let mmuUpdatePreempted: UInt32 = 0x8000_0000

/// The command in the low 3 bits of `mmu_update_t.ptr`. Xen: MMU_* (public/xen.h).
public enum MMUUpdateCommand: UInt64, Sendable, CaseIterable {
    /// Xen: MMU_NORMAL_PT_UPDATE — `*ptr = val`, validated against the page's type.
    case normalPageTableUpdate = 0
    /// Xen: MMU_MACHPHYS_UPDATE — `machine_to_phys[ptr >> 12] = val`.
    case machphysUpdate = 1
    /// Xen: MMU_PT_UPDATE_PRESERVE_AD — like NORMAL, keeping the entry's accessed/dirty bits.
    case pageTableUpdatePreserveAD = 2
    /// Xen: MMU_PT_UPDATE_NO_TRANSLATE — like NORMAL, `val` not translated through the FD.
    case pageTableUpdateNoTranslate = 3
}

/// One mmu_update request. Xen: `mmu_update_t` (16 bytes: ptr @0, val @8, both ABIs).
public struct MMUUpdateRequest: Equatable, Sendable {
    public static let size = 16
    /// Machine address of the entry (or frame) with the command in bits 0-2.
    public var ptr: UInt64
    /// The new entry (or, for MMU_MACHPHYS_UPDATE, the pseudo-physical frame).
    public var val: UInt64
    public init(ptr: UInt64, val: UInt64) {
        self.ptr = ptr
        self.val = val
    }
    /// Decodes the 16 little-endian bytes a guest supplied; nil when fewer are given.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        let b = Array(bytes.prefix(Self.size))
        ptr = littleEndianWord(b, at: 0)
        val = littleEndianWord(b, at: 8)
    }
    /// The raw command bits (`ptr & 7`); values above 3 are not Xen commands.
    public var commandBits: UInt64 { ptr & 7 }
    public var command: MMUUpdateCommand? { MMUUpdateCommand(rawValue: commandBits) }
}

/// The `foreigndom` argument of mmu_update: bits 0-15 name the domain whose frames `val`
/// may reference (FD), bits 16-31 hold 1 + the domain owning the page tables (PFD), 0 = self.
public struct MMUForeignDomain: Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Xen: `(uint16_t)foreigndom` — the page owner (DOMID_SELF normally).
    public var pageOwner: DomainID { DomainID(UInt16(truncatingIfNeeded: rawValue)) }
    /// Xen: `foreigndom >> 16` minus one — the page-table owner, nil for the caller.
    public var pageTableOwner: DomainID? {
        let pfd = rawValue >> 16
        return pfd == 0 ? nil : DomainID(UInt16(truncatingIfNeeded: pfd - 1))
    }
    /// DOMID_SELF for both: the ordinary call.
    public static let selfDomain = MMUForeignDomain(rawValue: UInt32(DomainID.selfDomain.rawValue))
}

/// mmuext_op commands. Xen: MMUEXT_* (public/xen.h).
public enum MMUExtCommand: UInt32, Sendable, CaseIterable {
    /// Xen: MMUEXT_PIN_L1_TABLE
    case pinL1Table = 0
    /// Xen: MMUEXT_PIN_L2_TABLE
    case pinL2Table = 1
    /// Xen: MMUEXT_PIN_L3_TABLE
    case pinL3Table = 2
    /// Xen: MMUEXT_PIN_L4_TABLE
    case pinL4Table = 3
    /// Xen: MMUEXT_UNPIN_TABLE
    case unpinTable = 4
    /// Xen: MMUEXT_NEW_BASEPTR
    case newBaseptr = 5
    /// Xen: MMUEXT_TLB_FLUSH_LOCAL
    case tlbFlushLocal = 6
    /// Xen: MMUEXT_INVLPG_LOCAL
    case invlpgLocal = 7
    /// Xen: MMUEXT_TLB_FLUSH_MULTI
    case tlbFlushMulti = 8
    /// Xen: MMUEXT_INVLPG_MULTI
    case invlpgMulti = 9
    /// Xen: MMUEXT_TLB_FLUSH_ALL
    case tlbFlushAll = 10
    /// Xen: MMUEXT_INVLPG_ALL
    case invlpgAll = 11
    /// Xen: MMUEXT_FLUSH_CACHE
    case flushCache = 12
    /// Xen: MMUEXT_SET_LDT
    case setLDT = 13
    /// Xen: MMUEXT_NEW_USER_BASEPTR
    case newUserBaseptr = 15
    /// Xen: MMUEXT_CLEAR_PAGE
    case clearPage = 16
    /// Xen: MMUEXT_COPY_PAGE
    case copyPage = 17
    /// Xen: MMUEXT_FLUSH_CACHE_GLOBAL
    case flushCacheGlobal = 18
    /// Xen: MMUEXT_MARK_SUPER
    case markSuper = 19
    /// Xen: MMUEXT_UNMARK_SUPER
    case unmarkSuper = 20

    /// True for the commands whose arg2 is a guest pointer to a vCPU bitmap, which the
    /// hypercall layer reads before handing the request over.
    public var takesVCPUBitmap: Bool { self == .tlbFlushMulti || self == .invlpgMulti }
}

/// One mmuext_op request. Xen: `struct mmuext_op` (24 bytes: cmd @0, arg1 @8, arg2 @16).
public struct MMUExtRequest: Equatable, Sendable {
    public static let size = 24
    public var cmd: UInt32
    /// mfn or linear_addr.
    public var arg1: UInt64
    /// nr_ents, vcpumask pointer or src_mfn.
    public var arg2: UInt64
    public init(cmd: UInt32, arg1: UInt64 = 0, arg2: UInt64 = 0) {
        self.cmd = cmd
        self.arg1 = arg1
        self.arg2 = arg2
    }
    public init(_ command: MMUExtCommand, arg1: UInt64 = 0, arg2: UInt64 = 0) {
        self.init(cmd: command.rawValue, arg1: arg1, arg2: arg2)
    }
    /// Decodes the 24 little-endian bytes a guest supplied; nil when fewer are given.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        let b = Array(bytes.prefix(Self.size))
        cmd = UInt32(truncatingIfNeeded: littleEndianWord(b, at: 0))
        arg1 = littleEndianWord(b, at: 8)
        arg2 = littleEndianWord(b, at: 16)
    }
    public var command: MMUExtCommand? { MMUExtCommand(rawValue: cmd) }
}

/// A set of vCPUs as the guest passes it: an array of 64-bit words, bit n = vCPU n.
/// Xen: the `vcpumask` of MMUEXT_*_MULTI and UVMF_MULTI (`xen_ulong_t` words).
public struct VCPUBitmap: Equatable, Sendable {
    public var words: [UInt64]
    public init(words: [UInt64]) { self.words = words }
    public init(_ vcpus: [VCPUID]) {
        var w: [UInt64] = []
        for v in vcpus {
            let i = Int(v.rawValue / 64)
            while w.count <= i { w.append(0) }
            w[i] |= 1 << UInt64(v.rawValue % 64)
        }
        words = w
    }
    /// How many words a guest must supply for a domain of `maxVCPUs` vCPUs.
    public static func wordCount(maxVCPUs: UInt32) -> Int { Int((UInt64(maxVCPUs) + 63) / 64) }
    public func contains(_ v: VCPUID) -> Bool {
        let i = Int(v.rawValue / 64)
        return i < words.count && words[i] & (1 << UInt64(v.rawValue % 64)) != 0
    }
}

/// update_va_mapping `flags`. Xen: UVMF_* (public/xen.h).
public struct UpdateVAFlags: Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Xen: UVMF_NONE
    public static let none: UInt64 = 0
    /// Xen: UVMF_TLB_FLUSH
    public static let tlbFlush: UInt64 = 1
    /// Xen: UVMF_INVLPG
    public static let invlpg: UInt64 = 2
    /// Xen: UVMF_FLUSHTYPE_MASK
    public static let flushTypeMask: UInt64 = 3
    /// Xen: UVMF_MULTI (the rest of `flags` is a vCPU-bitmap pointer)
    public static let multi: UInt64 = 0
    /// Xen: UVMF_LOCAL
    public static let local: UInt64 = 0
    /// Xen: UVMF_ALL
    public static let all: UInt64 = 4

    /// The flush requested, before the target is considered.
    public enum FlushKind: Equatable, Sendable { case none, tlb, invlpg }
    /// Whom the flush is for.
    public enum Target: Equatable, Sendable {
        case local, all
        /// A guest pointer to a `VCPUBitmap`.
        case bitmap(pointer: UInt64)
    }
    public var flushKind: FlushKind {
        switch rawValue & Self.flushTypeMask {
        case Self.tlbFlush: .tlb
        case Self.invlpg: .invlpg
        default: .none  // 0, and 3 which Xen ignores
        }
    }
    public var target: Target {
        switch rawValue & ~Self.flushTypeMask {
        case Self.local: .local
        case Self.all: .all
        case let p: .bitmap(pointer: p)
        }
    }
    /// True when the hypercall layer must read a vCPU bitmap from the guest.
    public var needsVCPUBitmap: Bool {
        if flushKind == .none { return false }
        if case .bitmap = target { return true }
        return false
    }
}

/// The read-only machine-to-phys table every 64-bit PV guest sees.
/// Xen: RO_MPT_VIRT_START / MACH2PHYS_VIRT_START (arch-x86/xen-x86_64.h).
public enum MachineToPhys {
    /// Xen: MACH2PHYS_VIRT_START
    public static let virtualStart: UInt64 = 0xFFFF_8000_0000_0000
    /// Xen: MACH2PHYS_VIRT_END
    public static let virtualEnd: UInt64 = 0xFFFF_8040_0000_0000
    /// Xen: MACH2PHYS_NR_ENTRIES
    public static let entryCount: UInt64 = (virtualEnd - virtualStart) / 8
    /// Xen: INVALID_M2P_ENTRY
    public static let invalidEntry: UInt64 = ~0
    /// Xen: SHARED_M2P_ENTRY
    public static let sharedEntry: UInt64 = ~0 - 1
    /// Xen: HYPERVISOR_VIRT_START — the first of the L4 slots Xen keeps (256).
    public static let hypervisorVirtualStart: UInt64 = 0xFFFF_8000_0000_0000
    /// Xen: HYPERVISOR_VIRT_END — just past the last Xen slot (271).
    public static let hypervisorVirtualEnd: UInt64 = 0xFFFF_8800_0000_0000
}

/// memory_op sub-commands (the low 6 bits of `cmd`). Xen: XENMEM_* (public/memory.h).
public enum MemoryOp: UInt64, Sendable, CaseIterable {
    /// Xen: XENMEM_increase_reservation
    case increaseReservation = 0
    /// Xen: XENMEM_decrease_reservation
    case decreaseReservation = 1
    /// Xen: XENMEM_maximum_ram_page
    case maximumRAMPage = 2
    /// Xen: XENMEM_current_reservation
    case currentReservation = 3
    /// Xen: XENMEM_maximum_reservation
    case maximumReservation = 4
    /// Xen: XENMEM_machphys_mfn_list
    case machphysMFNList = 5
    /// Xen: XENMEM_populate_physmap
    case populatePhysmap = 6
    /// Xen: XENMEM_add_to_physmap
    case addToPhysmap = 7
    /// Xen: XENMEM_memory_map
    case memoryMap = 9
    /// Xen: XENMEM_machine_memory_map
    case machineMemoryMap = 10
    /// Xen: XENMEM_exchange
    case exchange = 11
    /// Xen: XENMEM_machphys_mapping
    case machphysMapping = 12
    /// Xen: XENMEM_set_memory_map
    case setMemoryMap = 13
    /// Xen: XENMEM_maximum_gpfn
    case maximumGPFN = 14
    /// Xen: XENMEM_remove_from_physmap
    case removeFromPhysmap = 15
    /// Xen: XENMEM_add_to_physmap_batch
    case addToPhysmapBatch = 23
    /// Xen: XENMEM_claim_pages
    case claimPages = 24
    /// Xen: XENMEM_get_vnumainfo
    case getVNUMAInfo = 26
    /// Xen: XENMEM_acquire_resource
    case acquireResource = 28

    /// Xen: MEMOP_EXTENT_SHIFT — `cmd >> 6` is the continuation's start extent.
    public static let extentShift: UInt64 = 6
    /// Xen: MEMOP_CMD_MASK
    public static let commandMask: UInt64 = (1 << extentShift) - 1
}

/// Xen: `struct xen_memory_reservation` (32 bytes: extent_start @0, nr_extents @8,
/// extent_order @16, mem_flags @20, domid @24).
public struct MemoryReservation: Equatable, Sendable {
    public static let size = 32
    /// Guest pointer to an array of `xen_pfn_t` (may be 0 for increase_reservation).
    public var extentStart: UInt64
    public var extentCount: UInt64
    public var extentOrder: UInt32
    public var memoryFlags: UInt32
    public var domain: DomainID
    public init(extentStart: UInt64, extentCount: UInt64, extentOrder: UInt32, memoryFlags: UInt32 = 0,
                domain: DomainID = .selfDomain) {
        self.extentStart = extentStart
        self.extentCount = extentCount
        self.extentOrder = extentOrder
        self.memoryFlags = memoryFlags
        self.domain = domain
    }
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        let b = Array(bytes.prefix(Self.size))
        extentStart = littleEndianWord(b, at: 0)
        extentCount = littleEndianWord(b, at: 8)
        let w = littleEndianWord(b, at: 16)
        extentOrder = UInt32(truncatingIfNeeded: w)
        memoryFlags = UInt32(truncatingIfNeeded: w >> 32)
        domain = DomainID(UInt16(truncatingIfNeeded: littleEndianWord(b, at: 24)))
    }

    /// Xen: XENMEMF_get_address_bits — restrict frames to below 2^bits (0 = any).
    public var addressBits: UInt32 { memoryFlags & 0xFF }
    /// Xen: XENMEMF_populate_on_demand
    public static let populateOnDemand: UInt32 = 1 << 16
    /// Xen: XENMEMF_exact_node_request
    public static let exactNodeRequest: UInt32 = 1 << 17
    /// Xen: XENMEMF_vnode
    public static let virtualNode: UInt32 = 1 << 18
}

/// Xen: `struct xen_memory_map` (16 bytes: nr_entries @0, buffer @8).
public struct MemoryMapRequest: Equatable, Sendable {
    public static let size = 16
    public var entryCount: UInt32
    public var buffer: UInt64
    public init(entryCount: UInt32, buffer: UInt64) {
        self.entryCount = entryCount
        self.buffer = buffer
    }
}

/// One E820 entry as memory_map returns it. Xen: `struct e820entry` (packed, 20 bytes:
/// addr @0, size @8, type @16).
public struct E820Entry: Equatable, Sendable {
    public static let size = 20
    /// Xen: E820_RAM
    public static let ram: UInt32 = 1
    /// Xen: E820_RESERVED
    public static let reserved: UInt32 = 2
    /// Xen: E820MAX — the most entries XENMEM_set_memory_map accepts.
    public static let maximumEntries = 128
    public var address: UInt64
    public var length: UInt64
    public var type: UInt32
    public init(address: UInt64, length: UInt64, type: UInt32) {
        self.address = address
        self.length = length
        self.type = type
    }
    /// The 20 bytes the guest receives.
    public var bytes: [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(Self.size)
        for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: address >> UInt64(8 * i))) }
        for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: length >> UInt64(8 * i))) }
        for i in 0..<4 { b.append(UInt8(truncatingIfNeeded: type >> UInt32(8 * i))) }
        return b
    }
}

/// Xen: `struct xen_machphys_mapping` (24 bytes: v_start @0, v_end @8, max_mfn @16).
public struct MachphysMapping: Equatable, Sendable {
    public static let size = 24
    public var virtualStart: UInt64
    public var virtualEnd: UInt64
    public var maximumMFN: UInt64
    /// What XENMEM_machphys_mapping returns to a 64-bit PV domU.
    public static let pv64 = MachphysMapping(
        virtualStart: MachineToPhys.virtualStart, virtualEnd: MachineToPhys.virtualEnd,
        maximumMFN: MachineToPhys.entryCount - 1)
    public init(virtualStart: UInt64, virtualEnd: UInt64, maximumMFN: UInt64) {
        self.virtualStart = virtualStart
        self.virtualEnd = virtualEnd
        self.maximumMFN = maximumMFN
    }
    public var bytes: [UInt8] {
        var b: [UInt8] = []
        for w in [virtualStart, virtualEnd, maximumMFN] {
            for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: w >> UInt64(8 * i))) }
        }
        return b
    }
}

/// Reads 8 little-endian bytes at `offset` of an array the caller sized.
@inline(__always)
fileprivate func littleEndianWord(_ b: [UInt8], at offset: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(b[offset + i]) << UInt64(8 * i) }
    return v
}
