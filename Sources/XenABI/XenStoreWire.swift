/// The xenstore wire protocol: message types, the `xsd_sockmsg` header, error names, limits
/// and the shared ring page. Xen: `public/io/xs_wire.h`, `docs/misc/xenstore.txt`.

/// A message type. Xen: `enum xsd_sockmsg_type`. A struct rather than an enum because the
/// value comes from the guest: unknown types must be representable (xenstored answers them
/// with ENOSYS).
public struct XenStoreMessageType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Xen: XS_CONTROL (formerly XS_DEBUG)
    public static let control = XenStoreMessageType(rawValue: 0)
    /// Xen: XS_DIRECTORY
    public static let directory = XenStoreMessageType(rawValue: 1)
    /// Xen: XS_READ
    public static let read = XenStoreMessageType(rawValue: 2)
    /// Xen: XS_GET_PERMS
    public static let getPermissions = XenStoreMessageType(rawValue: 3)
    /// Xen: XS_WATCH
    public static let watch = XenStoreMessageType(rawValue: 4)
    /// Xen: XS_UNWATCH
    public static let unwatch = XenStoreMessageType(rawValue: 5)
    /// Xen: XS_TRANSACTION_START
    public static let transactionStart = XenStoreMessageType(rawValue: 6)
    /// Xen: XS_TRANSACTION_END
    public static let transactionEnd = XenStoreMessageType(rawValue: 7)
    /// Xen: XS_INTRODUCE
    public static let introduce = XenStoreMessageType(rawValue: 8)
    /// Xen: XS_RELEASE
    public static let release = XenStoreMessageType(rawValue: 9)
    /// Xen: XS_GET_DOMAIN_PATH
    public static let getDomainPath = XenStoreMessageType(rawValue: 10)
    /// Xen: XS_WRITE
    public static let write = XenStoreMessageType(rawValue: 11)
    /// Xen: XS_MKDIR
    public static let mkdir = XenStoreMessageType(rawValue: 12)
    /// Xen: XS_RM
    public static let remove = XenStoreMessageType(rawValue: 13)
    /// Xen: XS_SET_PERMS
    public static let setPermissions = XenStoreMessageType(rawValue: 14)
    /// Xen: XS_WATCH_EVENT (server to client only)
    public static let watchEvent = XenStoreMessageType(rawValue: 15)
    /// Xen: XS_ERROR (reply only)
    public static let error = XenStoreMessageType(rawValue: 16)
    /// Xen: XS_IS_DOMAIN_INTRODUCED
    public static let isDomainIntroduced = XenStoreMessageType(rawValue: 17)
    /// Xen: XS_RESUME
    public static let resume = XenStoreMessageType(rawValue: 18)
    /// Xen: XS_SET_TARGET
    public static let setTarget = XenStoreMessageType(rawValue: 19)
    /// Xen: XS_RESTRICT (removed; the number stays reserved)
    public static let restrict = XenStoreMessageType(rawValue: 20)
    /// Xen: XS_RESET_WATCHES
    public static let resetWatches = XenStoreMessageType(rawValue: 21)
    /// Xen: XS_DIRECTORY_PART
    public static let directoryPart = XenStoreMessageType(rawValue: 22)
    /// Xen: XS_GET_FEATURE
    public static let getFeature = XenStoreMessageType(rawValue: 23)
    /// Xen: XS_SET_FEATURE
    public static let setFeature = XenStoreMessageType(rawValue: 24)
    /// Xen: XS_GET_QUOTA
    public static let getQuota = XenStoreMessageType(rawValue: 25)
    /// Xen: XS_SET_QUOTA
    public static let setQuota = XenStoreMessageType(rawValue: 26)
    /// Xen: XS_INVALID — guaranteed never to be a valid type.
    public static let invalid = XenStoreMessageType(rawValue: 0xFFFF)

    private static let names: [UInt32: String] = [
        0: "CONTROL", 1: "DIRECTORY", 2: "READ", 3: "GET_PERMS", 4: "WATCH", 5: "UNWATCH",
        6: "TRANSACTION_START", 7: "TRANSACTION_END", 8: "INTRODUCE", 9: "RELEASE",
        10: "GET_DOMAIN_PATH", 11: "WRITE", 12: "MKDIR", 13: "RM", 14: "SET_PERMS",
        15: "WATCH_EVENT", 16: "ERROR", 17: "IS_DOMAIN_INTRODUCED", 18: "RESUME",
        19: "SET_TARGET", 20: "RESTRICT", 21: "RESET_WATCHES", 22: "DIRECTORY_PART",
        23: "GET_FEATURE", 24: "SET_FEATURE", 25: "GET_QUOTA", 26: "SET_QUOTA", 0xFFFF: "INVALID",
    ]

    /// The C name without its `XS_` prefix, or the number for an unknown type.
    public var description: String { Self.names[rawValue] ?? "type \(rawValue)" }
}

/// The header in front of every message in both directions. Xen: `struct xsd_sockmsg`.
/// Four little-endian u32 fields; `len` payload bytes follow.
public struct XenStoreHeader: Hashable, Sendable {
    /// Xen: xsd_sockmsg.type
    public var type: XenStoreMessageType
    /// Xen: xsd_sockmsg.req_id — chosen by the client, echoed in the reply.
    public var requestID: UInt32
    /// Xen: xsd_sockmsg.tx_id — 0 when the request is not part of a transaction.
    public var transactionID: UInt32
    /// Xen: xsd_sockmsg.len — payload length.
    public var length: UInt32

    /// Xen: sizeof(struct xsd_sockmsg)
    public static let size = 16
    public static let typeOffset = 0, requestIDOffset = 4, transactionIDOffset = 8, lengthOffset = 12

