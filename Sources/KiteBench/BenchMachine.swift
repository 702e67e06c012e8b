import GuestMemory
import X86
import X86Interpreter

/// A bare long-mode machine for the CPU benchmark: 48 MiB of RAM identity-mapped where
/// used, with 4 KiB pages (so the TLB, not a large page, decides the cost of memory access).
///
/// Layout: page-table frames from 1 MiB, code at 4 MiB, a 64 KiB stack ending at 8 MiB,
/// the 16 MiB data buffer at 16 MiB.
final class BenchMachine {
    static let ramSize: UInt64 = 48 << 20
    static let codeBase: UInt64 = 0x40_0000
    static let codeSize: UInt64 = 0x4000
    static let stackTop: UInt64 = 0x80_0000
    static let stackSize: UInt64 = 0x1_0000
    static let bufferBase: UInt64 = 0x100_0000
    static let bufferSize: UInt64 = 16 << 20

    enum SetupError: Error, CustomStringConvertible {
        case memory(PhysicalMemoryError)
        case pageTables(PageTableBuilder.BuildError)
        case codeTooLarge(Int)
        var description: String {
            switch self {
            case .memory(let e): "cannot allocate guest RAM: \(e)"
            case .pageTables(let e): "cannot build page tables: \(e)"
            case .codeTooLarge(let n): "workload code of \(n) bytes exceeds the code area"
            }
        }
    }

    let memory: PhysicalMemory
    let cpu: Interpreter
    private let cr3: UInt64

    init() throws(SetupError) {
        do {
            memory = try PhysicalMemory(bytes: Self.ramSize)
        } catch {
            throw .memory(error)
        }
        var next: UInt64 = 0x100  // page-table frames from 1 MiB up to the code
        let tables: PageTableBuilder
        do {
            var builder = try PageTableBuilder(memory: memory) {
                guard next < Self.codeBase >> pageShift else { return nil }
                defer { next += 1 }
                return MachineFrame(next)
            }
            let rw = PTE.writable
            for (base, size) in [
                (Self.codeBase, Self.codeSize), (Self.stackTop - Self.stackSize, Self.stackSize),
                (Self.bufferBase, Self.bufferSize),
            ] {
                try builder.mapRange(linear: base, length: size, to: MachineAddress(base).frame, flags: rw)
            }
            tables = builder
        } catch {
            throw .pageTables(error)
        }
        cr3 = tables.root.address.rawValue
        cpu = Interpreter(memory: memory, translation: IdentityTranslation(memory: memory))
    }

    /// Loads `workload`'s code and resets its data; afterwards `start(_:)` begins a run.
    func load(_ workload: Workload) throws(SetupError) {
        guard UInt64(workload.code.count) <= Self.codeSize else { throw .codeTooLarge(workload.code.count) }
        _ = memory.write(workload.code, at: MachineAddress(Self.codeBase))
    }

    /// Zeroes the buffer (through the host mapping: it holds no code) and puts the CPU at the
    /// start of the program with the workload's registers.
    func start(_ workload: Workload) {
        if workload.usesBuffer, let p = memory.pointer(to: MachineAddress(Self.bufferBase), length: Self.bufferSize) {
            p.initializeMemory(as: UInt8.self, repeating: 0, count: Int(Self.bufferSize))
        }
        var s = CPUState.flatLongMode(cpl: 0, cr3: cr3, rip: Self.codeBase, rsp: Self.stackTop)
        for (r, v) in workload.registers { s[r] = v }
        cpu.state = s
    }
}
