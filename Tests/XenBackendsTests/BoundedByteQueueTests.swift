import Testing
import XenBackends

@Suite struct BoundedByteQueueTests {
    @Test func appendTakesOnlyWhatFitsAndKeepsOrderAcrossTheWrap() {
        var q = BoundedByteQueue(capacity: 10)
        #expect(q.append(contentsOf: pattern(7)) == 7)
        #expect(q.take(maximum: 5) == Array(pattern(7)[0..<5]))
        // Head at 5: the next 8 bytes wrap around the storage.
        #expect(q.append(contentsOf: pattern(8, seed: 1)) == 8)
        #expect(q.isFull)
        #expect(q.append(contentsOf: [1, 2, 3]) == 0)
        #expect(q.take(maximum: 100) == Array(pattern(7)[5...]) + pattern(8, seed: 1))
        #expect(q.isEmpty)
    }

    @Test func droppingOldestKeepsTheNewestBytes() {
        var q = BoundedByteQueue(capacity: 8)
        _ = q.append(contentsOf: [1, 2, 3, 4, 5, 6])
        let dropped = [UInt8]([7, 8, 9, 10]).withUnsafeBytes { q.appendDroppingOldest($0) }
        #expect(dropped == 2)
        #expect(q.take(maximum: 8) == [3, 4, 5, 6, 7, 8, 9, 10])
        let big = pattern(20)
        let droppedBig = big.withUnsafeBytes { q.appendDroppingOldest($0) }
        #expect(droppedBig == 12)
        #expect(q.take(maximum: 100) == Array(big[12...]))
    }

    @Test func consumeFrontRemovesOnlyWhatTheConsumerTook() {
        var q = BoundedByteQueue(capacity: 6)
        _ = q.append(contentsOf: [1, 2, 3, 4])
        _ = q.take(maximum: 3)
        _ = q.append(contentsOf: [5, 6, 7, 8, 9])
        var seen: [UInt8] = []
        q.consumeFront { bytes in
            seen = Array(bytes)
            return 2
        }
        #expect(seen == [4, 5, 6])  // contiguous up to the end of storage
        #expect(q.count == 4)
        #expect(q.take(maximum: 10) == [6, 7, 8, 9])
        q.consumeFront { _ in 99 }  // empty: not called harmfully
        #expect(q.isEmpty)
    }

    @Test func degenerateCapacitiesAndCountsDoNotTrap() {
        var q = BoundedByteQueue(capacity: 0)
        #expect(q.capacity == 1)
        #expect(q.take(maximum: -5) == [])
        q.removeFirst(-3)
        q.removeFirst(1000)
        #expect(q.append(contentsOf: [9, 9]) == 1)
        q.consumeFront { _ in -7 }
        #expect(q.count == 1)
    }
}
