import GuestMemory
import X86
@testable import X86Interpreter

/// A small long-mode machine for instruction tests: 16 MiB of RAM, code at 0x40_0000,
/// data at 0x60_0000 (64 KiB), a stack below 0x80_0000, identity page tables built with
/// `PageTableBuilder`, all pages user-accessible and writable unless a test remaps them.
final class TestMachine {
    static let codeBase: UInt64 = 0x40_0000
    static let dataBase: UInt64 = 0x60_0000
    static let stackTop: UInt64 = 0x80_0000
    let memory: PhysicalMemory
    var tables: PageTableBuilder
    let cpu: Interpreter
    private var nextTableFrame: UInt64

    init(code: [UInt8], cpl: UInt8 = 0) throws {
        memory = try PhysicalMemory(bytes: 16 << 20)
        var next: UInt64 = 0x100  // page-table frames from 1 MiB up
        tables = try PageTableBuilder(memory: memory) {
            defer { next += 1 }
            return MachineFrame(next)
        }
        nextTableFrame = next
        let rw = PTE.writable | PTE.user
        try tables.mapRange(linear: Self.codeBase, length: 0x10000, to: MachineAddress(Self.codeBase).frame, flags: rw)
        try tables.mapRange(linear: Self.dataBase, length: 0x10000, to: MachineAddress(Self.dataBase).frame, flags: rw)
        try tables.mapRange(linear: Self.stackTop - 0x10000, length: 0x10000, to: MachineAddress(Self.stackTop - 0x10000).frame, flags: rw)
        memory.write(code, at: MachineAddress(Self.codeBase))
        cpu = Interpreter(memory: memory, translation: IdentityTranslation(memory: memory))
        cpu.state = .flatLongMode(cpl: cpl, cr3: tables.root.address.rawValue, rip: Self.codeBase, rsp: Self.stackTop)
    }

    var state: CPUState {
        get { cpu.state }
        set { cpu.state = newValue }
    }

    /// Runs until an exit other than budget exhaustion, or `budget` instructions.
    @discardableResult
    func run(budget: Int = 10_000) -> VCPUExit { cpu.run(budget: budget) }

    func load64(_ linear: UInt64) -> UInt64? { memory.load(UInt64.self, at: MachineAddress(linear)) }
    func store64(_ value: UInt64, at linear: UInt64) { memory.store(value, at: MachineAddress(linear)) }
}
