import XenABI

/// Identifies one client connection of the store: a guest's ring (created by INTRODUCE) or a
/// local dom0 client (a backend, the toolstack, `kite xenstore`).
public struct XenStoreConnectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: XenStoreConnectionID, b: XenStoreConnectionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "xs-conn \(rawValue)" }
}

/// What INTRODUCE asks the owner to do for a guest: map its store page, bind the event
/// channel, and (re)start the ring — the indexes are zeroed and the connection flag set to
/// CONNECTED, as xenstored's `domain_conn_reset` does on every INTRODUCE.
public struct XenStoreDomainAttachment: Hashable, Sendable {
    public var domain: DomainID
    public var connection: XenStoreConnectionID
    /// The guest's unbound event-channel port for the store.
    public var port: EventChannelPort
    /// The frame number from the request (xenstored parses and ignores it, mapping the
    /// page through the reserved grant GNTTAB_RESERVED_XENSTORE instead).
    public var frame: UInt64
    /// The domain was already introduced: keep the mapping, rebind the port, reset the ring.
    public var isReintroduction: Bool
}

/// Effects of a request, in the order xenstored performs them. The owner routes replies and
/// events to the connections' transports and performs the domain effects.
public enum XenStoreAction: Hashable, Sendable {
    /// A reply to the request (same type or ERROR, same req_id and tx_id).
    case reply(XenStoreConnectionID, XenStoreMessage)
    /// A watch fired: send XS_WATCH_EVENT `path\0token\0` with req_id = tx_id = 0.
    case watchEvent(XenStoreConnectionID, path: String, token: [UInt8])
    /// INTRODUCE succeeded: attach the guest's ring.
    case attachDomain(XenStoreDomainAttachment)
    /// The domain's connection is gone (RELEASE or destruction): unmap its page and unbind
    /// its port; drop any queued output.
    case detachDomain(DomainID, XenStoreConnectionID)
    /// CONTROL `print`: text for the log.
    case log(String)

    /// The connection a reply or event goes to.
    public var connection: XenStoreConnectionID? {
        switch self {
        case .reply(let connection, _), .watchEvent(let connection, _, _): return connection
        case .attachDomain, .detachDomain, .log: return nil
        }
    }

    /// The wire message of a reply or event.
    public var message: XenStoreMessage? {
        switch self {
        case .reply(_, let message): return message
        case .watchEvent(_, let path, let token):
            return XenStoreMessage(type: .watchEvent, payload: XenStoreServer.eventPayload(path: path, token: token))
        case .attachDomain, .detachDomain, .log: return nil
        }
    }
}
