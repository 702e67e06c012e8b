/// Grant-table sub-commands. Xen: `GNTTABOP_*` (public/grant_table.h).
public enum GrantTableOp: UInt32, Sendable, CaseIterable {
    /// Xen: GNTTABOP_map_grant_ref
    case mapGrantRef = 0
    /// Xen: GNTTABOP_unmap_grant_ref
    case unmapGrantRef = 1
    /// Xen: GNTTABOP_setup_table
    case setupTable = 2
    /// Xen: GNTTABOP_dump_table
    case dumpTable = 3
    /// Xen: GNTTABOP_transfer
    case transfer = 4
    /// Xen: GNTTABOP_copy
    case copy = 5
    /// Xen: GNTTABOP_query_size
    case querySize = 6
    /// Xen: GNTTABOP_unmap_and_replace
    case unmapAndReplace = 7
    /// Xen: GNTTABOP_set_version
    case setVersion = 8
    /// Xen: GNTTABOP_get_status_frames
    case getStatusFrames = 9
    /// Xen: GNTTABOP_get_version
    case getVersion = 10
    /// Xen: GNTTABOP_swap_grant_ref
    case swapGrantRef = 11
    /// Xen: GNTTABOP_cache_flush
    case cacheFlush = 12

    /// Xen: GNTTABOP_CONTINUATION_ARG_SHIFT — `cmd` bits above carry continuation state
    /// (cache_flush only); the low bits are the command.
    public static let continuationArgumentShift: UInt32 = 12
    /// Xen: GNTTABOP_CMD_MASK
    public static let commandMask: UInt32 = (1 << continuationArgumentShift) - 1

    /// Size of one element of the operation's argument array (64-bit guest ABI).
    public var argumentSize: Int {
        switch self {
        case .mapGrantRef: GrantTableArgs.Map.size
        case .unmapGrantRef: GrantTableArgs.Unmap.size
        case .setupTable: GrantTableArgs.SetupTable.size
        case .dumpTable: GrantTableArgs.DumpTable.size
        case .transfer: GrantTableArgs.Transfer.size
        case .copy: GrantTableArgs.Copy.size
        case .querySize: GrantTableArgs.QuerySize.size
        case .unmapAndReplace: GrantTableArgs.UnmapAndReplace.size
        case .setVersion: GrantTableArgs.SetVersion.size
        case .getStatusFrames: GrantTableArgs.GetStatusFrames.size
        case .getVersion: GrantTableArgs.GetVersion.size
        case .swapGrantRef: GrantTableArgs.Swap.size
        case .cacheFlush: GrantTableArgs.CacheFlush.size
        }
    }
}

/// Per-operation result codes. Xen: `GNTST_*` (public/grant_table.h), stored as int16_t.
/// An `Error` so that Kite's grant code can carry a failed status in a `Result`.
public enum GrantStatus: Int16, Error, Sendable, CaseIterable, CustomStringConvertible {
    /// Xen: GNTST_okay
    case okay = 0
    /// Xen: GNTST_general_error
    case generalError = -1
    /// Xen: GNTST_bad_domain
    case badDomain = -2
    /// Xen: GNTST_bad_gntref
    case badGrantReference = -3
    /// Xen: GNTST_bad_handle
    case badHandle = -4
    /// Xen: GNTST_bad_virt_addr
    case badVirtualAddress = -5
    /// Xen: GNTST_bad_dev_addr
    case badDeviceAddress = -6
    /// Xen: GNTST_no_device_space
    case noDeviceSpace = -7
    /// Xen: GNTST_permission_denied
    case permissionDenied = -8
    /// Xen: GNTST_bad_page
    case badPage = -9
    /// Xen: GNTST_bad_copy_arg
    case badCopyArgument = -10
    /// Xen: GNTST_address_too_big
    case addressTooBig = -11
    /// Xen: GNTST_eagain
    case eagain = -12
    /// Xen: GNTST_no_space
    case noSpace = -13

    /// Xen: GNTTABOP_error_msgs.
    public var description: String {
        switch self {
        case .okay: "okay"
        case .generalError: "undefined error"
        case .badDomain: "unrecognised domain id"
        case .badGrantReference: "invalid grant reference"
        case .badHandle: "invalid mapping handle"
        case .badVirtualAddress: "invalid virtual address"
        case .badDeviceAddress: "invalid device address"
        case .noDeviceSpace: "no spare translation slot in the I/O MMU"
        case .permissionDenied: "permission denied"
        case .badPage: "bad page"
        case .badCopyArgument: "copy arguments cross page boundary"
        case .addressTooBig: "page address size too large"
        case .eagain: "operation not done; try again"
        case .noSpace: "out of space"
        }
    }
}

