import XenABI
import XenControl

/// What the backend offers the frontend (and so accepts on the ring).
public struct BlockFeatures: Hashable, Sendable {
    /// BLKIF_OP_FLUSH_DISKCACHE and BLKIF_OP_WRITE_BARRIER. Xen: feature-flush-cache,
    /// feature-barrier.
    public var flush: Bool
    /// BLKIF_OP_DISCARD. Xen: feature-discard.
    public var discard: Bool
    /// Segments per BLKIF_OP_INDIRECT request; 0: not offered.
    /// Xen: feature-max-indirect-segments.
    public var maxIndirectSegments: Int

    public init(flush: Bool, discard: Bool, maxIndirectSegments: Int) {
        self.flush = flush
        self.discard = discard
        self.maxIndirectSegments = maxIndirectSegments
    }
}

/// What one service pass did and what the owner must do now.
public struct BlockServiceResult: Hashable, Sendable {
    /// Responses were published and the frontend asked for an event.
    public var notifyGuest = false
    /// The pass stopped at its request budget with requests still waiting.
    public var moreWork = false
    /// The frontend broke the ring: disconnect the device (unmap, unbind).
    public var failure: BlockRingError?
    public var requestsHandled = 0

    public init() {}
}

/// The block device's request engine (blkback's dispatch), independent of threads and
/// event channels: takes requests off a `BlockBackRing`, checks them, moves data between
/// the image and the guest's granted pages (each mapped for the request and unmapped
/// after), and answers each with a response in ring order.
///
/// Checks (a bad request gets BLKIF_RSP_ERROR and nothing else happens; only a broken
/// ring index disconnects): 0 segments on a read or write, more than 11 (or, indirect,
/// more than offered), last_sect > 7 or below first_sect, a range past the end of the
/// disk or overflowing, a write/flush/discard to a read-only disk, a grant that does not
/// map. Operations not offered or unknown get BLKIF_RSP_EOPNOTSUPP, like a discard with
/// BLKIF_DISCARD_SECURE (discard-secure is not offered).
///
/// Not thread-safe: the backend calls it from its serial queue.
public final class BlockDevice {
    public let domain: DomainID
    public let image: any BlockImage
    public let features: BlockFeatures
    private let grants: any GrantMapper
    public private(set) var statistics = BlockStatistics()
    private var slot = [UInt8](repeating: 0, count: BlockRequestLayout.size)

    public init(domain: DomainID, image: any BlockImage, grants: any GrantMapper, features: BlockFeatures) {
        self.domain = domain
        self.image = image
        self.grants = grants
        self.features = features
    }

    /// Answers up to `budget` requests, publishing each response as it is made, then arms
    /// req_event (RING_FINAL_CHECK_FOR_REQUESTS) when the ring is empty. Returns early, with
    /// `notifyGuest` and `moreWork`, as soon as a response needs an event: a frontend that
    /// waits for it must not wait for the rest of the batch (the owner notifies, then calls
    /// again).
    public func service(_ back: inout BlockBackRing, budget: Int = 64) -> BlockServiceResult {
        var result = BlockServiceResult()
        statistics.passes &+= 1
        while true {
            let pending: UInt32
            switch back.pendingRequests() {
            case .failure(let error):
                result.failure = error
                return result
            case .success(let n): pending = n
            }
            if pending == 0 {
                if back.finalCheckForRequests() { continue }
                return result
            }
            if result.requestsHandled >= budget {
                result.moreWork = true
                return result
            }
            let took = slot.withUnsafeMutableBytes { back.takeRequest(into: $0) }
            guard took else {
                result.moreWork = true
                return result
            }
            let request = slot.withUnsafeBytes { BlockRingRequest($0) }
            let response = request.map(respond) ?? BlockRingResponse(id: 0, operation: 0, status: .error)
            let published = back.responseProducer
            back.putResponse(response)
            result.requestsHandled += 1
            if back.pushResponses(publishedBefore: published) {
                result.notifyGuest = true
                result.moreWork = true
                return result
            }
        }
    }

