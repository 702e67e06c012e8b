/// One scatter-gather element: 512-byte sectors `firstSector...lastSector` of the frame
/// granted by `grant`. Xen: `struct blkif_request_segment`.
public struct BlockRequestSegment: Hashable, Sendable {
    public var grant: GrantReference
    /// Xen: first_sect (inclusive)
    public var firstSector: UInt8
    /// Xen: last_sect (inclusive)
    public var lastSector: UInt8

    public init(grant: GrantReference, firstSector: UInt8, lastSector: UInt8) {
        self.grant = grant
        self.firstSector = firstSector
        self.lastSector = lastSector
    }

    /// Decodes the 8 bytes at `offset` of `bytes`; nil when they do not fit.
    public init?(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard offset >= 0, offset <= bytes.count - BlockSegmentLayout.size else { return nil }
        grant = GrantReference(bytes.loadUnaligned(fromByteOffset: offset + BlockSegmentLayout.grantReference,
                                                   as: UInt32.self))
        firstSector = bytes[offset + BlockSegmentLayout.firstSector]
        lastSector = bytes[offset + BlockSegmentLayout.lastSector]
    }

    /// Writes the 8 bytes at `offset` (padding zeroed); false when they do not fit.
    @discardableResult
    public func encode(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) -> Bool {
        guard offset >= 0, offset <= bytes.count - BlockSegmentLayout.size else { return false }
        bytes.storeBytes(of: grant.rawValue, toByteOffset: offset + BlockSegmentLayout.grantReference, as: UInt32.self)
        bytes[offset + BlockSegmentLayout.firstSector] = firstSector
        bytes[offset + BlockSegmentLayout.lastSector] = lastSector
        bytes[offset + 6] = 0
        bytes[offset + 7] = 0
        return true
    }
}

/// A ring slot's request, decoded from one copy of its bytes according to its operation
/// byte. Values are as the guest wrote them: nothing is validated here (segment counts
/// and sector ranges are the backend's to check).
public enum BlockRingRequest: Hashable, Sendable {
    /// READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE. Xen: `struct blkif_request`.
    /// `segments` holds the first min(nr_segments, 11) descriptors; `segmentCount` is
    /// nr_segments as written.
    case readWrite(operation: UInt8, segmentCount: UInt8, handle: UInt16, id: UInt64, sectorNumber: UInt64,
                   segments: [BlockRequestSegment])
    /// Xen: `struct blkif_request_discard`.
    case discard(flag: UInt8, handle: UInt16, id: UInt64, sectorNumber: UInt64, sectorCount: UInt64)
    /// Xen: `struct blkif_request_indirect`. `indirectGrants` holds all 8 references.
    case indirect(indirectOperation: UInt8, segmentCount: UInt16, handle: UInt16, id: UInt64, sectorNumber: UInt64,
                  indirectGrants: [GrantReference])
    /// Any other operation byte (BLKIF_OP_RESERVED_1 and unknown codes).
    case other(operation: UInt8, id: UInt64)

    /// The operation byte as written (a response echoes `responseOperation`).
    public var operation: UInt8 {
        switch self {
        case .readWrite(let op, _, _, _, _, _): op
        case .discard: BlockRequestOperation.discard.rawValue
        case .indirect: BlockRequestOperation.indirect.rawValue
        case .other(let op, _): op
        }
    }

    /// The operation byte a response carries: the request's, except that an indirect
    /// request is answered with its inner operation (READ or WRITE), as Linux's blkback
    /// does (pending_req->operation is indirect_op); Linux's blkfront refuses a response
    /// to an indirect write that says INDIRECT ("response has wrong operation") and
    /// disables the disk.
    public var responseOperation: UInt8 {
        switch self {
        case .indirect(let op, _, _, _, _, _): op
        default: operation
        }
    }

    /// The guest's private id (at offset 8 in every request form), echoed in the response.
    public var id: UInt64 {
        switch self {
        case .readWrite(_, _, _, let id, _, _), .discard(_, _, let id, _, _), .indirect(_, _, _, let id, _, _),
             .other(_, let id): id
        }
    }