    public init(type: XenStoreMessageType, requestID: UInt32, transactionID: UInt32, length: UInt32) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.length = length
    }

    /// Decodes the first 16 bytes of `bytes`; nil when fewer are given.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        var words = [UInt32](repeating: 0, count: 4)
        var index = bytes.startIndex
        for word in 0..<4 {
            var value: UInt32 = 0
            for shift in stride(from: 0, to: 32, by: 8) {
                value |= UInt32(bytes[index]) << UInt32(shift)
                index = bytes.index(after: index)
            }
            words[word] = value
        }
        self.init(type: XenStoreMessageType(rawValue: words[0]), requestID: words[1],
                  transactionID: words[2], length: words[3])
    }

    /// The 16 header bytes, little-endian.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        for word in [type.rawValue, requestID, transactionID, length] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return out
    }
}

/// Protocol limits. Xen: `public/io/xs_wire.h`.
public enum XenStoreLimits {
    /// Xen: XENSTORE_PAYLOAD_MAX — largest `len` in either direction; more kills the connection.
    public static let payloadMax = 4096
    /// Xen: XENSTORE_ABS_PATH_MAX
    public static let absolutePathMax = 3072
    /// Xen: XENSTORE_REL_PATH_MAX
    public static let relativePathMax = 2048
}

/// Error names carried by XS_ERROR replies, in Xen's table order (`xsd_errors[]`). xenstored
/// sends "EINVAL" (the first entry) for any errno missing from the table.
public enum XenStoreErrorNames {
    /// Xen: xsd_errors[] — EINVAL must stay first.
    public static let table: [(XenError, String)] = [
        (.EINVAL, "EINVAL"), (.EACCES, "EACCES"), (.EEXIST, "EEXIST"), (.EISDIR, "EISDIR"),
        (.ENOENT, "ENOENT"), (.ENOMEM, "ENOMEM"), (.ENOSPC, "ENOSPC"), (.EIO, "EIO"),
        (.ENOTEMPTY, "ENOTEMPTY"), (.ENOSYS, "ENOSYS"), (.EROFS, "EROFS"), (.EBUSY, "EBUSY"),
        (.EAGAIN, "EAGAIN"), (.EISCONN, "EISCONN"), (.E2BIG, "E2BIG"), (.EPERM, "EPERM"),
    ]

    /// The string xenstored puts on the wire for `error`.
    public static func name(for error: XenError) -> String {
        for (known, name) in table where known == error { return name }
        return "EINVAL"
    }

    /// The errno named by an XS_ERROR payload (without its NUL), if it is in the table.
    public static func error(named name: String) -> XenError? {
        for (error, known) in table where known == name { return error }
        return nil
    }
}

/// The shared page between a guest and xenstored. Xen: `struct xenstore_domain_interface`
/// (`io/xs_wire.h`). Two byte-stream rings of 1024 bytes with free-running u32 indexes.
public enum XenStoreRingLayout {
    /// Xen: XENSTORE_RING_SIZE
    public static let ringSize = 1024
    /// Xen: xenstore_domain_interface.req — guest to xenstored.
    public static let requestOffset = 0
    /// Xen: xenstore_domain_interface.rsp — replies and watch events.
    public static let responseOffset = 1024
    /// Xen: xenstore_domain_interface.req_cons
    public static let requestConsumerOffset = 2048
    /// Xen: xenstore_domain_interface.req_prod
    public static let requestProducerOffset = 2052
    /// Xen: xenstore_domain_interface.rsp_cons
    public static let responseConsumerOffset = 2056
    /// Xen: xenstore_domain_interface.rsp_prod
    public static let responseProducerOffset = 2060
    /// Xen: xenstore_domain_interface.server_features
    public static let serverFeaturesOffset = 2064
    /// Xen: xenstore_domain_interface.connection
    public static let connectionOffset = 2068
    /// Xen: xenstore_domain_interface.error
    public static let errorOffset = 2072
    /// Xen: xenstore_domain_interface.evtchn_port
    public static let eventChannelPortOffset = 2076
    /// Xen: sizeof(struct xenstore_domain_interface)
    public static let size = 2080

    /// Xen: MASK_XENSTORE_IDX
    public static func mask(_ index: UInt32) -> Int { Int(index & UInt32(ringSize - 1)) }
}

/// Values of `xenstore_domain_interface.connection`.
public enum XenStoreConnectionState: UInt32, Sendable {
    /// Xen: XENSTORE_CONNECTED — the steady state.
    case connected = 0
    /// Xen: XENSTORE_RECONNECT — the guest asked for a reconnection.
    case reconnect = 1
}

/// Values of `xenstore_domain_interface.error`: why xenstored stopped talking to the guest.
public enum XenStoreRingErrorCode: UInt32, Sendable {
    /// Xen: XENSTORE_ERROR_NONE
    case none = 0
    /// Xen: XENSTORE_ERROR_COMM — communication problem.
    case communication = 1
    /// Xen: XENSTORE_ERROR_RINGIDX — invalid ring index.
    case ringIndex = 2
    /// Xen: XENSTORE_ERROR_PROTO — protocol violation (e.g. payload too long).
    case protocolViolation = 3
}

/// Bits of `xenstore_domain_interface.server_features`.
public enum XenStoreServerFeature {
    /// Xen: XENSTORE_SERVER_FEATURE_RECONNECTION
    public static let reconnection: UInt32 = 1
    /// Xen: XENSTORE_SERVER_FEATURE_ERROR — the `error` field is maintained.
    public static let error: UInt32 = 2
    /// Xen: XENSTORE_SERVER_FEATURE_WATCHDEPTH
    public static let watchDepth: UInt32 = 4
}
