import Synchronization
import XenABI

/// Why a block ring stopped being serviced.
public enum BlockRingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// req_prod is more than a ring ahead of the responses produced: a correct frontend
    /// cannot do that. Xen: RING_REQUEST_PROD_OVERFLOW ("Frontend provided bogus ring
    /// requests" in blkback, which then stops serving the ring).
    case requestIndex(responseProducer: UInt32, requestProducer: UInt32, ringSize: Int)

    public var description: String {
        switch self {
        case .requestIndex(let rsp, let req, let size):
            "block ring req_prod \(req) is \(req &- rsp) past rsp_prod \(rsp) (ring size \(size)): broken frontend"
        }
    }
}

/// The shared pages of a blkif ring seen from the backend, accessed the way a hostile
/// guest requires: indexes loaded once per use, requests copied out whole before they are
/// looked at (no double fetch), slot offsets masked into the ring, so no index can reach
/// outside the pages. The ring may span several separately mapped pages; a slot that
/// straddles two is copied in two pieces.
///
/// Fences sit where Xen's ring macros put barriers: after reading req_prod (no slot read
/// before it), before publishing rsp_prod (the guest sees the response first) and between
/// publishing an index and reading the other end's event index.
public struct BlockRing: @unchecked Sendable {
    /// The ring's pages in order, each 4096 bytes, mapped writable while in use.
    public let pages: [UnsafeMutableRawPointer]
    /// Slots: a power of two. Xen: RING_SIZE.
    public let size: Int

    /// Nil when there are no pages or too many for Xen's ring orders.
    public init?(pages: [UnsafeMutableRawPointer]) {
        guard !pages.isEmpty, pages.count <= 1 << BlockInterface.maxRingPageOrder else { return nil }
        self.pages = pages
        size = BlockRingLayout.ringSize(pages: pages.count)
    }

