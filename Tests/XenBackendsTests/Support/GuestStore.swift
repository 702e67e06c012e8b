import XenABI
import XenStore

/// The guest's end of a xenstore page, written the way Linux's xenbus does it.
final class GuestStore {
    let base: UnsafeMutableRawPointer
    private var assembler = XenStoreMessageAssembler()
    private var nextRequest: UInt32 = 1

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    func index(_ offset: Int) -> UInt32 { base.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    func setIndex(_ offset: Int, _ value: UInt32) { base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Writes as many of `bytes` as fit into the request ring; returns the count.
    @discardableResult
    func sendBytes(_ bytes: [UInt8]) -> Int {
        let consumer = index(XenStoreRingLayout.requestConsumerOffset)
        var producer = index(XenStoreRingLayout.requestProducerOffset)
        var sent = 0
        for byte in bytes {
            guard producer &- consumer < UInt32(XenStoreRingLayout.ringSize) else { break }
            base.storeBytes(of: byte, toByteOffset: XenStoreRingLayout.requestOffset + XenStoreRingLayout.mask(producer),
                            as: UInt8.self)
            producer &+= 1
            sent += 1
        }
        setIndex(XenStoreRingLayout.requestProducerOffset, producer)
        return sent
    }

    /// Sends a request (a fresh req_id) and returns its id.
    @discardableResult
    func send(_ type: XenStoreMessageType, _ strings: [String], value: String? = nil) -> UInt32 {
        let id = nextRequest
        nextRequest += 1
        var payload: [UInt8] = []
        for s in strings { payload += Array(s.utf8) + [0] }
        if let value { payload += Array(value.utf8) }
        sendBytes(XenStoreMessage(type: type, requestID: id, payload: payload).encoded)
        return id
    }

    /// Complete messages among the response bytes available.
    func receiveAll() -> [XenStoreMessage] {
        var consumer = index(XenStoreRingLayout.responseConsumerOffset)
        let producer = index(XenStoreRingLayout.responseProducerOffset)
        var bytes: [UInt8] = []
        while consumer != producer {
            bytes.append(base.load(fromByteOffset: XenStoreRingLayout.responseOffset + XenStoreRingLayout.mask(consumer),
                                   as: UInt8.self))
            consumer &+= 1
        }
        setIndex(XenStoreRingLayout.responseConsumerOffset, consumer)
        return (try? assembler.feed(bytes)) ?? []
    }
}

extension XenStoreMessage {
    var text: String { String(decoding: payload, as: UTF8.self) }
}
