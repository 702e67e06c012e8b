import BareMetal
import GuestMemory
import Testing
import X86
import X86Interpreter

@Suite struct BareMetalSetupTests {
    @Test func theImageIsLoadedAtTheLoadAddress() throws {
        let m = try machine([0xF4, 1, 2, 3])
        #expect(m.memory.read(at: MachineAddress(load), count: 4) == [0xF4, 1, 2, 3])
        #expect(m.cpu.state.rip == load)
        #expect(m.cpu.state.mode == .long64)
        #expect(m.cpu.state.cpl == 0)
    }

    @Test func allMemoryButPageZeroIsIdentityMapped() throws {
        // 5 MiB: the last megabyte is a partial 2 MiB chunk mapped with 4 KiB pages.
        let m = try machine([0xF4], memoryMiB: 5)
        for address: UInt64 in [0x1000, 0xF_F000, 0x10_0000, 0x1F_FFF8, 0x20_0000, 0x3F_F000, 0x40_0000, 0x4F_F000] {
            #expect(try m.cpu.translate(address + 8, for: .write, asUser: false).get() == MachineAddress(address + 8))
        }
        for address: UInt64 in [0, 0xFFF, 0x50_0000, 0x8000_0000] {
            guard case .failure(let e) = m.cpu.translate(address, for: .read, asUser: false) else {
                Issue.record("0x\(String(address, radix: 16)) should not be mapped")
                continue
            }
            #expect(e.vector == ExceptionVector.pageFault.rawValue)
        }
    }

    @Test func thePageTablesLiveBelowTheImage() throws {
        let m = try machine([0xF4], memoryMiB: 4096)
        #expect(m.pageTableRoot.address.rawValue < load)
        #expect(try m.cpu.translate(0xFFFF_F000, for: .read, asUser: false).get() == MachineAddress(0xFFFF_F000))
    }

    @Test func badConfigurationsAreRefusedWithReasons() {
        #expect(throws: BareMetalSetupError.emptyImage) { try machine([]) }
        #expect(throws: BareMetalSetupError.memorySize(2 << 20)) { try machine([0xF4], memoryMiB: 2) }
        let big = [UInt8](repeating: 0x90, count: 3 << 20)
        #expect(throws: BareMetalSetupError.imageTooLarge(imageBytes: big.count, room: (3 << 20) - 4096)) {
            try machine(big)
        }
        #expect(BareMetalSetupError.memorySize(1).description.contains("multiple of 4 KiB"))
    }

    @Test func loadAddressMustLeaveRoomForTheTables() {
        #expect(throws: BareMetalSetupError.loadAddress(0x1000)) {
            try BareMetalMachine(
                image: [0xF4], configuration: BareMetalConfiguration(loadAddress: 0x1000),
                engine: InterpreterFactory())
        }
    }
}
