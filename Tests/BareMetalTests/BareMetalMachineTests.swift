import BareMetal
import GuestMemory
import Testing
import X86

@Suite struct BareMetalRunTests {
    @Test func printsThroughPort0xE9AndHalts() throws {
        // mov al, 'A' ; out 0xE9, al ; hlt
        let m = try machine([0xB0, 0x41, 0xE6, 0xE9, 0xF4])
        var streamed: [UInt8] = []
        let r = m.run { streamed.append($0) }
        #expect(r.outcome == .halted)
        #expect(r.consoleText == "A")
        #expect(streamed == [0x41])
        #expect(r.instructions == 3)
        #expect(m.cpu.state.rip == load + 5)  // HLT was stepped over
    }

    @Test func exitPortEndsTheRunWithTheValue() throws {
        // mov eax, 7 ; out 0xF4, eax ; ud2 (never reached)
        let r = try machine([0xB8, 0x07, 0, 0, 0, 0xE7, 0xF4, 0x0F, 0x0B]).run()
        #expect(r.outcome == .exited(code: 7))
        #expect(!r.succeeded)
    }

    @Test func printsThroughDXAndIgnoresOtherPorts() throws {
        // mov dx, 0xE9 ; mov al, 'o' ; out dx, al ; out 0x80, al ; mov al, 'k' ; out dx, al ; hlt
        let r = try machine([0x66, 0xBA, 0xE9, 0x00, 0xB0, 0x6F, 0xEE, 0xE6, 0x80, 0xB0, 0x6B, 0xEE, 0xF4]).run()
        #expect(r.outcome == .halted)
        #expect(r.consoleText == "ok")
    }

    @Test func inReadsAllOnes() throws {
        // mov rax, -1 ; xor eax, eax ; in al, 0x60 ; mov rbx, rax ; mov rax, -1 ; in eax, dx ; hlt
        let m = try machine([
            0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0x31, 0xC0, 0xE4, 0x60, 0x48, 0x89, 0xC3,
            0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0xED, 0xF4,
        ])
        #expect(m.run().outcome == .halted)
        #expect(m.cpu.state[.rbx] == 0xFF)  // the byte form leaves the rest of RAX alone
        #expect(m.cpu.state[.rax] == 0xFFFF_FFFF)  // the dword form zero-extends
    }

    @Test func anExceptionEndsTheRunWithItsVectorAndRIP() throws {
        // nop ; ud2
        let r = try machine([0x90, 0x0F, 0x0B]).run()
        #expect(r.outcome.failure == .exception(.undefinedOpcode, rip: load + 1))
        #expect(r.outcomeDescription.contains("0x100001"))
    }

    @Test func pageZeroIsUnmapped() throws {
        // mov rax, [0]
        let r = try machine([0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0]).run()
        guard case .exception(let e, let rip) = r.outcome.failure else {
            Issue.record("expected a page fault, got \(r.outcome)")
            return
        }
        #expect(e.vector == ExceptionVector.pageFault.rawValue)
        #expect(e.faultAddress == 0)
        #expect(rip == load)
    }

    @Test func anInstructionLimitStopsARunawayGuest() throws {
        // jmp $
        let r = try machine([0xEB, 0xFE], maxInstructions: 1000).run()
        #expect(r.outcome.failure == .instructionLimit(1000))
        #expect(r.instructions == 1000)
    }

    @Test func msrAccessFailsTheRun() throws {
        // mov ecx, 0x10 ; rdmsr
        let r = try machine([0xB9, 0x10, 0, 0, 0, 0x0F, 0x32]).run()
        #expect(r.outcome.failure == .msrAccess(msr: 0x10, isWrite: false, rip: load + 5))
        // mov ecx, 0xC0000080 ; wrmsr
        let w = try machine([0xB9, 0x80, 0x00, 0x00, 0xC0, 0x0F, 0x30]).run()
        #expect(w.outcome.failure == .msrAccess(msr: 0xC000_0080, isWrite: true, rip: load + 5))
    }

    @Test func cpuidIsAnsweredFromThePolicy() throws {
        // xor eax, eax ; cpuid ; hlt
        let m = try machine([0x31, 0xC0, 0x0F, 0xA2, 0xF4])
        #expect(m.run().outcome == .halted)
        let s = m.cpu.state
        let vendor = [s[.rbx], s[.rdx], s[.rcx]].flatMap { r in (0..<4).map { UInt8(truncatingIfNeeded: r >> (8 * $0)) } }
        #expect(String(decoding: vendor, as: UTF8.self) == "KiteKiteKite")
        #expect(s[.rax] == 1)
    }

    @Test func theStackStartsAtTheTopOfMemoryAndRDIHoldsItsSize() throws {
        // push 0x42 ; pop rax ; hlt
        let m = try machine([0x6A, 0x42, 0x58, 0xF4], memoryMiB: 8)
        #expect(m.run().outcome == .halted)
        #expect(m.cpu.state[.rax] == 0x42)
        #expect(m.cpu.state[.rsp] == 8 << 20)
        #expect(m.cpu.state[.rdi] == 8 << 20)
        #expect(m.memory.load(UInt64.self, at: MachineAddress((8 << 20) - 8)) == 0x42)
    }

    @Test func theConsoleKeptInTheResultIsBounded() throws {
        // mov ecx, 10 ; L: mov al, 'x' ; out 0xE9, al ; dec ecx ; jnz L ; hlt
        let m = try machine([0xB9, 0x0A, 0, 0, 0, 0xB0, 0x78, 0xE6, 0xE9, 0xFF, 0xC9, 0x75, 0xF8, 0xF4], consoleCapacity: 4)
        var streamed = 0
        let r = m.run { _ in streamed += 1 }
        #expect(r.outcome == .halted)
        #expect(streamed == 10)
        #expect(r.console.count == 4)
        #expect(r.consoleTruncated)
    }

    @Test func stringIOIsRefused() throws {
        // mov dx, 0xE9 ; outsb
        let r = try machine([0x66, 0xBA, 0xE9, 0x00, 0x6E]).run()
        #expect(r.outcome.failure == .stringIO(port: 0xE9, rip: load + 4))
    }
}