/// The flags word of a grant entry. Xen: `GTF_*` (public/grant_table.h).
public struct GrantEntryFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Xen: GTF_type_mask — bits 1:0 hold the entry type.
    public static let typeMask = GrantEntryFlags(rawValue: 3)
    /// Xen: GTF_invalid (type 0).
    public static let invalid = GrantEntryFlags([])
    /// Xen: GTF_permit_access (type 1) — @domid may map or copy @frame.
    public static let permitAccess = GrantEntryFlags(rawValue: 1)
    /// Xen: GTF_accept_transfer (type 2).
    public static let acceptTransfer = GrantEntryFlags(rawValue: 2)
    /// Xen: GTF_transitive (type 3, v2 only).
    public static let transitive = GrantEntryFlags(rawValue: 3)
    /// Xen: GTF_readonly — the grantee may only read. [guest]
    public static let readOnly = GrantEntryFlags(rawValue: 1 << 2)
    /// Xen: GTF_reading — mapped or being copied for reading. [Xen]
    public static let reading = GrantEntryFlags(rawValue: 1 << 3)
    /// Xen: GTF_writing — mapped or being copied for writing. [Xen]
    public static let writing = GrantEntryFlags(rawValue: 1 << 4)
    /// Xen: GTF_PWT
    public static let writeThrough = GrantEntryFlags(rawValue: 1 << 5)
    /// Xen: GTF_PCD
    public static let cacheDisable = GrantEntryFlags(rawValue: 1 << 6)
    /// Xen: GTF_PAT
    public static let pat = GrantEntryFlags(rawValue: 1 << 7)
    /// Xen: GTF_sub_page (v2) — only a sub-range may be copied, nothing mapped.
    public static let subPage = GrantEntryFlags(rawValue: 1 << 8)
    /// Xen: GTF_transfer_committed (accept_transfer entries).
    public static let transferCommitted = GrantEntryFlags(rawValue: 1 << 2)
    /// Xen: GTF_transfer_completed (accept_transfer entries).
    public static let transferCompleted = GrantEntryFlags(rawValue: 1 << 3)

    /// The type bits alone.
    public var type: GrantEntryFlags { intersection(.typeMask) }
}

/// Flags of a map request. Xen: `GNTMAP_*` (public/grant_table.h).
public struct GrantMapFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Xen: GNTMAP_device_map — for I/O devices; `dev_bus_addr` is returned.
    public static let deviceMap = GrantMapFlags(rawValue: 1 << 0)
    /// Xen: GNTMAP_host_map — a CPU mapping at `host_addr`.
    public static let hostMap = GrantMapFlags(rawValue: 1 << 1)
    /// Xen: GNTMAP_readonly
    public static let readOnly = GrantMapFlags(rawValue: 1 << 2)
    /// Xen: GNTMAP_application_map — the host mapping is user-accessible too.
    public static let applicationMap = GrantMapFlags(rawValue: 1 << 3)
    /// Xen: GNTMAP_contains_pte — `host_addr` is the machine address of the PTE to write.
    public static let containsPTE = GrantMapFlags(rawValue: 1 << 4)
    /// Xen: GNTMAP_can_fail
    public static let canFail = GrantMapFlags(rawValue: 1 << 5)
    /// Xen: _GNTMAP_guest_avail0 — bits from here go to the PTE's available bits.
    public static let guestAvailableShift: UInt32 = 16
}

/// Flags of a copy request. Xen: `GNTCOPY_*` (public/grant_table.h).
public struct GrantCopyFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// Xen: GNTCOPY_source_gref — the source is a grant reference, not a frame.
    public static let sourceGrantReference = GrantCopyFlags(rawValue: 1 << 0)
    /// Xen: GNTCOPY_dest_gref
    public static let destinationGrantReference = GrantCopyFlags(rawValue: 1 << 1)
    /// Xen: GNTCOPY_can_fail
    public static let canFail = GrantCopyFlags(rawValue: 1 << 2)
}

/// A mapping's tracking number, returned by map and presented to unmap.
/// Xen: `grant_handle_t` (public/grant_table.h).
public struct GrantHandle: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: GrantHandle, b: GrantHandle) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "grant handle \(rawValue)" }
}

