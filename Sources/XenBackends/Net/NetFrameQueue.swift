/// A first-in first-out queue of frames bounded by count and by bytes: what stands between
/// a fast sender and a guest that posts receive buffers slowly (or never). A frame that
/// does not fit is refused — the caller drops and counts it — so nobody can make the host
/// hold more than the bounds. A value type: a copy is a snapshot.
public struct NetFrameQueue: Sendable {
    public let maximumFrames: Int
    public let maximumBytes: Int
    private var frames: [NetFrame] = []
    private var head = 0
    public private(set) var byteCount = 0

    /// Bounds below 1 are raised to 1.
    public init(maximumFrames: Int, maximumBytes: Int) {
        self.maximumFrames = max(maximumFrames, 1)
        self.maximumBytes = max(maximumBytes, 1)
    }

    public var count: Int { frames.count - head }
    public var isEmpty: Bool { count == 0 }
    public var first: NetFrame? { head < frames.count ? frames[head] : nil }

    /// Appends unless a bound would be exceeded; false when refused.
    public mutating func append(_ frame: NetFrame) -> Bool {
        guard count < maximumFrames, frame.count <= maximumBytes - byteCount else { return false }
        frames.append(frame)
        byteCount += frame.count
        return true
    }

    public mutating func removeFirst() -> NetFrame? {
        guard head < frames.count else { return nil }
        let frame = frames[head]
        frames[head] = NetFrame(bytes: [])
        head += 1
        byteCount -= frame.count
        // Reclaim the consumed prefix once it is large, so storage stays bounded.
        if head == frames.count {
            frames.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
        return frame
    }

    public mutating func removeAll() {
        frames.removeAll()
        head = 0
        byteCount = 0
    }
}
