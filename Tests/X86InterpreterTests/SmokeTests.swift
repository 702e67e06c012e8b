import Testing
import X86
@testable import X86Interpreter

@Suite struct SmokeTests {
    @Test func countedLoopRunsToHalt() throws {
        let m = try TestMachine(code: [
            0xB9, 0x0A, 0x00, 0x00, 0x00,  // mov ecx, 10
            0x31, 0xC0,  // xor eax, eax
            0x48, 0x83, 0xC0, 0x03,  // add rax, 3
            0xFF, 0xC9,  // dec ecx
            0x75, 0xF8,  // jnz -8
            0xF4,  // hlt
        ])
        let exit = m.run()
        #expect(exit == .hlt(length: 1))
        #expect(m.state[.rax] == 30)
        #expect(m.state[.rcx] == 0)
        #expect(m.state.rip == TestMachine.codeBase + 15)
    }
}
