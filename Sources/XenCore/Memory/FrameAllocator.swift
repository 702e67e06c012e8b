/// Free machine frames as a bitmap (bit set = free), handing out naturally aligned runs of
/// 2^order frames. Xen: the heap allocator behind alloc_domheap_pages (common/page_alloc.c),
/// reduced to what Kite needs: one node, no zones beyond an address limit.
///
/// Not thread-safe: it lives inside `MachineMemory`'s locked state.
struct FrameAllocator {
    private var words: [UInt64]
    let frameCount: UInt64
    private(set) var freeCount: UInt64 = 0
    /// Where the next search starts (spreads allocations, keeps searches short).
    private var cursor: UInt64 = 0

    /// Every frame starts out used; `release` makes frames available.
    init(frameCount: UInt64) {
        self.frameCount = frameCount
        words = Array(repeating: 0, count: Int((frameCount + 63) / 64))
    }

    func isFree(_ frame: UInt64) -> Bool {
        guard frame < frameCount else { return false }
        return words[Int(frame / 64)] & (1 << (frame % 64)) != 0
    }

    mutating func release(_ frame: UInt64) {
        guard frame < frameCount, !isFree(frame) else { return }
        words[Int(frame / 64)] |= 1 << (frame % 64)
        freeCount += 1
    }

    private mutating func take(_ frame: UInt64) {
        words[Int(frame / 64)] &= ~(1 << (frame % 64))
        freeCount -= 1
    }

    /// A free, 2^order-aligned run of 2^order frames below `limit` frames, marked used; nil
    /// when none exists. Orders above 20 are refused (no caller needs them).
    mutating func allocate(order: UInt32, below limit: UInt64) -> UInt64? {
        guard order <= 20 else { return nil }
        let run: UInt64 = 1 << UInt64(order)
        let end = min(limit, frameCount) & ~(run - 1)
        guard end >= run, freeCount >= run else { return nil }
        var start = (cursor < end ? cursor : 0) & ~(run - 1)
        var scanned: UInt64 = 0
        while scanned < end {
            if runIsFree(start, run) {
                for f in start..<(start + run) { take(f) }
                cursor = start + run
                return start
            }
            // Skip whole empty words quickly for small runs.
            var step = run
            if run < 64, start % 64 == 0, words[Int(start / 64)] == 0 { step = 64 }
            start += step
            scanned += step
            if start >= end { start = 0 }
        }
        return nil
    }

    private func runIsFree(_ start: UInt64, _ run: UInt64) -> Bool {
        if run <= 64 {
            let w = words[Int(start / 64)]
            let mask: UInt64 = run == 64 ? ~0 : ((1 << run) - 1) << (start % 64)
            return w & mask == mask
        }
        var i = Int(start / 64)
        let last = Int((start + run) / 64)
        while i < last {
            if words[i] != ~0 { return false }
            i += 1
        }
        return true
    }
}
