import GuestMemory
import X86
import X86Interpreter

/// Runs test code in Kite's interpreter at CPL 3, in a fresh machine per case.
///
/// The code pages, data buffer and test stack are mapped user-writable at the same linear
/// addresses as on the host, to frames holding the same bytes. The code pages carry the
/// native image with CPUID (0F A2) written at the end of the test: CPUID always exits, so
/// reaching it with RIP at the end address means the test ran to completion.
///
/// Consecutive linear pages live in frames in descending order, so an access or an
/// instruction that straddles two pages goes wrong if the engine assumes the second page
/// follows the first in machine memory.
///
/// By default every case gets a fresh machine. With `reuse` one machine serves all cases:
/// each case's pages are written over the last one's from the host side, so the engine must
/// notice that its decoded code changed (what a hypervisor relies on when it loads a guest).
final class EngineRunner {
    let layout: Layout
    let reuse: Bool
    private var cached: Machine?

    private struct Machine {
        let memory: PhysicalMemory
        let root: UInt64
        let cpu: Interpreter
    }

    private enum SetupError: Error {
        case memory(PhysicalMemoryError)
        case pageTables(PageTableBuilder.BuildError)
    }

    init(layout: Layout, reuse: Bool) {
        self.layout = layout
        self.reuse = reuse
    }
    /// Frames 0..<32 hold page tables; region page p lives in frame 32 + (pages - 1 - p).
    private static let firstDataFrame: UInt64 = 32
    private static let regionPages = Layout.totalSize / pageSize
    private static let frameCount: UInt64 = 32 + regionPages
    /// Instructions per `run(budget:)` and the total allowed (tests are short and loop-free).
    private static let budget = 4096
    private static let maxRuns = 16

    private func frame(for linear: UInt64) -> MachineFrame {
        MachineFrame(Self.firstDataFrame + Self.regionPages - 1 - (linear - layout.region) / pageSize)
    }

    /// Copies `bytes` to the frames behind `linear...` page by page (through the host
    /// pointer: PhysicalMemory.write goes byte by byte).
    private func load(_ bytes: [UInt8], at linear: UInt64, into memory: PhysicalMemory) -> Bool {
        var done = 0
        while done < bytes.count {
            let address = frame(for: linear + UInt64(done)).address
            let n = min(Int(pageSize), bytes.count - done)
            guard let p = memory.pointer(to: address, length: UInt64(n)) else { return false }
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + done, byteCount: n) }
            memory.noteWrite(address, length: UInt64(n))
            done += n
        }
        return true
    }

    /// The bytes behind `linear..<linear+count` (count a multiple of the page size).
    private func dump(_ linear: UInt64, count: Int, from memory: PhysicalMemory) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for page in stride(from: 0, to: count, by: Int(pageSize)) {
            out += memory.read(at: frame(for: linear + UInt64(page)).address, count: Int(pageSize)) ?? []
        }
        return out
    }

    /// A fresh machine, or the one kept from the last case.
    private func machine() throws(SetupError) -> Machine {
        if reuse, let m = cached { return m }
        let memory: PhysicalMemory
        do { memory = try PhysicalMemory(bytes: Self.frameCount * pageSize) } catch { throw .memory(error) }
        var nextTable: UInt64 = 0
        let root: UInt64
        do {
            var builder = try PageTableBuilder(memory: memory) {
                guard nextTable < Self.firstDataFrame else { return nil }
                defer { nextTable += 1 }
                return MachineFrame(nextTable)
            }
            let flags = PTE.writable | PTE.user
            for (start, size) in [(layout.code, Layout.codeSize), (layout.buffer, Layout.bufferSize), (layout.stack, Layout.stackSize)] {
                for page in stride(from: start, to: start + size, by: Int(pageSize)) {
                    try builder.map(linear: page, to: frame(for: page), flags: flags)
                }
            }
            root = builder.root.address.rawValue
        } catch {
            throw .pageTables(error)
        }
        let m = Machine(memory: memory, root: root, cpu: Interpreter(memory: memory, translation: IdentityTranslation(memory: memory)))
        if reuse { cached = m }
        return m
    }

    func run(codeImage: [UInt8], testStart: UInt64, testEnd: UInt64, registers: [UInt64], rflags: UInt64,
             buffer: [UInt8], stack: [UInt8], fpu: [UInt8]) -> MachineResult {
        func failed(_ why: String) -> MachineResult {
            MachineResult(registers: registers, rflags: rflags, buffer: buffer, stack: stack, fpu: fpu, abnormalExit: why)
        }
        let machine: Machine
        do { machine = try self.machine() } catch { return failed("engine setup: \(error)") }
        let memory = machine.memory
        var code = codeImage
        let stop = Int(testEnd - layout.code)
        code[stop] = 0x0F
        code[stop + 1] = 0xA2
        for (bytes, linear) in [(code, layout.code), (buffer, layout.buffer), (stack, layout.stack)] {
            guard load(bytes, at: linear, into: memory) else { return failed("cannot load guest memory") }
        }

        let cpu = machine.cpu
        var state = CPUState.flatLongMode(cpl: 3, cr3: machine.root, rip: testStart, rsp: registers[R.rsp])
        for r in 0..<16 { state.gprs.values[r] = registers[r] }
        state.rflags = RFlags(rawValue: rflags)
        state.fpu.loadFXSAVEImage(fpu)
        state.cr4.insert(.osfxsr)  // as the host's OS runs
        cpu.state = state

        var exit = VCPUExit.budgetExhausted
        for _ in 0..<Self.maxRuns {
            exit = cpu.run(budget: Self.budget)
            if exit != .budgetExhausted { break }
        }
        let final = cpu.state
        var abnormal: String? = nil
        switch exit {
        case .cpuid where final.rip == testEnd: break
        case .budgetExhausted:
            abnormal = "did not reach the end within \(Self.budget * Self.maxRuns) instructions (rip \(hex(final.rip)))"
        default:
            let at = final.rip >= testStart && final.rip <= testEnd ? "test+\(hex(final.rip - testStart))" : hex(final.rip)
            abnormal = "exit \(exit) at rip \(at)"
        }
        var notes: [String] = []
        let after = dump(layout.code, count: code.count, from: memory)
        if after != code {
            let first = after.indices.first { after[$0] != code[$0] } ?? 0
            notes.append("engine: the code pages changed (first at \(hex(layout.code + UInt64(first))))")
        }
        return MachineResult(
            registers: final.gprs.values,
            rflags: final.rflags.rawValue,
            buffer: dump(layout.buffer, count: buffer.count, from: memory),
            stack: dump(layout.stack, count: stack.count, from: memory),
            fpu: final.fpu.fxsaveImage(),
            abnormalExit: abnormal, notes: notes)
    }
}
