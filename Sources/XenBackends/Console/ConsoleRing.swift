import Synchronization

/// Why a console ring stopped being serviced: an index pair a correct frontend cannot
/// produce (the producer more than the ring size ahead of the consumer).
public enum ConsoleRingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// out_prod − out_cons exceeds the 2048-byte output ring.
    case outputIndex(consumer: UInt32, producer: UInt32)
    /// in_prod − in_cons exceeds the 1024-byte input ring.
    case inputIndex(consumer: UInt32, producer: UInt32)

    public var description: String {
        switch self {
        case .outputIndex(let c, let p):
            "console output ring indexes out_cons \(c), out_prod \(p) are \(p &- c) apart (ring size 2048): broken frontend"
        case .inputIndex(let c, let p):
            "console input ring indexes in_cons \(c), in_prod \(p) are \(p &- c) apart (ring size 1024): broken frontend"
        }
    }
}

/// A guest's console page seen from the backend, accessed the way a hostile guest requires:
/// each index is loaded once per operation, checked before use, masked into the ring, and
/// the bytes are copied out before anything looks at them. A bad index is reported, never
/// a trap and never an access outside the page.
///
/// The guest runs concurrently on other threads: full fences sit where xenconsoled puts
/// `xen_mb()`/`xen_wmb()` — after reading the indexes (so no data read precedes them) and
/// before publishing a new index (so the guest sees the data or space first).
public struct ConsoleRing: @unchecked Sendable {
    /// Start of the page: mapped, writable and at least 3092 bytes long while used.
    public let base: UnsafeMutableRawPointer

    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    private func load(_ offset: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    private func store(_ offset: Int, _ value: UInt32) { base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Xen: out_cons
    public var outputConsumer: UInt32 { load(ConsoleRingLayout.outputConsumerOffset) }
    /// Xen: out_prod
    public var outputProducer: UInt32 { load(ConsoleRingLayout.outputProducerOffset) }
    /// Xen: in_cons
    public var inputConsumer: UInt32 { load(ConsoleRingLayout.inputConsumerOffset) }
    /// Xen: in_prod
    public var inputProducer: UInt32 { load(ConsoleRingLayout.inputProducerOffset) }
    /// Xen: connection
    public var connection: UInt8 { base.load(fromByteOffset: ConsoleRingLayout.connectionOffset, as: UInt8.self) }

    /// Unread output bytes; 0 when the indexes are bad (`readOutput` reports that).
    public var pendingOutputBytes: Int {
        let consumer = outputConsumer, producer = outputProducer
        let size = producer &- consumer
        return size <= UInt32(ConsoleRingLayout.outputSize) ? Int(size) : 0
    }

    /// Hands up to `maximum` bytes of guest output to `consume` (in at most two pieces: up
    /// to the end of `out[]`, then from its start), then advances out_cons past them.
    /// Returns how many bytes were consumed. Xen: xenconsoled `buffer_append`.
    public func readOutput(maximum: Int, _ consume: (UnsafeRawBufferPointer) -> Void) -> Result<Int, ConsoleRingError> {
        let consumer = outputConsumer
        let producer = outputProducer
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let size = producer &- consumer
        guard size <= UInt32(ConsoleRingLayout.outputSize) else {
            return .failure(.outputIndex(consumer: consumer, producer: producer))
        }
        let count = min(Int(size), max(maximum, 0))
        guard count > 0 else { return .success(0) }
        let start = ConsoleRingLayout.maskOutput(consumer)
        let first = min(count, ConsoleRingLayout.outputSize - start)
        let ring = UnsafeRawPointer(base + ConsoleRingLayout.outputOffset)
        consume(UnsafeRawBufferPointer(start: ring + start, count: first))
        if count > first { consume(UnsafeRawBufferPointer(start: ring, count: count - first)) }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        store(ConsoleRingLayout.outputConsumerOffset, consumer &+ UInt32(count))
        return .success(count)
    }

    /// Free bytes in the input ring; 0 when the indexes are bad.
    public var freeInputBytes: Int {
        let consumer = inputConsumer, producer = inputProducer
        let size = producer &- consumer
        return size <= UInt32(ConsoleRingLayout.inputSize) ? ConsoleRingLayout.inputSize - Int(size) : 0
    }

    /// Copies as many of `bytes` as fit into `in[]` and advances in_prod; returns how many.
    /// Xen: xenconsoled `handle_tty_read` (flow control: never more than the free space).
    public func writeInput(_ bytes: UnsafeRawBufferPointer) -> Result<Int, ConsoleRingError> {
        let consumer = inputConsumer
        let producer = inputProducer
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let size = producer &- consumer
        guard size <= UInt32(ConsoleRingLayout.inputSize) else {
            return .failure(.inputIndex(consumer: consumer, producer: producer))
        }
        let count = min(bytes.count, ConsoleRingLayout.inputSize - Int(size))
        guard count > 0, let source = bytes.baseAddress else { return .success(0) }
        let start = ConsoleRingLayout.maskInput(producer)
        let first = min(count, ConsoleRingLayout.inputSize - start)
        let ring = base + ConsoleRingLayout.inputOffset
        (ring + start).copyMemory(from: source, byteCount: first)
        if count > first { ring.copyMemory(from: source + first, byteCount: count - first) }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        store(ConsoleRingLayout.inputProducerOffset, producer &+ UInt32(count))
        return .success(count)
    }

    /// Tells the frontend whether the ring is serviced. Xen: `connection`, set to
    /// XENCONSOLE_CONNECTED by the console daemon when it starts servicing the ring.
    public func setConnection(_ state: ConsoleConnectionState) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        base.storeBytes(of: state.rawValue, toByteOffset: ConsoleRingLayout.connectionOffset, as: UInt8.self)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }
}
