import BareMetal
import GuestMemory
import Testing
import X86

/// A VirtualCPU that replays a list of exits, retiring one instruction per `.budgetExhausted`
/// (an instruction-intercept exit retires nothing, as in a real engine): it tests
/// BareMetal's exit handling without depending on what the interpreter implements, and
/// shows that BareMetal works with any engine.
final class ScriptedCPU: VirtualCPU {
    var state = CPUState()
    var intercepts = InterceptControls()
    var retiredInstructions: UInt64 = 0
    var script: [VCPUExit]

    init(script: [VCPUExit]) { self.script = script }

    func run(budget: Int) -> VCPUExit {
        guard !script.isEmpty else { return .tripleFault }
        let exit = script.removeFirst()
        if exit == .budgetExhausted { retiredInstructions += 1 }
        return exit
    }
    func flushTLB(_ scope: TLBFlush) {}
    func requestExit() {}
    func inject(_ event: InjectedEvent) {}
    func translate(_ linear: UInt64, for access: MemoryAccessKind, asUser: Bool) -> Result<MachineAddress, X86Exception> {
        .success(MachineAddress(linear))
    }
}

struct ScriptedFactory: VirtualCPUFactory {
    let script: [VCPUExit]
    func makeVirtualCPU(memory: PhysicalMemory, translation: any PhysicalTranslation) -> any VirtualCPU {
        ScriptedCPU(script: script)
    }
}

@Suite struct ScriptedCPUTests {
    func out(_ port: UInt16, _ value: UInt32, size: UInt8 = 1) -> VCPUExit {
        .io(IOAccess(port: port, size: size, isWrite: true, value: value), length: 2)
    }

    @Test func exitsAreEmulatedAndRIPAdvances() throws {
        let m = try BareMetalMachine(
            image: [0x90],
            engine: ScriptedFactory(script: [
                out(0xE9, 0x68), .budgetExhausted, out(0x80, 0), out(0xE9, 0x6969, size: 2), .cpuid(length: 2),
                .io(IOAccess(port: 0x61, size: 2, isWrite: false), length: 1), out(0xF4, 3, size: 4),
            ]))
        #expect(m.cpu.intercepts.allMSRs)
        let r = m.run()
        #expect(r.outcome == .exited(code: 3))
        #expect(r.consoleText == "hi")
        #expect(r.instructions == 7)  // 1 retired, 6 emulated
        let s = m.cpu.state
        #expect(s.rip == load + 2 + 2 + 2 + 2 + 1 + 2)
        #expect(s[.rax] & 0xFFFF == 0xFFFF)  // the IN after CPUID
        #expect(s[.rbx] == UInt64(CPUIDPolicy.kite.query(leaf: 0, subleaf: 0).ebx))
    }

    @Test func unexpectedExitsFailWithTheirRIP() throws {
        let m = try BareMetalMachine(image: [0x90], engine: ScriptedFactory(script: [.syscall(length: 2)]))
        let r = m.run()
        #expect(r.outcome.failure == .unhandledExit(.syscall(length: 2), rip: load))
        #expect(r.outcomeDescription.contains("does not emulate"))
    }

    @Test func theLimitIsCheckedBetweenSlices() throws {
        let m = try BareMetalMachine(
            image: [0x90], configuration: BareMetalConfiguration(maxInstructions: 3),
            engine: ScriptedFactory(script: Array(repeating: .budgetExhausted, count: 10)))
        #expect(m.run().outcome.failure == .instructionLimit(3))
    }
}
