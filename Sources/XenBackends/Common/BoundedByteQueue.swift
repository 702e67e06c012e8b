/// A first-in first-out queue of bytes that never holds more than `capacity`: what a
/// backend keeps between a guest's ring and a slow or absent consumer, so that a flooding
/// guest cannot make the host allocate without bound. Storage (`capacity` bytes) is
/// allocated on first use; a value type, so a copy is a snapshot (persist).
public struct BoundedByteQueue: Sendable, Equatable {
    public let capacity: Int
    private var storage: [UInt8] = []
    private var head = 0
    public private(set) var count = 0

    /// `capacity` below 1 is raised to 1.
    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    public var isEmpty: Bool { count == 0 }
    public var isFull: Bool { count == capacity }
    public var freeSpace: Int { capacity - count }

    /// Appends as many bytes as fit; returns how many were taken.
    @discardableResult
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let taken = min(bytes.count, freeSpace)
        guard taken > 0 else { return 0 }
        if storage.isEmpty { storage = [UInt8](repeating: 0, count: capacity) }
        var tail = (head + count) % capacity
        var copied = 0
        storage.withUnsafeMutableBytes { out in
            guard let destination = out.baseAddress, let source = bytes.baseAddress else { return }
            while copied < taken {
                let piece = min(taken - copied, capacity - tail)
                (destination + tail).copyMemory(from: source + copied, byteCount: piece)
                copied += piece
                tail = (tail + piece) % capacity
            }
        }
        count += copied
        return copied
    }

    /// Appends every byte, first dropping the oldest queued ones to make room (and, if
    /// `bytes` alone exceeds the capacity, its own oldest). Returns how many were dropped.
    @discardableResult
    public mutating func appendDroppingOldest(_ bytes: UnsafeRawBufferPointer) -> Int {
        var dropped = 0
        var source = bytes
        if source.count > capacity {
            dropped += source.count - capacity
            source = UnsafeRawBufferPointer(rebasing: source[(source.count - capacity)...])
        }
        let excess = source.count - freeSpace
        if excess > 0 {
            removeFirst(excess)
            dropped += excess
        }
        append(source)
        return dropped
    }

    /// Appends as many bytes of `bytes` as fit.
    @discardableResult
    public mutating func append(contentsOf bytes: some Collection<UInt8>) -> Int {
        let array = Array(bytes)
        return array.withUnsafeBytes { append($0) }
    }

    /// Removes and returns up to `maximum` of the oldest bytes.
    public mutating func take(maximum: Int) -> [UInt8] {
        let n = min(max(maximum, 0), count)
        guard n > 0 else { return [] }
        var result = [UInt8](repeating: 0, count: n)
        let first = min(n, capacity - head)
        result.withUnsafeMutableBytes { out in
            storage.withUnsafeBytes { src in
                guard let destination = out.baseAddress, let source = src.baseAddress else { return }
                destination.copyMemory(from: source + head, byteCount: first)
                if n > first { (destination + first).copyMemory(from: source, byteCount: n - first) }
            }
        }
        removeFirst(n)
        return result
    }

    /// Calls `body` with the oldest queued bytes (one contiguous piece, possibly not all of
    /// them); `body` returns how many it consumed, which are then removed.
    public mutating func consumeFront(_ body: (UnsafeRawBufferPointer) -> Int) {
        guard count > 0 else { return }
        let piece = min(count, capacity - head)
        let used = storage.withUnsafeBytes { src -> Int in
            guard let source = src.baseAddress else { return 0 }
            return body(UnsafeRawBufferPointer(start: source + head, count: piece))
        }
        removeFirst(min(max(used, 0), piece))
    }

    /// Drops the `n` oldest bytes (at most all of them).
    public mutating func removeFirst(_ n: Int) {
        let k = min(max(n, 0), count)
        head = (head + k) % capacity
        count -= k
        if count == 0 { head = 0 }
    }

    /// Drops everything, keeping the storage.
    public mutating func removeAll() {
        head = 0
        count = 0
    }
}
