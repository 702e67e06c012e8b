import Synchronization
import XenABI

/// Access to a guest's xenstore page (`struct xenstore_domain_interface`, 2080 bytes at the
/// start of the page) from the xenstored side, done the way a hostile guest requires:
/// each index is read once per operation, checked (`prod - cons` may never exceed the
/// 1024-byte ring), and the bytes are copied out before use. A bad index is reported as
/// `XenStoreStreamError.ringIndex`, never a trap and never an access outside the page.
///
/// The guest runs concurrently on other threads: loads and stores go through unaligned
/// raw-memory accessors, with full fences where Xen places `xen_mb()`.
public struct XenStoreRingInterface: @unchecked Sendable {
    /// Start of the page. Must stay mapped, writable and at least 2080 bytes long while used.
    public let base: UnsafeMutableRawPointer

    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    private func load(_ offset: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    private func store(_ offset: Int, _ value: UInt32) { base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Xen: req_cons
    public var requestConsumer: UInt32 { load(XenStoreRingLayout.requestConsumerOffset) }
    /// Xen: req_prod
    public var requestProducer: UInt32 { load(XenStoreRingLayout.requestProducerOffset) }
    /// Xen: rsp_cons
    public var responseConsumer: UInt32 { load(XenStoreRingLayout.responseConsumerOffset) }
    /// Xen: rsp_prod
    public var responseProducer: UInt32 { load(XenStoreRingLayout.responseProducerOffset) }
    /// Xen: server_features
    public var serverFeatures: UInt32 { load(XenStoreRingLayout.serverFeaturesOffset) }
    /// Xen: connection
    public var connectionState: UInt32 { load(XenStoreRingLayout.connectionOffset) }
    /// Xen: error
    public var errorCode: UInt32 { load(XenStoreRingLayout.errorOffset) }

    /// Xen `check_indexes`.
    static func indexesValid(consumer: UInt32, producer: UInt32) -> Bool {
        producer &- consumer <= UInt32(XenStoreRingLayout.ringSize)
    }

    /// Unread request bytes (0 when the indexes are bad; `readRequests` reports that).
    /// Xen `domain_can_read`.
    public var pendingRequestBytes: Int {
        let consumer = requestConsumer, producer = requestProducer
        return Self.indexesValid(consumer: consumer, producer: producer) ? Int(producer &- consumer) : 0
    }

    /// Free response bytes. Xen `domain_can_write` (true while not full).
    public var freeResponseBytes: Int {
        let consumer = responseConsumer, producer = responseProducer
        guard Self.indexesValid(consumer: consumer, producer: producer) else { return 0 }
        return XenStoreRingLayout.ringSize - Int(producer &- consumer)
    }

    /// Copies up to `maximum` request bytes out of the ring and advances req_cons.
    /// Xen `readchn` (both chunks of a wrapped region in one call).
    public func readRequests(maximum: Int) -> Result<[UInt8], XenStoreStreamError> {
        let consumer = requestConsumer
        let producer = requestProducer
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard Self.indexesValid(consumer: consumer, producer: producer) else {
            return .failure(.ringIndex(consumer: consumer, producer: producer))
        }
        let count = min(Int(producer &- consumer), max(maximum, 0))
        guard count > 0 else { return .success([]) }
        var bytes = [UInt8](repeating: 0, count: count)
        let ring = XenStoreRingLayout.ringSize
        let start = XenStoreRingLayout.mask(consumer)
        let first = min(count, ring - start)
        bytes.withUnsafeMutableBytes { out in
            guard let destination = out.baseAddress else { return }
            destination.copyMemory(from: base + XenStoreRingLayout.requestOffset + start, byteCount: first)
            if count > first {
                (destination + first).copyMemory(from: base + XenStoreRingLayout.requestOffset, byteCount: count - first)
            }
        }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        store(XenStoreRingLayout.requestConsumerOffset, consumer &+ UInt32(count))
        return .success(bytes)
    }

    /// Copies as many of `bytes` as fit into the response ring and advances rsp_prod;
    /// returns how many were written. Xen `writechn`.
    public func writeResponses(_ bytes: ArraySlice<UInt8>) -> Result<Int, XenStoreStreamError> {
        let consumer = responseConsumer
        let producer = responseProducer
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard Self.indexesValid(consumer: consumer, producer: producer) else {
            return .failure(.ringIndex(consumer: consumer, producer: producer))
        }
        let ring = XenStoreRingLayout.ringSize
        let count = min(bytes.count, ring - Int(producer &- consumer))
        guard count > 0 else { return .success(0) }
        let start = XenStoreRingLayout.mask(producer)
        let first = min(count, ring - start)
        bytes.withUnsafeBytes { source in
            guard let origin = source.baseAddress else { return }
            (base + XenStoreRingLayout.responseOffset + start).copyMemory(from: origin, byteCount: first)
            if count > first {
                (base + XenStoreRingLayout.responseOffset).copyMemory(from: origin + first, byteCount: count - first)
            }
        }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        store(XenStoreRingLayout.responseProducerOffset, producer &+ UInt32(count))
        return .success(count)
    }

    /// Prepares the page when a domain is introduced: advertises `features`, zeroes the four
    /// indexes and the error, and answers a pending reconnection request. Xen:
    /// `domain_conn_reset` + the server_features / XENSTORE_RECONNECT handling of INTRODUCE.
    public func attach(features: UInt32 = XenStoreServerFeature.error) {
        for offset in [XenStoreRingLayout.requestConsumerOffset, XenStoreRingLayout.requestProducerOffset,
                       XenStoreRingLayout.responseConsumerOffset, XenStoreRingLayout.responseProducerOffset,
                       XenStoreRingLayout.errorOffset] {
            store(offset, 0)
        }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        store(XenStoreRingLayout.serverFeaturesOffset, features)
        if connectionState == XenStoreConnectionState.reconnect.rawValue {
            store(XenStoreRingLayout.connectionOffset, XenStoreConnectionState.connected.rawValue)
        }
    }

    /// Records why the server stopped serving the ring. Xen: `ignore_connection`.
    public func markBroken(_ code: XenStoreRingErrorCode) {
        store(XenStoreRingLayout.errorOffset, code.rawValue)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }
}
