import GuestMemory
import Testing

@Suite struct PhysicalMemoryTests {
    @Test func rejectsUnalignedAndHugeSizes() {
        #expect(throws: PhysicalMemoryError.sizeNotPageAligned(4095)) { try PhysicalMemory(bytes: 4095) }
        #expect(throws: PhysicalMemoryError.sizeNotPageAligned(0)) { try PhysicalMemory(bytes: 0) }
        #expect(throws: PhysicalMemoryError.sizeTooLarge(1 << 50)) { try PhysicalMemory(bytes: 1 << 50) }
    }

    @Test func boundsAreCheckedWithoutOverflow() throws {
        let m = try PhysicalMemory(bytes: 8 * 4096)
        #expect(m.contains(MachineAddress(0), length: 8 * 4096))
        #expect(!m.contains(MachineAddress(1), length: 8 * 4096))
        #expect(!m.contains(MachineAddress(UInt64.max - 2), length: 8))  // would wrap
        #expect(m.load(UInt64.self, at: MachineAddress(8 * 4096 - 4)) == nil)
        #expect(!m.store(UInt32(1), at: MachineAddress(UInt64.max)))
        #expect(m.pointer(to: MachineFrame(8)) == nil)
        #expect(m.pointer(to: MachineFrame(7)) != nil)
        #expect(m.read(at: MachineAddress(0), count: -1) == nil)
    }

    @Test func storesAreLittleEndianAndMarkDirty() throws {
        let m = try PhysicalMemory(bytes: 4 * 4096)
        #expect(m.store(UInt32(0x1122_3344), at: MachineAddress(0x1FFE)))  // straddles frames 1 and 2
        #expect(m.read(at: MachineAddress(0x1FFE), count: 4) == [0x44, 0x33, 0x22, 0x11])
        #expect(m.dirtyLog.test(1) && m.dirtyLog.test(2))
        #expect(!m.dirtyLog.test(0) && !m.dirtyLog.test(3))
        #expect(m.dirtyLog.testAndClear(1))
        #expect(!m.dirtyLog.test(1))
        #expect(m.dirtyLog.setFrames() == [2])
    }

    @Test func codeWatchVersionsChangeOnlyForCodeFrames() throws {
        let m = try PhysicalMemory(bytes: 4 * 4096)
        let epoch = m.codeWatch.markEpoch
        m.store(UInt8(1), at: MachineAddress(0x1000))
        #expect(m.codeWatch.version(1) == 0)
        let v = m.codeWatch.markCode(1)
        #expect(m.codeWatch.markEpoch == epoch &+ 1)
        m.store(UInt8(2), at: MachineAddress(0x1000))
        #expect(m.codeWatch.version(1) == v &+ 1)
        #expect(m.codeWatch.version(99) == 0)  // outside RAM: no trap
        _ = m.codeWatch.markCode(99)
    }

    @Test func compareExchangeIsAtomicWord() throws {
        let m = try PhysicalMemory(bytes: 4096)
        let p = try #require(m.pointer(to: MachineAddress(16), length: 16))
        p.storeBytes(of: UInt64(5), as: UInt64.self)
        #expect(PhysicalMemory.compareExchange64(p, expected: 5, desired: 9) == 5)
        #expect(PhysicalMemory.compareExchange64(p, expected: 5, desired: 7) == 9)
        let seen = PhysicalMemory.compareExchange128(p, expected: (9, 0), desired: (1, 2))
        #expect(seen == (9, 0))
        #expect(p.load(as: UInt64.self) == 1 && p.load(fromByteOffset: 8, as: UInt64.self) == 2)
    }
}