    /// Decodes a copied slot; nil when `bytes` is shorter than a request (112 bytes).
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= BlockRequestLayout.size else { return nil }
        func u16(_ o: Int) -> UInt16 { bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self) }
        func u32(_ o: Int) -> UInt32 { bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
        func u64(_ o: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self) }
        let operation = bytes[BlockRequestLayout.operation]
        let id = u64(BlockRequestLayout.id)
        switch BlockRequestOperation(rawValue: operation) {
        case .read, .write, .writeBarrier, .flushDiskCache:
            let count = bytes[BlockRequestLayout.segmentCount]
            var segments: [BlockRequestSegment] = []
            let kept = min(Int(count), BlockInterface.maxSegmentsPerRequest)
            segments.reserveCapacity(kept)
            for i in 0..<kept {
                if let s = BlockRequestSegment(bytes, at: BlockRequestLayout.segments + i * BlockSegmentLayout.size) {
                    segments.append(s)
                }
            }
            self = .readWrite(operation: operation, segmentCount: count, handle: u16(BlockRequestLayout.handle), id: id,
                              sectorNumber: u64(BlockRequestLayout.sectorNumber), segments: segments)
        case .discard:
            self = .discard(flag: bytes[BlockDiscardRequestLayout.flag], handle: u16(BlockDiscardRequestLayout.handle),
                            id: id, sectorNumber: u64(BlockDiscardRequestLayout.sectorNumber),
                            sectorCount: u64(BlockDiscardRequestLayout.sectorCount))
        case .indirect:
            let grants = (0..<BlockInterface.maxIndirectPagesPerRequest).map {
                GrantReference(u32(BlockIndirectRequestLayout.indirectGrants + $0 * 4))
            }
            self = .indirect(indirectOperation: bytes[BlockIndirectRequestLayout.indirectOperation],
                             segmentCount: u16(BlockIndirectRequestLayout.segmentCount),
                             handle: u16(BlockIndirectRequestLayout.handle), id: id,
                             sectorNumber: u64(BlockIndirectRequestLayout.sectorNumber), indirectGrants: grants)
        case .reserved1, nil:
            self = .other(operation: operation, id: id)
        }
    }

    /// Writes the request as a frontend would into a 112-byte slot (unused bytes zeroed);
    /// false when `bytes` is too short. For tests and for Kite's own frontends.
    @discardableResult
    public func encode(into bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard bytes.count >= BlockRequestLayout.size, let base = bytes.baseAddress else { return false }
        base.initializeMemory(as: UInt8.self, repeating: 0, count: BlockRequestLayout.size)
        bytes[BlockRequestLayout.operation] = operation
        bytes.storeBytes(of: id, toByteOffset: BlockRequestLayout.id, as: UInt64.self)
        switch self {
        case .readWrite(_, let count, let handle, _, let sector, let segments):
            bytes[BlockRequestLayout.segmentCount] = count
            bytes.storeBytes(of: handle, toByteOffset: BlockRequestLayout.handle, as: UInt16.self)
            bytes.storeBytes(of: sector, toByteOffset: BlockRequestLayout.sectorNumber, as: UInt64.self)
            for (i, s) in segments.prefix(BlockInterface.maxSegmentsPerRequest).enumerated() {
                s.encode(into: bytes, at: BlockRequestLayout.segments + i * BlockSegmentLayout.size)
            }
        case .discard(let flag, let handle, _, let sector, let count):
            bytes[BlockDiscardRequestLayout.flag] = flag
            bytes.storeBytes(of: handle, toByteOffset: BlockDiscardRequestLayout.handle, as: UInt16.self)
            bytes.storeBytes(of: sector, toByteOffset: BlockDiscardRequestLayout.sectorNumber, as: UInt64.self)
            bytes.storeBytes(of: count, toByteOffset: BlockDiscardRequestLayout.sectorCount, as: UInt64.self)
        case .indirect(let op, let count, let handle, _, let sector, let grants):
            bytes[BlockIndirectRequestLayout.indirectOperation] = op
            bytes.storeBytes(of: count, toByteOffset: BlockIndirectRequestLayout.segmentCount, as: UInt16.self)
            bytes.storeBytes(of: handle, toByteOffset: BlockIndirectRequestLayout.handle, as: UInt16.self)
            bytes.storeBytes(of: sector, toByteOffset: BlockIndirectRequestLayout.sectorNumber, as: UInt64.self)
            for (i, g) in grants.prefix(BlockInterface.maxIndirectPagesPerRequest).enumerated() {
                bytes.storeBytes(of: g.rawValue, toByteOffset: BlockIndirectRequestLayout.indirectGrants + i * 4,
                                 as: UInt32.self)
            }
        case .other:
            break
        }
        return true
    }
}

/// A response slot. Xen: `struct blkif_response`.
public struct BlockRingResponse: Hashable, Sendable {
    public var id: UInt64
    public var operation: UInt8
    /// Xen: status (BLKIF_RSP_*)
    public var status: Int16

    public init(id: UInt64, operation: UInt8, status: BlockResponseStatus) {
        self.id = id
        self.operation = operation
        self.status = status.rawValue
    }

    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= BlockResponseLayout.size else { return nil }
        id = bytes.loadUnaligned(fromByteOffset: BlockResponseLayout.id, as: UInt64.self)
        operation = bytes[BlockResponseLayout.operation]
        status = bytes.loadUnaligned(fromByteOffset: BlockResponseLayout.status, as: Int16.self)
    }

    /// Writes the 16 bytes of the response (padding zeroed); false when `bytes` is short.
    @discardableResult
    public func encode(into bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard bytes.count >= BlockResponseLayout.size, let base = bytes.baseAddress else { return false }
        base.initializeMemory(as: UInt8.self, repeating: 0, count: BlockResponseLayout.size)
        bytes.storeBytes(of: id, toByteOffset: BlockResponseLayout.id, as: UInt64.self)
        bytes[BlockResponseLayout.operation] = operation
        bytes.storeBytes(of: status, toByteOffset: BlockResponseLayout.status, as: Int16.self)
        return true
    }

    /// The 16 bytes of the response.
    public var encoded: [UInt8] {
        var out = [UInt8](repeating: 0, count: BlockResponseLayout.size)
        out.withUnsafeMutableBytes { _ = encode(into: $0) }
        return out
    }
}
