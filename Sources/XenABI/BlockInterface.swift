/// Block-device request codes. Xen: `BLKIF_OP_*` (public/io/blkif.h).
public enum BlockRequestOperation: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Xen: BLKIF_OP_READ — disk sectors into the granted frames.
    case read = 0
    /// Xen: BLKIF_OP_WRITE — the granted frames onto the disk.
    case write = 1
    /// Xen: BLKIF_OP_WRITE_BARRIER — earlier writes complete first, then this one (a write
    /// that may carry data); recognised only with "feature-barrier".
    case writeBarrier = 2
    /// Xen: BLKIF_OP_FLUSH_DISKCACHE — commit the volatile cache (may carry data, which is
    /// written first: Linux sends FUA writes this way); only with "feature-flush-cache".
    case flushDiskCache = 3
    /// Xen: BLKIF_OP_RESERVED_1 — SLES device-specific packets; never supported.
    case reserved1 = 4
    /// Xen: BLKIF_OP_DISCARD — the sectors may be thrown away (`blkif_request_discard`);
    /// only with "feature-discard".
    case discard = 5
    /// Xen: BLKIF_OP_INDIRECT — a read or write whose segments sit in granted pages
    /// (`blkif_request_indirect`); only with "feature-max-indirect-segments".
    case indirect = 6

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .writeBarrier: "write-barrier"
        case .flushDiskCache: "flush-diskcache"
        case .reserved1: "reserved-1"
        case .discard: "discard"
        case .indirect: "indirect"
        }
    }
}

/// A response's status. Xen: `BLKIF_RSP_*` (public/io/blkif.h), an int16_t.
public enum BlockResponseStatus: Int16, Sendable, CaseIterable {
    /// Xen: BLKIF_RSP_OKAY
    case okay = 0
    /// Xen: BLKIF_RSP_ERROR — failed for an unspecified reason (-EIO to the guest's OS).
    case error = -1
    /// Xen: BLKIF_RSP_EOPNOTSUPP — the operation is not supported.
    case notSupported = -2
}

/// Bits of the backend's `info` key. Xen: `VDISK_*` (public/io/blkif.h).
public struct BlockDiskInfo: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Xen: VDISK_CDROM
    public static let cdrom = BlockDiskInfo(rawValue: 0x1)
    /// Xen: VDISK_REMOVABLE
    public static let removable = BlockDiskInfo(rawValue: 0x2)
    /// Xen: VDISK_READONLY
    public static let readOnly = BlockDiskInfo(rawValue: 0x4)
}

/// The block interface's fixed numbers (public/io/blkif.h, public/io/protocols.h).
public enum BlockInterface {
    /// Sector numbers, first_sect/last_sect and the `sectors` key count 512-byte units,
    /// whatever the disk's real sector size.
    public static let sectorSize = 512
    /// Xen: 512-byte sectors in one 4 KiB granted frame (last_sect is at most 7).
    public static let sectorsPerPage = 8
    /// Xen: BLKIF_MAX_SEGMENTS_PER_REQUEST
    public static let maxSegmentsPerRequest = 11
    /// Xen: BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST
    public static let maxIndirectPagesPerRequest = 8
    /// Xen: PAGE_SIZE / sizeof(struct blkif_request_segment) — segments in one indirect page.
    public static let segmentsPerIndirectPage = 512
    /// Xen: BLKIF_DISCARD_SECURE — `blkif_request_discard.flag` bit.
    public static let discardSecureFlag: UInt8 = 1 << 0
    /// Xen: XEN_IO_PROTO_ABI_X86_64 (public/io/protocols.h) — the `protocol` key's value.
    public static let protocolX86_64 = "x86_64-abi"
    /// Xen: XEN_IO_PROTO_ABI_X86_32 — 108-byte requests (GRUB i386 writes it).
    public static let protocolX86_32 = "x86_32-abi"
    /// Xen: XENBUS_MAX_RING_GRANT_ORDER (Linux) — at most 16 ring pages.
    public static let maxRingPageOrder = 4

    /// Indirect pages needed for `segments` segments: ceil(segments / 512).
    /// Xen: INDIRECT_PAGES() (Linux blkback/blkfront).
    public static func indirectPages(forSegments segments: Int) -> Int {
        segments <= 0 ? 0 : (segments - 1) / segmentsPerIndirectPage + 1
    }
}

/// `struct blkif_request_segment` (8 bytes, both ABIs).
public enum BlockSegmentLayout {
    public static let size = 8
    /// Xen: gref (grant_ref_t)
    public static let grantReference = 0
    /// Xen: first_sect (u8, inclusive)
    public static let firstSector = 4
    /// Xen: last_sect (u8, inclusive)
    public static let lastSector = 5
}

/// `struct blkif_request`, x86_64 ABI (112 bytes; x86_32 packs id at 4 and is 108).
public enum BlockRequestLayout {
    public static let size = 112
    /// Xen: operation (u8)
    public static let operation = 0
    /// Xen: nr_segments (u8)
    public static let segmentCount = 1
    /// Xen: handle (blkif_vdev_t, u16)
    public static let handle = 2
    /// Xen: id (u64, echoed in the response)
    public static let id = 8
    /// Xen: sector_number (blkif_sector_t, u64)
    public static let sectorNumber = 16
    /// Xen: seg[BLKIF_MAX_SEGMENTS_PER_REQUEST]
    public static let segments = 24
}

/// `struct blkif_request_discard`, x86_64 ABI (32 bytes).
public enum BlockDiscardRequestLayout {
    public static let size = 32
    /// Xen: operation (u8, BLKIF_OP_DISCARD)
    public static let operation = 0
    /// Xen: flag (u8, BLKIF_DISCARD_SECURE)
    public static let flag = 1
    /// Xen: handle (u16)
    public static let handle = 2
    /// Xen: id (u64)
    public static let id = 8
    /// Xen: sector_number (u64)
    public static let sectorNumber = 16
    /// Xen: nr_sectors (u64)
    public static let sectorCount = 24
}

/// `struct blkif_request_indirect`, x86_64 ABI (64 bytes: 60 of fields, padded to the
/// u64 alignment).
public enum BlockIndirectRequestLayout {
    public static let size = 64
    /// Xen: operation (u8, BLKIF_OP_INDIRECT)
    public static let operation = 0
    /// Xen: indirect_op (u8, BLKIF_OP_READ or BLKIF_OP_WRITE)
    public static let indirectOperation = 1
    /// Xen: nr_segments (u16)
    public static let segmentCount = 2
    /// Xen: id (u64)
    public static let id = 8
    /// Xen: sector_number (u64)
    public static let sectorNumber = 16
    /// Xen: handle (u16)
    public static let handle = 24
    /// Xen: indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST] (u32 each)
    public static let indirectGrants = 28
}

/// `struct blkif_response`, x86_64 ABI (16 bytes; 12 on x86_32).
public enum BlockResponseLayout {
    public static let size = 16
    /// Xen: id (u64, copied from the request)
    public static let id = 0
    /// Xen: operation (u8, copied from the request)
    public static let operation = 8
    /// Xen: status (i16, BLKIF_RSP_*)
    public static let status = 10
}
