import GuestMemory

/// Atomic bit operations on guest-visible memory (shared_info bitmaps, vcpu_info words).
/// Xen: guest_test_and_set_bit() and friends — LOCKed bit instructions on memory the
/// guest's vCPUs change concurrently. Each is a compare-exchange loop on the naturally
/// aligned 8-byte word; a misaligned or out-of-range word reports nil and changes nothing.
extension PhysicalMemory {
    /// The host pointer of the aligned word at `address`, or nil.
    private func wordPointer(_ address: MachineAddress) -> UnsafeMutableRawPointer? {
        guard address.rawValue & 7 == 0 else { return nil }
        return pointer(to: address, length: 8)
    }

    /// Atomically reads the 8-byte word at `address`.
    func atomicLoad64(at address: MachineAddress) -> UInt64? {
        guard let p = wordPointer(address) else { return nil }
        // A compare-exchange that can only succeed by writing back the value it found.
        return PhysicalMemory.compareExchange64(p, expected: 0, desired: 0)
    }

    /// Sets bit `bit` (0–63) of the word; returns its previous value.
    @discardableResult
    func atomicTestAndSet(bit: UInt32, at address: MachineAddress) -> Bool? {
        atomicUpdate(at: address) { $0 | (1 << UInt64(bit & 63)) }.map { $0 & (1 << UInt64(bit & 63)) != 0 }
    }

    /// Clears bit `bit` (0–63) of the word; returns its previous value.
    @discardableResult
    func atomicTestAndClear(bit: UInt32, at address: MachineAddress) -> Bool? {
        atomicUpdate(at: address) { $0 & ~(1 << UInt64(bit & 63)) }.map { $0 & (1 << UInt64(bit & 63)) != 0 }
    }

    /// Stores `value` atomically; returns the previous word.
    @discardableResult
    func atomicExchange64(_ value: UInt64, at address: MachineAddress) -> UInt64? {
        atomicUpdate(at: address) { _ in value }
    }

    /// Replaces the word with `transform(old)` atomically; returns the old word. Marks the
    /// frame written (dirty log, decoded-code watch) when the value changed.
    private func atomicUpdate(at address: MachineAddress, _ transform: (UInt64) -> UInt64) -> UInt64? {
        guard let p = wordPointer(address) else { return nil }
        var expected = p.load(as: UInt64.self)
        while true {
            let desired = transform(expected)
            if desired == expected { return expected }
            let found = PhysicalMemory.compareExchange64(p, expected: expected, desired: desired)
            if found == expected {
                noteWrite(address, length: 8)
                return expected
            }
            expected = found
        }
    }
}