    /// Counts an event sent to the guest (the owner sends it).
    public func noteNotification() { statistics.notifications &+= 1 }

    /// Executes one request and makes its response.
    public func respond(_ request: BlockRingRequest) -> BlockRingResponse {
        statistics.requests &+= 1
        let status = execute(request)
        switch status {
        case .okay: break
        case .error: statistics.errorResponses &+= 1
        case .notSupported: statistics.notSupportedResponses &+= 1
        }
        return BlockRingResponse(id: request.id, operation: request.responseOperation, status: status)
    }

    private func execute(_ request: BlockRingRequest) -> BlockResponseStatus {
        switch request {
        case .readWrite(let op, let count, _, _, let sector, let segments):
            guard let operation = BlockRequestOperation(rawValue: op) else { return .notSupported }
            return readWrite(operation, segmentCount: Int(count), limit: BlockInterface.maxSegmentsPerRequest,
                             sector: sector, segments: segments)
        case .indirect(let op, let count, _, _, let sector, let grants):
            statistics.indirectRequests &+= 1
            guard features.maxIndirectSegments > 0 else { return .notSupported }
            guard let operation = BlockRequestOperation(rawValue: op), operation == .read || operation == .write else {
                return .error
            }
            guard count > 0, Int(count) <= features.maxIndirectSegments else {
                tally(operation)
                return .error
            }
            guard let segments = indirectSegments(Int(count), grants) else {
                tally(operation)
                return .error
            }
            return readWrite(operation, segmentCount: Int(count), limit: features.maxIndirectSegments, sector: sector,
                             segments: segments)
        case .discard(let flag, _, _, let sector, let sectors):
            statistics.discardRequests &+= 1
            return discard(flag: flag, sector: sector, sectors: sectors)
        case .other:
            return .notSupported
        }
    }

    private func tally(_ operation: BlockRequestOperation) {
        switch operation {
        case .read: statistics.readRequests &+= 1
        case .write: statistics.writeRequests &+= 1
        case .flushDiskCache: statistics.flushRequests &+= 1
        case .writeBarrier: statistics.barrierRequests &+= 1
        case .discard: statistics.discardRequests &+= 1
        case .reserved1, .indirect: break
        }
    }

    /// READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE and the body of INDIRECT.
    private func readWrite(_ operation: BlockRequestOperation, segmentCount: Int, limit: Int, sector: UInt64,
                           segments: [BlockRequestSegment]) -> BlockResponseStatus {
        tally(operation)
        let flushes = operation == .flushDiskCache || operation == .writeBarrier
        switch operation {
        case .read, .write, .flushDiskCache, .writeBarrier: break
        case .reserved1, .discard, .indirect: return .notSupported
        }
        if flushes, !features.flush, !image.isReadOnly { return .notSupported }
        // Xen: dispatch_rw_block_io's segment-count check (a flush may carry none).
        guard segmentCount <= limit, segmentCount == segments.count, segmentCount > 0 || flushes else { return .error }
        var sectors: UInt64 = 0
        for s in segments {
            // Xen: last_sect >= XEN_PAGE_SIZE >> 9 || last_sect < first_sect.
            guard s.lastSector < UInt8(BlockInterface.sectorsPerPage), s.lastSector >= s.firstSector else { return .error }
            sectors += UInt64(s.lastSector - s.firstSector) + 1
        }
        let writes = operation != .read
        // Xen: xen_vbd_translate — no writes to a read-only vbd, nothing past its end. The
        // range is checked only when there is one: Linux's empty flushes carry sector
        // (sector_t)-1, the block layer's "no position".
        if writes, image.isReadOnly { return .error }
        let (product, o1) = sector.multipliedReportingOverflow(by: UInt64(BlockInterface.sectorSize))
        let offset = sectors == 0 ? 0 : product
        if sectors > 0 {
            guard !o1, image.contains(offset: offset, length: sectors * UInt64(BlockInterface.sectorSize)) else { return .error }
        }
        do {
            // A barrier orders after everything before it: make that durable first.
            if operation == .writeBarrier { try image.flush() }
            if !segments.isEmpty { try transfer(writes: writes, offset: offset, segments: segments) }
            if flushes { try image.flush() }
        } catch {
            return Self.status(error)
        }
        if writes { statistics.sectorsWritten &+= sectors } else { statistics.sectorsRead &+= sectors }
        return .okay
    }

