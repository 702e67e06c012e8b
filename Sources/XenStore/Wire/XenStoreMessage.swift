import XenABI

/// One complete xenstore message: the `xsd_sockmsg` header fields and the payload bytes.
/// The header's `len` is implied by `payload.count`.
public struct XenStoreMessage: Hashable, Sendable, CustomStringConvertible {
    public var type: XenStoreMessageType
    public var requestID: UInt32
    public var transactionID: UInt32
    public var payload: [UInt8]

    public init(type: XenStoreMessageType, requestID: UInt32 = 0, transactionID: UInt32 = 0,
                payload: [UInt8] = []) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.payload = payload
    }

    /// A request whose payload is `strings`, each followed by a NUL (the usual shape).
    public init(type: XenStoreMessageType, requestID: UInt32 = 0, transactionID: UInt32 = 0,
                strings: [String]) {
        var payload: [UInt8] = []
        for string in strings {
            payload.append(contentsOf: string.utf8)
            payload.append(0)
        }
        self.init(type: type, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    public var header: XenStoreHeader {
        XenStoreHeader(type: type, requestID: requestID, transactionID: transactionID,
                       length: UInt32(truncatingIfNeeded: payload.count))
    }

    /// Header followed by payload, ready for a ring or a socket.
    public var encoded: [UInt8] { header.bytes + payload }

    /// The NUL-terminated strings of the payload (bytes after the last NUL are dropped).
    public var strings: [String] {
        XenStorePayload.strings(payload).map { String(decoding: $0, as: UTF8.self) }
    }

    /// For an XS_ERROR reply, the error it names.
    public var error: XenError? {
        guard type == .error, let name = strings.first else { return nil }
        return XenStoreErrorNames.error(named: name)
    }

    public var description: String {
        let shown = payload.map { $0 == 0 ? "|" : (($0 >= 0x20 && $0 < 0x7F) ? String(UnicodeScalar($0)) : "?") }
        return "\(type) req \(requestID) tx \(transactionID) \"\(shown.joined())\""
    }
}

/// Helpers for the C-string conventions of xenstore payloads, matching xenstored's
/// `get_string`, `get_strings`, `onearg`, `xenstore_count_strings` and libc's `atoi`.
enum XenStorePayload {
    /// Every NUL-terminated string in order; trailing bytes without a NUL are ignored.
    static func strings(_ payload: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        for index in payload.indices where payload[index] == 0 {
            result.append(payload[start..<index])
            start = index + 1
        }
        return result
    }

    /// Xen `onearg`: the payload must be exactly one string with its NUL at the very end.
    static func oneArgument(_ payload: [UInt8]) -> ArraySlice<UInt8>? {
        guard let last = payload.last, last == 0 else { return nil }
        guard let firstNul = payload.firstIndex(of: 0), firstNul == payload.count - 1 else { return nil }
        return payload[0..<firstNul]
    }

    /// Xen `xenstore_count_strings`: the number of NUL bytes.
    static func nulCount(_ payload: [UInt8]) -> Int {
        payload.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
    }

    /// libc `atoi` as xenstored uses it: leading blanks, an optional sign, decimal digits;
    /// anything else stops the scan. Wraps like the C implementations do instead of trapping.
    static func atoi(_ bytes: some Collection<UInt8>) -> Int32 {
        var iterator = bytes.makeIterator()
        var current = iterator.next()
        while let byte = current, byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) { current = iterator.next() }
        var negative = false
        if let byte = current, byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
            negative = byte == UInt8(ascii: "-")
            current = iterator.next()
        }
        var value: Int32 = 0
        while let byte = current, byte >= 0x30, byte <= 0x39 {
            value = value &* 10 &+ Int32(byte - 0x30)
            current = iterator.next()
        }
        return negative ? 0 &- value : value
    }

    /// `atoi` reinterpreted as the `unsigned int` xenstored stores it in.
    static func atou(_ bytes: some Collection<UInt8>) -> UInt32 {
        UInt32(bitPattern: atoi(bytes))
    }

    /// Decimal digits (after an optional sign) as a 64-bit number, wrapping like `strtoull`
    /// does for negative input; used for frame numbers, which may exceed 32 bits.
    static func strtoull(_ bytes: some Collection<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        var negative = false
        var started = false
        for byte in bytes {
            if !started && (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) {
                negative = byte == UInt8(ascii: "-")
                started = true
                continue
            }
            guard byte >= 0x30, byte <= 0x39 else { break }
            started = true
            value = value &* 10 &+ UInt64(byte - 0x30)
        }
        return negative ? 0 &- value : value
    }

    static func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// `strings` each followed by a NUL.
    static func joined(_ strings: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for string in strings {
            out.append(contentsOf: string.utf8)
            out.append(0)
        }
        return out
    }
}
