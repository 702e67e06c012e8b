import GuestMemory

extension Interpreter {
    /// LOCKed read-modify-write on host memory: a compare-exchange loop on the aligned 8-byte
    /// word containing the operand. An operand that straddles two such words (a split lock)
    /// is updated without atomicity; real CPUs make split locks atomic with a bus lock, which
    /// Kite does not model (Linux kernels warn about and avoid split locks).
    @inline(__always)
    static func atomicModify(_ ptr: UnsafeMutableRawPointer, _ size: UInt8, _ transform: (UInt64) -> UInt64) -> (old: UInt64, new: UInt64) {
        let address = UInt(bitPattern: ptr)
        let shift = UInt64(address & 7) * 8
        guard UInt64(address & 7) + UInt64(size) <= 8 else {
            let old = load(ptr, size)
            let new = transform(old)
            store(ptr, size, new)
            return (old, new)
        }
        let word = ptr - Int(address & 7)
        let mask = sizeMask(size) << shift
        var current = word.load(as: UInt64.self)
        while true {
            let old = (current & mask) >> shift
            let new = transform(old) & sizeMask(size)
            let desired = (current & ~mask) | (new << shift)
            let seen = PhysicalMemory.compareExchange64(word, expected: current, desired: desired)
            if seen == current { return (old, new) }
            current = seen
        }
    }
}
