import Foundation
import XenABI
import XenBackends
import XenControl

/// A scratch directory for disk images, removed when the value goes away.
final class BlockScratch {
    let directory: URL

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kite-block-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A file of `size` bytes: `contents` at the start, the rest a hole.
    @discardableResult
    func file(_ name: String, size: Int, contents: [UInt8] = []) -> String {
        let p = path(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(contents))
        let handle = FileHandle(forWritingAtPath: p)
        try? handle?.truncate(atOffset: UInt64(size))
        try? handle?.close()
        return p
    }

    func bytes(_ name: String) -> [UInt8] { Array((try? Data(contentsOf: URL(fileURLWithPath: path(name)))) ?? Data()) }

    /// Bytes of the file actually allocated on disk (st_blocks × 512).
    func allocatedBytes(_ name: String) -> Int {
        var st = stat()
        guard stat(path(name), &st) == 0 else { return -1 }
        return Int(st.st_blocks) * 512
    }
}

/// The guest's end of a blkif ring, written the way Linux's blkfront does it: requests at
/// req_prod_pvt published with RING_PUSH_REQUESTS, responses read from rsp_cons with
/// rsp_event re-armed. Indexes can start anywhere (a ring that has carried traffic).
final class GuestBlockFrontend {
    let grants: FakeGrants
    let domain: DomainID
    let ringReferences: [GrantReference]
    let pages: [UnsafeMutableRawPointer]
    let size: Int
    var requestProducer: UInt32
    var responseConsumer: UInt32
    private var nextDataReference: UInt32

    init(grants: FakeGrants, domain: DomainID, order: Int = 0, startIndex: UInt32 = 0, firstRingReference: UInt32 = 8) {
        self.grants = grants
        self.domain = domain
        let count = 1 << order
        ringReferences = (0..<count).map { GrantReference(firstRingReference + UInt32($0)) }
        nextDataReference = firstRingReference + 1000
        pages = ringReferences.map { grants.grant(domain, $0) }
        size = BlockRingLayout.ringSize(pages: count)
        requestProducer = startIndex
        responseConsumer = startIndex
        // SHARED_RING_INIT at `startIndex`.
        setHeader(BlockRingLayout.requestProducer, startIndex)
        setHeader(BlockRingLayout.responseProducer, startIndex)
        setHeader(BlockRingLayout.requestEvent, startIndex &+ 1)
        setHeader(BlockRingLayout.responseEvent, startIndex &+ 1)
    }

    func header(_ offset: Int) -> UInt32 { pages[0].loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    func setHeader(_ offset: Int, _ value: UInt32) { pages[0].storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    var transport: BlockFrontendTransport {
        BlockFrontendTransport(ringReferences: ringReferences, eventChannel: EventChannelPort(5))
    }

    /// A fresh granted data page.
    func dataPage() -> (GrantReference, UnsafeMutableRawPointer) {
        let ref = GrantReference(nextDataReference)
        nextDataReference += 1
        return (ref, grants.grant(domain, ref))
    }

    /// Queues a request (not yet visible: `publish`).
    func queue(_ request: BlockRingRequest) {
        var bytes = [UInt8](repeating: 0, count: BlockRequestLayout.size)
        bytes.withUnsafeMutableBytes { _ = request.encode(into: $0) }
        copy(bytes, toSlot: requestProducer)
        requestProducer &+= 1
    }

    /// RING_PUSH_REQUESTS: makes queued requests visible.
    func publish() { setHeader(BlockRingLayout.requestProducer, requestProducer) }

    /// Takes every response published; re-arms rsp_event (RING_FINAL_CHECK_FOR_RESPONSES).
    func responses() -> [BlockRingResponse] {
        let producer = header(BlockRingLayout.responseProducer)
        var out: [BlockRingResponse] = []
        while responseConsumer != producer {
            let bytes = slot(responseConsumer)
            if let r = bytes.withUnsafeBytes({ BlockRingResponse($0) }) { out.append(r) }
            responseConsumer &+= 1
        }
        setHeader(BlockRingLayout.responseEvent, responseConsumer &+ 1)
        return out
    }

    private func slotOffset(_ index: UInt32) -> Int { BlockRingLayout.slotOffset(index, ringSize: size) }

    private func copy(_ bytes: [UInt8], toSlot index: UInt32) {
        let start = slotOffset(index)
        for (i, b) in bytes.enumerated() {
            let o = start + i
            pages[o / 4096].storeBytes(of: b, toByteOffset: o % 4096, as: UInt8.self)
        }
    }

    private func slot(_ index: UInt32) -> [UInt8] {
        let start = slotOffset(index)
        return (0..<BlockResponseLayout.size).map { i in
            let o = start + i
            return pages[o / 4096].load(fromByteOffset: o % 4096, as: UInt8.self)
        }
    }
}

/// Bytes from a deterministic pattern (so misplaced sectors show).
func blockPattern(_ count: Int, seed: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBufferPointer { b in
        for i in 0..<count { b[i] = UInt8(truncatingIfNeeded: (i &* 31 &+ seed &* 101 &+ (i >> 9)) % 251) }
    }
    return out
}

extension BlockRingRequest {
    static func read(id: UInt64, sector: UInt64, _ segments: [BlockRequestSegment]) -> BlockRingRequest {
        .readWrite(operation: BlockRequestOperation.read.rawValue, segmentCount: UInt8(segments.count), handle: 0, id: id,
                   sectorNumber: sector, segments: segments)
    }
    static func write(id: UInt64, sector: UInt64, _ segments: [BlockRequestSegment]) -> BlockRingRequest {
        .readWrite(operation: BlockRequestOperation.write.rawValue, segmentCount: UInt8(segments.count), handle: 0, id: id,
                   sectorNumber: sector, segments: segments)
    }
    static func flush(id: UInt64) -> BlockRingRequest {
        .readWrite(operation: BlockRequestOperation.flushDiskCache.rawValue, segmentCount: 0, handle: 0, id: id, sectorNumber: 0,
                   segments: [])
    }
}

extension BlockRequestSegment {
    /// The whole 4 KiB page.
    static func page(_ ref: GrantReference) -> BlockRequestSegment {
        BlockRequestSegment(grant: ref, firstSector: 0, lastSector: 7)
    }
}
