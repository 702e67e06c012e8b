import XenABI
@testable import XenStore

/// Runs `body` with a zeroed, page-aligned 4 KiB store page.
func withRing<T>(_ body: (XenStoreRingInterface) throws -> T) rethrows -> T {
    let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    defer { page.deallocate() }
    return try body(XenStoreRingInterface(page))
}

/// The guest's end of a store ring, written the way Linux's xenbus does it.
final class GuestRing {
    let ring: XenStoreRingInterface
    private var assembler = XenStoreMessageAssembler()

    init(_ ring: XenStoreRingInterface) { self.ring = ring }

    func index(_ offset: Int) -> UInt32 { ring.base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    func setIndex(_ offset: Int, _ value: UInt32) { ring.base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Puts all four indexes at `value` (a ring that has already carried traffic).
    func setAllIndexes(_ value: UInt32) {
        for offset in [XenStoreRingLayout.requestConsumerOffset, XenStoreRingLayout.requestProducerOffset,
                       XenStoreRingLayout.responseConsumerOffset, XenStoreRingLayout.responseProducerOffset] {
            setIndex(offset, value)
        }
    }

    /// Writes as many of `bytes` as fit into the request ring; returns the count.
    @discardableResult
    func sendBytes(_ bytes: ArraySlice<UInt8>) -> Int {
        let consumer = index(XenStoreRingLayout.requestConsumerOffset)
        var producer = index(XenStoreRingLayout.requestProducerOffset)
        var sent = 0
        for byte in bytes {
            guard producer &- consumer < 1024 else { break }
            ring.base.storeBytes(of: byte, toByteOffset: XenStoreRingLayout.requestOffset + XenStoreRingLayout.mask(producer),
                                 as: UInt8.self)
            producer &+= 1
            sent += 1
        }
        setIndex(XenStoreRingLayout.requestProducerOffset, producer)
        return sent
    }

    func send(_ message: XenStoreMessage) {
        let bytes = message.encoded
        precondition(sendBytes(bytes[...]) == bytes.count, "request ring full")
    }

    /// Takes every response byte available.
    func receiveBytes(maximum: Int = Int.max) -> [UInt8] {
        var consumer = index(XenStoreRingLayout.responseConsumerOffset)
        let producer = index(XenStoreRingLayout.responseProducerOffset)
        var bytes: [UInt8] = []
        while consumer != producer, bytes.count < maximum {
            bytes.append(ring.base.load(fromByteOffset: XenStoreRingLayout.responseOffset + XenStoreRingLayout.mask(consumer),
                                        as: UInt8.self))
            consumer &+= 1
        }
        setIndex(XenStoreRingLayout.responseConsumerOffset, consumer)
        return bytes
    }

    /// Complete messages among the response bytes received so far.
    func receiveAll() -> [XenStoreMessage] {
        (try? assembler.feed(receiveBytes())) ?? []
    }
}