    private var header: UnsafeMutableRawPointer { pages[0] }
    private func load(_ offset: Int) -> UInt32 { header.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    private func store(_ offset: Int, _ value: UInt32) { header.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Xen: sring->req_prod
    public var requestProducer: UInt32 { load(BlockRingLayout.requestProducer) }
    /// Xen: sring->rsp_prod
    public var responseProducer: UInt32 { load(BlockRingLayout.responseProducer) }
    /// Xen: sring->rsp_event
    public var responseEvent: UInt32 { load(BlockRingLayout.responseEvent) }
    /// Xen: sring->req_event
    public var requestEvent: UInt32 { load(BlockRingLayout.requestEvent) }

    /// Copies the slot of `index` (112 bytes) into `destination`.
    public func copySlot(_ index: UInt32, into destination: UnsafeMutableRawBufferPointer) {
        var offset = BlockRingLayout.slotOffset(index, ringSize: size)
        var copied = 0
        let count = min(destination.count, BlockRingLayout.entrySize)
        guard let out = destination.baseAddress else { return }
        while copied < count {
            let page = offset / BlockRingLayout.pageSize
            let within = offset % BlockRingLayout.pageSize
            guard page < pages.count else { return }
            let n = min(count - copied, BlockRingLayout.pageSize - within)
            (out + copied).copyMemory(from: pages[page] + within, byteCount: n)
            copied += n
            offset += n
        }
    }

    /// Writes `bytes` (at most a slot) into the slot of `index`.
    public func writeSlot(_ index: UInt32, from bytes: UnsafeRawBufferPointer) {
        var offset = BlockRingLayout.slotOffset(index, ringSize: size)
        var written = 0
        let count = min(bytes.count, BlockRingLayout.entrySize)
        guard let source = bytes.baseAddress else { return }
        while written < count {
            let page = offset / BlockRingLayout.pageSize
            let within = offset % BlockRingLayout.pageSize
            guard page < pages.count else { return }
            let n = min(count - written, BlockRingLayout.pageSize - within)
            (pages[page] + within).copyMemory(from: source + written, byteCount: n)
            written += n
            offset += n
        }
    }

    /// Publishes rsp_prod and reports whether the frontend asked for an event.
    /// Xen: RING_PUSH_RESPONSES_AND_CHECK_NOTIFY.
    public func pushResponses(from old: UInt32, to new: UInt32) -> Bool {
        atomicMemoryFence(ordering: .sequentiallyConsistent)   // wmb: responses before the index
        store(BlockRingLayout.responseProducer, new)
        atomicMemoryFence(ordering: .sequentiallyConsistent)   // mb: index before reading rsp_event
        return BlockRingLayout.needsNotification(old: old, new: new, event: responseEvent)
    }

    /// Asks for an event when req_prod passes `consumer`, then returns req_prod as it is
    /// after that. Xen: the second half of RING_FINAL_CHECK_FOR_REQUESTS.
    public func armRequestEvent(consumer: UInt32) -> UInt32 {
        store(BlockRingLayout.requestEvent, consumer &+ 1)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return requestProducer
    }

    /// Reads req_prod with the read barrier that must follow it.
    public func readRequestProducer() -> UInt32 {
        let value = requestProducer
        atomicMemoryFence(ordering: .sequentiallyConsistent)   // rmb: no slot read before req_prod
        return value
    }
}

/// The backend's private ring state: where it consumes requests and produces responses.
/// Xen: `struct blkif_back_ring` (req_cons, rsp_prod_pvt). A value type; the owner keeps it
/// with the mapped ring.
public struct BlockBackRing: Sendable {
    public let ring: BlockRing
    /// Xen: req_cons
    public private(set) var requestConsumer: UInt32
    /// Xen: rsp_prod_pvt
    public private(set) var responseProducer: UInt32

    /// Attaches to a ring that may have carried traffic: both private indexes start at
    /// the shared rsp_prod. Xen: BACK_RING_ATTACH (blkback's xen_blkif_map).
    public init(attaching ring: BlockRing) {
        self.ring = ring
        let start = ring.responseProducer
        requestConsumer = start
        responseProducer = start
    }

    /// Requests waiting, with the producer index checked. Xen: RING_REQUEST_PROD_OVERFLOW.
    public func pendingRequests() -> Result<UInt32, BlockRingError> {
        let producer = ring.readRequestProducer()
        guard producer &- responseProducer <= UInt32(ring.size) else {
            return .failure(.requestIndex(responseProducer: responseProducer, requestProducer: producer,
                                          ringSize: ring.size))
        }
        return .success(producer &- requestConsumer)
    }

    /// Copies the next request out and consumes it; nil when responses owed fill the ring
    /// (Xen: RING_REQUEST_CONS_OVERFLOW) — the caller checked `pendingRequests` first.
    public mutating func takeRequest(into slot: UnsafeMutableRawBufferPointer) -> Bool {
        guard requestConsumer &- responseProducer < UInt32(ring.size) else { return false }
        ring.copySlot(requestConsumer, into: slot)
        requestConsumer &+= 1
        return true
    }

    /// Writes a response into the next slot (not yet visible to the guest).
    public mutating func putResponse(_ response: BlockRingResponse) {
        withUnsafeTemporaryAllocation(byteCount: BlockResponseLayout.size, alignment: 8) { buffer in
            response.encode(into: buffer)
            ring.writeSlot(responseProducer, from: UnsafeRawBufferPointer(buffer))
        }
        responseProducer &+= 1
    }

    /// Makes the responses written so far visible; true when the guest wants an event.
    public func pushResponses(publishedBefore old: UInt32) -> Bool {
        old == responseProducer ? false : ring.pushResponses(from: old, to: responseProducer)
    }

    /// Xen: RING_FINAL_CHECK_FOR_REQUESTS — true when requests are (still or again)
    /// waiting; otherwise req_event is armed so the next request raises an event.
    public func finalCheckForRequests() -> Bool {
        if ring.requestProducer != requestConsumer { return true }
        return ring.armRequestEvent(consumer: requestConsumer) != requestConsumer
    }
}
