import XenABI

/// What a machine frame is used as. Xen: PGT_* in `page_info.u.inuse.type_info` (asm/mm.h).
/// A frame's type may change only while its type count is zero.
public enum PageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Xen: PGT_none — never typed since allocation.
    case none = 0
    /// Xen: PGT_l1_page_table
    case l1 = 1
    /// Xen: PGT_l2_page_table
    case l2 = 2
    /// Xen: PGT_l3_page_table
    case l3 = 3
    /// Xen: PGT_l4_page_table
    case l4 = 4
    /// Xen: PGT_seg_desc_page — a GDT or LDT page.
    case segmentDescriptor = 5
    /// Xen: PGT_writable_page — mapped writable somewhere (or written by a plain update).
    case writable = 7

    /// Page-table types are validated when their type count rises from zero and
    /// de-validated (child references dropped) when it falls back to zero.
    var isPageTable: Bool { rawValue >= 1 && rawValue <= 4 }
    /// The type one level down (the type an entry of this table requires), if any.
    var childType: PageType? {
        switch self {
        case .l2: .l1
        case .l3: .l2
        case .l4: .l3
        default: nil
        }
    }
    public var description: String {
        switch self {
        case .none: "none"
        case .l1: "L1"
        case .l2: "L2"
        case .l3: "L3"
        case .l4: "L4"
        case .segmentDescriptor: "seg_desc"
        case .writable: "writable"
        }
    }
}

/// Flag bits of a frame. Xen: PGT_validated, PGT_pinned, PGC_allocated, PGC_xen_heap.
struct FrameFlags: OptionSet {
    var rawValue: UInt8
    /// Xen: PGT_validated — the current type's contents were checked.
    static let validated = FrameFlags(rawValue: 1 << 0)
    /// Xen: PGT_pinned — a pin holds one type and one general reference.
    static let pinned = FrameFlags(rawValue: 1 << 1)
    /// Xen: PGC_allocated — the domain's allocation holds one general reference.
    static let allocated = FrameFlags(rawValue: 1 << 2)
    /// Xen: PGC_xen_heap — Kite's own storage shared with the owner (share_xen_page_with_guest);
    /// not counted in the owner's reservation.
    static let xenShared = FrameFlags(rawValue: 1 << 3)
}

/// One machine frame's bookkeeping. Xen: `struct page_info` (asm/mm.h). 16 bytes.
struct FrameInfo {
    /// Xen: count_info & PGC_count_mask — references of every kind.
    var count: UInt32 = 0
    /// Xen: type_info & PGT_count_mask — references to the current type.
    var typeCount: UInt32 = 0
    /// Raw DomainID of the owner, or `FrameInfo.unowned`.
    var owner: UInt16 = FrameInfo.unowned
    var type: PageType = .none
    var flags: FrameFlags = []
    /// Xen: linear_pt_count — > 0: this table holds that many linear (same-level) entries;
    /// < 0: that many linear entries of other tables point at it. Never both.
    var linear: Int16 = 0

    static let unowned: UInt16 = 0xFFFF

    var isFree: Bool { owner == FrameInfo.unowned }
}

/// A snapshot of one frame's state, for callers, tests and audits.
public struct FrameState: Equatable, Sendable, CustomStringConvertible {
    /// nil for a free frame.
    public var owner: DomainID?
    public var type: PageType
    public var typeCount: UInt32
    /// General references (mappings, pins, base pointers, the allocation itself).
    public var referenceCount: UInt32
    public var isPinned: Bool
    public var isValidated: Bool
    /// Counted in the owner's reservation (false for free, Kite and Xen-shared frames).
    public var isAllocated: Bool
    /// A Kite frame the owner may map (its shared_info page).
    public var isXenShared: Bool
    /// Xen: linear_pt_count.
    public var linearCount: Int16

    init(_ f: FrameInfo) {
        owner = f.isFree ? nil : DomainID(f.owner)
        type = f.type
        typeCount = f.typeCount
        referenceCount = f.count
        isPinned = f.flags.contains(.pinned)
        isValidated = f.flags.contains(.validated)
        isAllocated = f.flags.contains(.allocated) && !f.flags.contains(.xenShared) && f.owner != DomainID.xen.rawValue
        isXenShared = f.flags.contains(.xenShared)
        linearCount = f.linear
    }

    public var description: String {
        var s = "owner=\(owner.map { "\($0)" } ?? "-") type=\(type)/\(typeCount) count=\(referenceCount)"
        if isPinned { s += " pinned" }
        if isValidated { s += " validated" }
        if isXenShared { s += " xen-shared" }
        if linearCount != 0 { s += " linear=\(linearCount)" }
        return s
    }
}
