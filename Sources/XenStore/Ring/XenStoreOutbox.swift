import XenABI

/// A connection's queue of encoded replies and watch events, written out in order and in as
/// many pieces as the transport accepts. Like xenstored's out_list it drops a watch event
/// identical to one still queued (except for `@` special paths) and counts the replies not
/// yet fully sent (the "outstanding" quota stops reading requests while too many wait).
public struct XenStoreOutbox: Sendable {
    private struct Entry: Sendable {
        var bytes: [UInt8]
        /// The event payload for duplicate detection; nil for replies.
        var event: [UInt8]?
        var sent = 0
    }

    private var entries: [Entry] = []
    private var head = 0
    public private(set) var pendingReplies = 0

    public init() {}

    public var isEmpty: Bool { head == entries.count }
    /// Messages not yet completely written.
    public var count: Int { entries.count - head }
    /// Bytes not yet written.
    public var pendingBytes: Int { entries[head...].reduce(0) { $0 + $1.bytes.count - $1.sent } }

    /// Queues a reply.
    public mutating func enqueueReply(_ message: XenStoreMessage) {
        entries.append(Entry(bytes: message.encoded, event: nil))
        pendingReplies += 1
    }

    /// Queues a watch event unless the same event is already waiting. Xen `send_event`.
    public mutating func enqueueEvent(path: String, token: [UInt8]) {
        let payload = XenStoreServer.eventPayload(path: path, token: token)
        if path.first != "@", entries[head...].contains(where: { $0.event == payload }) { return }
        let message = XenStoreMessage(type: .watchEvent, payload: payload)
        entries.append(Entry(bytes: message.encoded, event: payload))
    }

    /// Queues a reply or event action; other actions are ignored.
    public mutating func enqueue(_ action: XenStoreAction) {
        switch action {
        case .reply(_, let message): enqueueReply(message)
        case .watchEvent(_, let path, let token): enqueueEvent(path: path, token: token)
        case .attachDomain, .detachDomain, .log: break
        }
    }

    /// Hands queued bytes to `write`, which returns how many it took (0 when full); stops at
    /// the first short write. Returns the total written.
    public mutating func drain(_ write: (ArraySlice<UInt8>) -> Int) -> Int {
        var total = 0
        while head < entries.count {
            let entry = entries[head]
            let taken = min(max(write(entry.bytes[entry.sent...]), 0), entry.bytes.count - entry.sent)
            total += taken
            entries[head].sent += taken
            guard entries[head].sent == entry.bytes.count else { break }
            if entry.event == nil { pendingReplies -= 1 }
            head += 1
        }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 {
            entries.removeFirst(head)
            head = 0
        }
        return total
    }

    /// Drops everything (connection reset or broken).
    public mutating func removeAll() {
        entries.removeAll()
        head = 0
        pendingReplies = 0
    }
}
