import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// A p2m for tests: guest frame g lives at machine frame g + offset, below `limit`.
final class OffsetP2M: PhysicalTranslation {
    let offset: UInt64
    let limit: UInt64
    init(offset: UInt64, limit: UInt64) {
        self.offset = offset
        self.limit = limit
    }
    func machineFrame(forPhysicalFrame frame: UInt64) -> MachineFrame? {
        frame < limit ? MachineFrame(frame + offset) : nil
    }
}

/// Page tables that hold guest-physical frames (PVH/HVM) are translated through the p2m.
@Suite struct TranslationTests {
    static let p2mOffset: UInt64 = 0x800  // guest frame 0 is machine frame 0x800 (8 MiB)

    /// Builds tables in guest-physical space mapping linear 0x40_0000 → guest frame 0x400
    /// and linear 0x60_0000 → guest frame `dataFrame`. Returns the guest-physical CR3.
    func buildGuestTables(_ memory: PhysicalMemory, dataFrame: UInt64) -> UInt64 {
        func store(_ gpa: UInt64, _ value: UInt64) {
            memory.store(value, at: MachineAddress(gpa + (Self.p2mOffset << 12)))
        }
        let l4: UInt64 = 0x10_000, l3: UInt64 = 0x11_000, l2: UInt64 = 0x12_000, l1: UInt64 = 0x13_000
        let flags = PTE.present | PTE.writable
        store(l4, l3 | flags)
        store(l3, l2 | flags)
        store(l2 + 2 * 8, l1 | flags)  // 0x40_0000 >> 21 == 2
        store(l2 + 3 * 8, (l1 + 0x1000) | flags)  // 0x60_0000 >> 21 == 3; its L1 is at 0x14_000
        store(l1, 0x40_0000 | flags)
        store(0x14_000, (dataFrame << 12) | flags)
        return l4
    }

    @Test func pageTablesAndFramesGoThroughTheP2M() throws {
        let memory = try PhysicalMemory(bytes: 16 << 20)
        let cr3 = buildGuestTables(memory, dataFrame: 0x500)
        // mov rax, [0x600000] (48 8B 04 25 00 00 60 00); hlt
        memory.write([0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, 0xF4], at: MachineAddress((0x400 + Self.p2mOffset) << 12))
        memory.store(UInt64(0xC0FFEE), at: MachineAddress((0x500 + Self.p2mOffset) << 12))
        let cpu = Interpreter(memory: memory, translation: OffsetP2M(offset: Self.p2mOffset, limit: 0x600))
        cpu.state = .flatLongMode(cpl: 0, cr3: cr3, rip: 0x40_0000, rsp: 0)
        #expect(cpu.run(budget: 10) == .hlt(length: 1))
        #expect(cpu.state[.rax] == 0xC0FFEE)
        #expect(cpu.translate(0x60_0008, for: .read, asUser: false) == .success(MachineAddress(((0x500 + Self.p2mOffset) << 12) + 8)))
    }

    @Test func aGuestFrameWithoutMachineFrameExits() throws {
        let memory = try PhysicalMemory(bytes: 16 << 20)
        let cr3 = buildGuestTables(memory, dataFrame: 0x700)  // beyond the p2m's limit
        memory.write([0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, 0xF4], at: MachineAddress((0x400 + Self.p2mOffset) << 12))
        let cpu = Interpreter(memory: memory, translation: OffsetP2M(offset: Self.p2mOffset, limit: 0x600))
        cpu.state = .flatLongMode(cpl: 0, cr3: cr3, rip: 0x40_0000, rsp: 0)
        #expect(cpu.run(budget: 10) == .physicalAccessFault(physicalAddress: 0x70_0000, isWrite: false))
        #expect(cpu.state.rip == 0x40_0000)
    }
}
