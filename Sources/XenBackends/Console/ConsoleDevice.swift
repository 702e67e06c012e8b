/// What a console does with guest output when its buffer is full (nobody has taken it).
public enum ConsoleOverflowPolicy: Hashable, Sendable {
    /// Stop consuming the guest's ring until buffered output is taken: the ring fills and
    /// the guest's writes wait, as xenconsoled does when it stops polling a domain whose
    /// buffer reached its limit. Nothing is lost.
    case backpressure
    /// Keep consuming and drop the oldest buffered bytes, counting them: the guest never
    /// waits and the buffer keeps the latest output (xenconsoled's discard mode keeps a
    /// bounded buffer too, dropping from the middle).
    case discardOldest
}

/// Counters of one console.
public struct ConsoleStatistics: Hashable, Sendable {
    /// Bytes consumed from the guest's output ring.
    public var outputBytes: UInt64 = 0
    /// Output bytes dropped because the buffer was full (`.discardOldest`).
    public var droppedOutputBytes: UInt64 = 0
    /// Bytes written into the guest's input ring.
    public var inputBytes: UInt64 = 0
    /// Service passes run.
    public var passes: UInt64 = 0
}

/// What one service pass did and what the owner must do now.
public struct ConsoleServiceResult: Hashable, Sendable {
    /// Output was consumed or input produced: the page changed (note the write for the
    /// dirty log) and the guest should get an event on its console port.
    public var notifyGuest = false
    /// The frontend broke the ring during this pass: disconnect the console (unbind its
    /// port, unmap its page). Output already buffered stays available.
    public var failure: ConsoleRingError?

    public init(notifyGuest: Bool = false, failure: ConsoleRingError? = nil) {
        self.notifyGuest = notifyGuest
        self.failure = failure
    }
}

/// The PV console's device logic (xenconsoled's per-domain work), independent of threads,
/// grants and event channels: guest output flows from the ring's `out[]` into a bounded
/// buffer the owner drains to a sink; input queued by the owner flows into `in[]` as far
/// as the guest has made room (flow control). A value type: a copy is a snapshot.
///
/// States: disconnected → connected (`connect`: `connection` = XENCONSOLE_CONNECTED) →
/// broken (a producer index more than the ring size ahead: the page is marked
/// DISCONNECTED and no longer touched) ; any → closed (`close`). Buffered output survives
/// `broken` and `closed` until taken.
public struct ConsoleDevice: Sendable {
    public enum State: Hashable, Sendable {
        case disconnected
        case connected
        case broken(ConsoleRingError)
        case closed
    }

    /// Xen: the `limit` key libxl writes (1 MiB); Kite keeps less per console by default.
    public static let defaultOutputLimit = 64 << 10
    /// Keyboard input held back while the guest's 1 KiB input ring is full.
    public static let defaultInputLimit = 4 << 10

    public private(set) var state: State = .disconnected
    public private(set) var output: BoundedByteQueue
    public private(set) var input: BoundedByteQueue
    public let overflow: ConsoleOverflowPolicy
    public private(set) var statistics = ConsoleStatistics()

    public init(outputLimit: Int = Self.defaultOutputLimit, inputLimit: Int = Self.defaultInputLimit,
                overflow: ConsoleOverflowPolicy = .backpressure) {
        output = BoundedByteQueue(capacity: outputLimit)
        input = BoundedByteQueue(capacity: inputLimit)
        self.overflow = overflow
    }

    public var isConnected: Bool { state == .connected }

    /// Starts servicing `ring`: tells the frontend it is connected.
    public mutating func connect(_ ring: ConsoleRing) {
        guard state == .disconnected else { return }
        ring.setConnection(.connected)
        state = .connected
    }

    /// One pass over the ring: guest output into the buffer (under `.backpressure` only as
    /// much as fits), then queued input into `in[]` as far as it has room.
    public mutating func service(_ ring: ConsoleRing) -> ConsoleServiceResult {
        var result = ConsoleServiceResult()
        guard state == .connected else { return result }
        statistics.passes &+= 1
        let policy = overflow
        let room = policy == .backpressure ? output.freeSpace : Int.max
        var dropped = 0
        switch ring.readOutput(maximum: room, { bytes in
            if policy == .backpressure {
                output.append(bytes)
            } else {
                dropped += output.appendDroppingOldest(bytes)
            }
        }) {
        case .failure(let error):
            fail(error, ring, &result)
            return result
        case .success(let consumed):
            statistics.outputBytes &+= UInt64(consumed)
            statistics.droppedOutputBytes &+= UInt64(dropped)
            if consumed > 0 { result.notifyGuest = true }
        }
        var broke: ConsoleRingError?
        while !input.isEmpty {
            var written = 0
            input.consumeFront { bytes in
                switch ring.writeInput(bytes) {
                case .failure(let error):
                    broke = error
                    return 0
                case .success(let n):
                    written = n
                    return n
                }
            }
            statistics.inputBytes &+= UInt64(written)
            if written > 0 { result.notifyGuest = true }
            if broke != nil || written == 0 { break }
        }
        if let broke { fail(broke, ring, &result) }
        return result
    }

    /// Removes and returns up to `maximum` bytes of buffered output, oldest first.
    public mutating func takeOutput(maximum: Int = Int.max) -> [UInt8] {
        output.take(maximum: maximum)
    }

    /// Queues keyboard input for the guest; returns how many bytes were accepted (0 when
    /// the queue is full: try again after the guest has read some). Refused once the
    /// console is broken or closed.
    public mutating func queueInput(_ bytes: UnsafeRawBufferPointer) -> Int {
        switch state {
        case .disconnected, .connected: return input.append(bytes)
        case .broken, .closed: return 0
        }
    }

    /// Stops servicing for good; buffered output may still be taken.
    public mutating func close() {
        state = .closed
        input.removeAll()
    }

    private mutating func fail(_ error: ConsoleRingError, _ ring: ConsoleRing, _ result: inout ConsoleServiceResult) {
        state = .broken(error)
        input.removeAll()
        ring.setConnection(.disconnected)
        result.failure = error
        // The page changed (connection): the owner notes the write, but the guest is
        // not worth an event any more.
        result.notifyGuest = false
    }
}
