import XenABI

/// Why a connection's byte stream can no longer be trusted. xenstored stops talking to such a
/// connection ("ignore_connection") and records the reason in the ring's `error` field.
public enum XenStoreStreamError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A header announced more than XENSTORE_PAYLOAD_MAX payload bytes. Xen: XENSTORE_ERROR_PROTO.
    case payloadTooLong(UInt32)
    /// The ring's producer index ran ahead of its consumer by more than the ring size.
    /// Xen: XENSTORE_ERROR_RINGIDX.
    case ringIndex(consumer: UInt32, producer: UInt32)

    /// The value xenstored leaves in `xenstore_domain_interface.error`.
    public var ringErrorCode: XenStoreRingErrorCode {
        switch self {
        case .payloadTooLong: return .protocolViolation
        case .ringIndex: return .ringIndex
        }
    }

    public var description: String {
        switch self {
        case .payloadTooLong(let length):
            return "message payload of \(length) bytes exceeds XENSTORE_PAYLOAD_MAX (4096)"
        case .ringIndex(let consumer, let producer):
            return "ring producer \(producer) is more than 1024 bytes ahead of consumer \(consumer)"
        }
    }
}

/// Reassembles messages from a byte stream that may deliver them in arbitrary pieces, as
/// xenstored's `handle_input` does: first the 16-byte header, then exactly `len` payload
/// bytes. A header with `len` > 4096 is a protocol violation that poisons the stream.
///
/// States: `.header(partial)` → (16 bytes, len ≤ 4096) → `.payload(header, partial)` →
/// (len bytes) → message, back to `.header`. Any state → `.failed` on an oversized length;
/// `.failed` is final.
public struct XenStoreMessageAssembler: Sendable {
    private var headerBytes: [UInt8] = []
    private var header: XenStoreHeader?
    private var payload: [UInt8] = []
    public private(set) var failure: XenStoreStreamError?

    public init() {
        headerBytes.reserveCapacity(XenStoreHeader.size)
    }

    /// How many more bytes complete the current stage (header or payload); 0 once failed.
    /// A transport should read at most this many bytes before calling `append`, so that it
    /// never consumes more than one message at a time.
    public var bytesWanted: Int {
        if failure != nil { return 0 }
        if let header { return Int(header.length) - payload.count }
        return XenStoreHeader.size - headerBytes.count
    }

    /// True while part of a message has been received.
    public var isInsideMessage: Bool { header != nil || !headerBytes.isEmpty }

    /// Feeds at most `bytesWanted` bytes. Returns the message they complete, if any.
    /// Extra bytes beyond `bytesWanted` are a caller error and are rejected without effect.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(XenStoreStreamError) -> XenStoreMessage? {
        if let failure { throw failure }
        guard bytes.count <= bytesWanted else { return nil }
        if let header {
            payload.append(contentsOf: bytes)
            if payload.count == Int(header.length) { return finish(header) }
            return nil
        }
        headerBytes.append(contentsOf: bytes)
        guard headerBytes.count == XenStoreHeader.size, let parsed = XenStoreHeader(bytes: headerBytes) else {
            return nil
        }
        guard parsed.length <= UInt32(XenStoreLimits.payloadMax) else {
            let error = XenStoreStreamError.payloadTooLong(parsed.length)
            failure = error
            throw error
        }
        header = parsed
        payload.reserveCapacity(Int(parsed.length))
        if parsed.length == 0 { return finish(parsed) }
        return nil
    }

    /// Feeds an arbitrary chunk (a socket read), returning every message it completes.
    /// On a protocol violation the messages completed before it are lost with the stream,
    /// as they are when xenstored drops a socket.
    public mutating func feed(_ bytes: [UInt8]) throws(XenStoreStreamError) -> [XenStoreMessage] {
        if let failure { throw failure }
        var messages: [XenStoreMessage] = []
        var offset = 0
        while offset < bytes.count {
            let take = min(bytesWanted, bytes.count - offset)
            if take == 0 { break }
            if let message = try append(bytes[offset..<(offset + take)]) { messages.append(message) }
            offset += take
        }
        return messages
    }

    /// Drops any partial message (connection reset by INTRODUCE).
    public mutating func reset() {
        self = XenStoreMessageAssembler()
    }

    private mutating func finish(_ header: XenStoreHeader) -> XenStoreMessage {
        let message = XenStoreMessage(type: header.type, requestID: header.requestID,
                                      transactionID: header.transactionID, payload: payload)
        self.header = nil
        headerBytes.removeAll(keepingCapacity: true)
        payload = []
        return message
    }
}