/// A version-1 grant entry in a domain's shared table frames.
/// Xen: `struct grant_entry_v1` — u16 flags @0, domid_t domid @2, u32 frame @4.
public enum GrantEntryV1 {
    public static let size = 8
    public static let flags = 0
    public static let domid = 2
    public static let frame = 4
    /// Xen: SHGNT_PER_PAGE_V1.
    public static let perFrame = 512
}

/// Toolstack conventions and Xen's default limits for grant tables.
public enum GrantTableLimits {
    /// Xen: INITIAL_NR_GRANT_FRAMES — frames a table has from creation.
    public static let initialFrames: UInt32 = 1
    /// Xen: opt_max_grant_frames / libxl's max_grant_frames default.
    public static let defaultMaximumFrames: UInt32 = 64
    /// Xen: opt_max_maptrack_frames / libxl's max_maptrack_frames default.
    public static let defaultMaximumMaptrackFrames: UInt32 = 1024
    /// Xen: MAPTRACK_PER_PAGE — a 16-byte struct grant_mapping per slot.
    public static let maptrackEntriesPerFrame: UInt32 = 256
    /// Xen: GNTTAB_NR_RESERVED_ENTRIES — refs the toolstack keeps (guests allocate from 8).
    public static let reservedEntries: UInt32 = 8
    /// Xen: GNTTAB_RESERVED_CONSOLE
    public static let consoleReference = GrantReference(0)
    /// Xen: GNTTAB_RESERVED_XENSTORE
    public static let xenstoreReference = GrantReference(1)
}

/// Field offsets of the GNTTABOP argument structures for 64-bit guests.
public enum GrantTableArgs {
    /// Xen: struct gnttab_map_grant_ref.
    public enum Map {
        public static let size = 32
        public static let hostAddress = 0, flags = 8, ref = 12, dom = 16, status = 18, handle = 20, deviceBusAddress = 24
    }
    /// Xen: struct gnttab_unmap_grant_ref.
    public enum Unmap {
        public static let size = 24
        public static let hostAddress = 0, deviceBusAddress = 8, handle = 16, status = 20
    }
    /// Xen: struct gnttab_setup_table (frame_list: xen_pfn_t array).
    public enum SetupTable {
        public static let size = 24
        public static let dom = 0, frameCount = 4, status = 8, frameList = 16
    }
    /// Xen: struct gnttab_dump_table.
    public enum DumpTable {
        public static let size = 4
        public static let dom = 0, status = 2
    }
    /// Xen: struct gnttab_transfer.
    public enum Transfer {
        public static let size = 24
        public static let mfn = 0, domid = 8, ref = 12, status = 16
    }
    /// Xen: struct gnttab_copy — source and dest are {union {ref, gmfn}; domid; offset}.
    public enum Copy {
        public static let size = 40
        public static let source = 0, destination = 16, length = 32, flags = 34, status = 36
        /// Within source/dest: the ref (u32) or gmfn (u64), then domid and offset.
        public static let pointerRefOrFrame = 0, pointerDomain = 8, pointerOffset = 10
    }
    /// Xen: struct gnttab_query_size.
    public enum QuerySize {
        public static let size = 16
        public static let dom = 0, frameCount = 4, maximumFrameCount = 8, status = 12
    }
    /// Xen: struct gnttab_unmap_and_replace.
    public enum UnmapAndReplace {
        public static let size = 24
        public static let hostAddress = 0, newAddress = 8, handle = 16, status = 20
    }
    /// Xen: struct gnttab_set_version (version is in and out).
    public enum SetVersion {
        public static let size = 4
        public static let version = 0
    }
    /// Xen: struct gnttab_get_status_frames (frame_list: uint64_t array).
    public enum GetStatusFrames {
        public static let size = 16
        public static let frameCount = 0, dom = 4, status = 6, frameList = 8
    }
    /// Xen: struct gnttab_get_version.
    public enum GetVersion {
        public static let size = 8
        public static let dom = 0, version = 4
    }
    /// Xen: struct gnttab_swap_grant_ref.
    public enum Swap {
        public static let size = 12
        public static let refA = 0, refB = 4, status = 8
    }
    /// Xen: struct gnttab_cache_flush.
    public enum CacheFlush {
        public static let size = 16
        public static let address = 0, offset = 8, length = 10, op = 12
    }
}
