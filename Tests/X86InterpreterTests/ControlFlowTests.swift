import Testing
import X86
@testable import X86Interpreter

@Suite struct ControlFlowTests {
    @Test func callAndReturn() throws {
        // call +1 (E8 01 00 00 00); hlt; (target:) mov eax, 7; ret
        let m = try TestMachine(code: [0xE8, 0x01, 0, 0, 0, 0xF4, 0xB8, 7, 0, 0, 0, 0xC3])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 7)
        #expect(m.state[.rsp] == TestMachine.stackTop)
        #expect(m.state.rip == TestMachine.codeBase + 5)
        #expect(m.load64(TestMachine.stackTop - 8) == TestMachine.codeBase + 5)
    }

    @Test func retImmediatePopsArguments() throws {
        // push 1; push 2; call +1; hlt; ret 16
        let m = try TestMachine(code: [0x6A, 1, 0x6A, 2, 0xE8, 1, 0, 0, 0, 0xF4, 0xC2, 0x10, 0x00])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rsp] == TestMachine.stackTop)
    }

    @Test func indirectJumpToNonCanonicalFaultsAtTheJump() throws {
        // jmp rax (FF E0) with a non-canonical target: #GP(0), RIP unchanged.
        let (s, exit, _) = try execute([0xFF, 0xE0]) { $0[.rax] = 0x0000_8000_0000_0000 }
        #expect(exit == .exception(.generalProtection(0)))
        #expect(s.rip == TestMachine.codeBase)
    }

    @Test func loopFamilies() throws {
        // mov ecx, 5; xor eax, eax; inc eax; loop -4 (E2 FC); hlt
        let (s, _, _) = try execute([0xB9, 5, 0, 0, 0, 0x31, 0xC0, 0xFF, 0xC0, 0xE2, 0xFC])
        #expect(s[.rax] == 5 && s[.rcx] == 0)
        // jrcxz +1 skips the int3 when RCX == 0 (E3 01 CC).
        let (t, exit, _) = try execute([0xE3, 0x01, 0xCC]) { $0[.rcx] = 0 }
        #expect(exit == .hlt(length: 1))
        #expect(t.rip == TestMachine.codeBase + 3)
    }

    @Test func pushPopForms() throws {
        // push rbx; pop rcx; push word 0x1234 (66 6A 34? no: 66 68 34 12); pop ax (66 58)
        let (s, _, _) = try execute([0x53, 0x59, 0x66, 0x68, 0x34, 0x12, 0x66, 0x58]) { $0[.rbx] = 0xABCD }
        #expect(s[.rcx] == 0xABCD)
        #expect(s[.rax] & 0xFFFF == 0x1234)
        #expect(s[.rsp] == TestMachine.stackTop)
        // push rsp pushes the old value; pop rsp loads the popped value.
        let (t, _, m) = try execute([0x54, 0x5C])
        #expect(t[.rsp] == TestMachine.stackTop)
        #expect(m.load64(TestMachine.stackTop - 8) == TestMachine.stackTop)
    }

    @Test func enterAndLeave() throws {
        // enter 16, 0 (C8 10 00 00); leave (C9)
        let (s, _, _) = try execute([0xC8, 0x10, 0x00, 0x00]) { $0[.rbp] = 0x1234 }
        #expect(s[.rbp] == TestMachine.stackTop - 8)
        #expect(s[.rsp] == TestMachine.stackTop - 8 - 16)
        let (t, _, _) = try execute([0xC8, 0x10, 0x00, 0x00, 0xC9]) { $0[.rbp] = 0x1234 }
        #expect(t[.rbp] == 0x1234 && t[.rsp] == TestMachine.stackTop)
    }

    @Test func popfAtCPL0ChangesIFAndIOPLButNotAtCPL3() throws {
        // push imm32 0x3202 (IF | IOPL=3); popfq
        let code: [UInt8] = [0x68, 0x02, 0x32, 0x00, 0x00, 0x9D]
        let (s0, _, _) = try execute(code)
        #expect(s0.rflags.contains(.interrupt) && s0.rflags.ioPrivilegeLevel == 3)
        // At CPL 3 the same POPF silently keeps IF and IOPL: the non-virtualizable case.
        let m = try TestMachine(code: code + [0xEB, 0xFE], cpl: 3)
        _ = m.run(budget: 2)
        #expect(!m.state.rflags.contains(.interrupt) && m.state.rflags.ioPrivilegeLevel == 0)
    }

    @Test func selfModifyingCodeTakesEffect() throws {
        // mov byte [rip+1], 0x90 (C6 05 01 00 00 00 90) overwrites the following int3? No:
        // offset 1 past the next instruction start: code = C6 05 01 00 00 00 90 | 90 | CC
        // The store hits the CC at +8 and turns it into NOP, so execution reaches HLT.
        let m = try TestMachine(code: [0xC6, 0x05, 0x01, 0, 0, 0, 0x90, 0x90, 0xCC, 0xF4])
        #expect(m.run() == .hlt(length: 1))
    }

    @Test func undefinedEncodingsRaiseUD() throws {
        for code: [UInt8] in [[0x0F, 0x0B], [0x06], [0xD6], [0x8F, 0xC8], [0xFE, 0xD0], [0xC4, 0xE2, 0x79, 0x18, 0xC0]] {
            let (s, exit, _) = try execute(code)
            #expect(exit == .exception(.undefinedOpcode), "\(code)")
            #expect(s.rip == TestMachine.codeBase)
        }
    }

    @Test func budgetStopsExactly() throws {
        // An endless loop: jmp $ (EB FE). Each run retires exactly its budget.
        let m = try TestMachine(code: [0x90, 0x90, 0xEB, 0xFE])
        #expect(m.run(budget: 1) == .budgetExhausted)
        #expect(m.state.rip == TestMachine.codeBase + 1)
        #expect(m.cpu.retiredInstructions == 1)
        #expect(m.run(budget: 1000) == .budgetExhausted)
        #expect(m.cpu.retiredInstructions == 1001)
    }
}
