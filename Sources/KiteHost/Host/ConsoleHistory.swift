import Foundation
import Synchronization

/// A guest's console output as the toolstack keeps it: the last `capacity` bytes (so that
/// `kite console` attached late still sees the boot messages), and live subscribers (an
/// attached console, a log file, `kite run`'s terminal). Bounded: a flooding guest costs
/// at most `capacity` bytes here; subscribers that fall behind are theirs to bound.
public final class ConsoleHistory: Sendable {
    public typealias Subscriber = @Sendable (ArraySlice<UInt8>) -> Void
    /// A subscription, for `unsubscribe`.
    public struct Token: Hashable, Sendable { let value: UInt64 }

    public let capacity: Int
    private struct State {
        var ring: [UInt8] = []
        /// Where the next byte goes once the ring is full.
        var head = 0
        var total: UInt64 = 0
        var nextToken: UInt64 = 0
        var subscribers: [Token: Subscriber] = [:]
    }
    private let state = Mutex(State())

    public init(capacity: Int = 256 << 10) {
        self.capacity = max(1, capacity)
    }

    /// Output from the guest (console_io or the console ring), from any thread.
    public func append(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        let subscribers = state.withLock { s -> [Subscriber] in
            s.total &+= UInt64(bytes.count)
            let kept = bytes.suffix(capacity)
            if s.ring.count < capacity {
                let room = capacity - s.ring.count
                s.ring.append(contentsOf: kept.prefix(room))
                for byte in kept.dropFirst(room) { s.ring[s.head] = byte; s.head = (s.head + 1) % capacity }
            } else {
                for byte in kept { s.ring[s.head] = byte; s.head = (s.head + 1) % capacity }
            }
            return Array(s.subscribers.values)
        }
        // Outside the lock: a subscriber may be slow or unsubscribe itself.
        for subscriber in subscribers { subscriber(bytes) }
    }

    /// The bytes kept, oldest first.
    public var contents: [UInt8] {
        state.withLock { s in Array(s.ring[s.head...] + s.ring[..<s.head]) }
    }

    /// Every byte the guest ever wrote, counted.
    public var totalBytes: UInt64 { state.withLock { $0.total } }

    /// Adds a subscriber; with `replay`, it first receives what is kept, atomically with
    /// the subscription, so no byte is lost or doubled between the two.
    @discardableResult
    public func subscribe(replay: Bool = false, _ subscriber: @escaping Subscriber) -> Token {
        state.withLock { s in
            if replay {
                let kept = Array(s.ring[s.head...] + s.ring[..<s.head])
                if !kept.isEmpty { subscriber(kept[...]) }
            }
            let token = Token(value: s.nextToken)
            s.nextToken &+= 1
            s.subscribers[token] = subscriber
            return token
        }
    }

    public func unsubscribe(_ token: Token) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: token) }
    }
}