    /// Maps every segment's frame, moves the data in one scatter-gather call, unmaps.
    private func transfer(writes: Bool, offset: UInt64, segments: [BlockRequestSegment]) throws(BlockImageError) {
        var mappings: [GrantMapping] = []
        mappings.reserveCapacity(segments.count)
        defer { for m in mappings { try? grants.unmap(m) } }
        for s in segments {
            // The guest's frame is only read for a write: a read-only grant is enough.
            guard let m = try? grants.map(domain: domain, ref: s.grant, readOnly: writes) else { throw .io(0) }
            mappings.append(m)
        }
        if writes {
            let pieces = zip(segments, mappings).map { s, m in
                UnsafeRawBufferPointer(rebasing: m.bytes[Self.range(s)])
            }
            try image.write(from: pieces, at: offset)
        } else {
            var pieces: [UnsafeMutableRawBufferPointer] = []
            pieces.reserveCapacity(segments.count)
            for (s, m) in zip(segments, mappings) {
                guard let page = m.mutableBytes else { throw .io(0) }
                pieces.append(UnsafeMutableRawBufferPointer(rebasing: page[Self.range(s)]))
            }
            try image.read(into: pieces, at: offset)
        }
    }

    private static func range(_ s: BlockRequestSegment) -> Range<Int> {
        Int(s.firstSector) * BlockInterface.sectorSize..<(Int(s.lastSector) + 1) * BlockInterface.sectorSize
    }

    /// Copies the segment descriptors out of the indirect pages (each mapped read-only
    /// for the copy); nil when a page does not map.
    private func indirectSegments(_ count: Int, _ pages: [GrantReference]) -> [BlockRequestSegment]? {
        let pageCount = BlockInterface.indirectPages(forSegments: count)
        guard pageCount <= pages.count else { return nil }
        var segments: [BlockRequestSegment] = []
        segments.reserveCapacity(count)
        for p in 0..<pageCount {
            guard let m = try? grants.map(domain: domain, ref: pages[p], readOnly: true) else { return nil }
            defer { try? grants.unmap(m) }
            let inPage = min(count - segments.count, BlockInterface.segmentsPerIndirectPage)
            for i in 0..<inPage {
                guard let s = BlockRequestSegment(m.bytes, at: i * BlockSegmentLayout.size) else { return nil }
                segments.append(s)
            }
        }
        return segments
    }

    private func discard(flag: UInt8, sector: UInt64, sectors: UInt64) -> BlockResponseStatus {
        // Xen: dispatch_discard_io — secure discard needs discard-secure, which is not offered.
        if flag & BlockInterface.discardSecureFlag != 0 { return .notSupported }
        if image.isReadOnly { return .error }
        let (offset, o1) = sector.multipliedReportingOverflow(by: UInt64(BlockInterface.sectorSize))
        let (length, o2) = sectors.multipliedReportingOverflow(by: UInt64(BlockInterface.sectorSize))
        guard !o1, !o2, image.contains(offset: offset, length: length) else { return .error }
        guard features.discard else { return .notSupported }
        do { try image.discard(offset: offset, length: length) } catch { return Self.status(error) }
        return .okay
    }

    private static func status(_ error: BlockImageError) -> BlockResponseStatus {
        switch error {
        case .notSupported: .notSupported
        case .readOnly, .outOfRange, .io: .error
        }
    }
}
