import Testing
import X86
@testable import X86Interpreter

/// Runs `code` (followed by HLT) from a fresh machine after `setup`, and returns the state.
func execute(_ code: [UInt8], cpl: UInt8 = 0, setup: (inout CPUState) -> Void = { _ in }) throws -> (CPUState, VCPUExit, TestMachine) {
    let m = try TestMachine(code: code + [0xF4], cpl: cpl)
    var s = m.state
    setup(&s)
    m.state = s
    let exit = m.run()
    return (m.state, exit, m)
}

let statusFlags: UInt64 = 0x8D5

@Suite struct ALUTests {
    @Test func addSetsCarryOverflowAndAuxCarry() throws {
        // add al, bl with 0x7F + 0x01: OF, AF, SF set; CF, ZF clear; PF clear (0x80 has one bit).
        let (s, exit, _) = try execute([0x00, 0xD8]) { $0[.rax] = 0x7F; $0[.rbx] = 1 }
        #expect(exit == .hlt(length: 1))
        #expect(s[.rax] == 0x80)
        #expect(s.rflags.rawValue & statusFlags == (RFlags.overflow.rawValue | RFlags.auxCarry.rawValue | RFlags.sign.rawValue))
    }

    @Test func subBorrowAndZero() throws {
        // sub eax, ebx with 1 - 2 = 0xFFFFFFFF (zero-extended into RAX); CF, SF, AF, PF set.
        let (s, _, _) = try execute([0x29, 0xD8]) { $0[.rax] = 0xDEAD_0000_0000_0001; $0[.rbx] = 2 }
        #expect(s[.rax] == 0xFFFF_FFFF)
        #expect(s.rflags.contains([.carry, .sign, .auxCarry, .parity]))
        #expect(!s.rflags.contains(.zero) && !s.rflags.contains(.overflow))
        // cmp rax, rax: ZF and PF, nothing else; RAX unchanged.
        let (t, _, _) = try execute([0x48, 0x39, 0xC0]) { $0[.rax] = 42 }
        #expect(t[.rax] == 42)
        #expect(t.rflags.rawValue & statusFlags == RFlags.zero.rawValue | RFlags.parity.rawValue)
    }

    @Test func adcAndSbbUseCarryIn() throws {
        // stc; adc rax, rbx: 0xFFFF_FFFF_FFFF_FFFF + 0 + 1 = 0 with CF=1, ZF=1.
        let (s, _, _) = try execute([0xF9, 0x48, 0x11, 0xD8]) { $0[.rax] = ~0; $0[.rbx] = 0 }
        #expect(s[.rax] == 0)
        #expect(s.rflags.contains([.carry, .zero]))
        // stc; sbb eax, 0 (83 /3 ib): 0 - 0 - 1 = 0xFFFFFFFF with CF=1.
        let (t, _, _) = try execute([0xF9, 0x83, 0xD8, 0x00]) { $0[.rax] = 0 }
        #expect(t[.rax] == 0xFFFF_FFFF)
        #expect(t.rflags.contains(.carry))
    }

    @Test func logicClearsCarryAndOverflow() throws {
        // stc; xor rax, rax → 0, CF=OF=0, ZF=PF=1.
        let (s, _, _) = try execute([0xF9, 0x48, 0x31, 0xC0]) { $0[.rax] = 77 }
        #expect(s[.rax] == 0)
        #expect(s.rflags.rawValue & statusFlags == RFlags.zero.rawValue | RFlags.parity.rawValue)
    }

    @Test func incDecPreserveCarry() throws {
        // stc; inc al (0xFF → 0): ZF, AF, CF kept.
        let (s, _, _) = try execute([0xF9, 0xFE, 0xC0]) { $0[.rax] = 0xFF }
        #expect(s[.rax] == 0)
        #expect(s.rflags.contains([.carry, .zero, .auxCarry]))
        // clc; dec eax (0x80000000 → 0x7FFFFFFF): OF set, CF clear.
        let (t, _, _) = try execute([0xF8, 0xFF, 0xC8]) { $0[.rax] = 0x8000_0000 }
        #expect(t[.rax] == 0x7FFF_FFFF)
        #expect(t.rflags.contains(.overflow) && !t.rflags.contains(.carry))
    }

    @Test func negOfZeroClearsCarry() throws {
        // neg rax with 0 → CF=0; with 5 → CF=1, result -5.
        let (s, _, _) = try execute([0x48, 0xF7, 0xD8]) { $0[.rax] = 0 }
        #expect(!s.rflags.contains(.carry) && s.rflags.contains(.zero))
        let (t, _, _) = try execute([0x48, 0xF7, 0xD8]) { $0[.rax] = 5 }
        #expect(t[.rax] == UInt64(bitPattern: -5) && t.rflags.contains(.carry))
    }

    @Test func highByteRegistersWithoutRex() throws {
        // add ah, bh (00 FC): AH = 0x12 + 0x34.
        let (s, _, _) = try execute([0x00, 0xFC]) { $0[.rax] = 0x1200; $0[.rbx] = 0x3400 }
        #expect(s[.rax] == 0x4600 && s[.rbx] == 0x3400)
        // With REX (40 00 FC) the same ModRM means add spl, dil.
        let (t, _, _) = try execute([0x40, 0x00, 0xFC]) { $0[.rsp] = 0x10_0001; $0[.rdi] = 2 }
        #expect(t[.rsp] == 0x10_0003)
    }

    @Test func memoryDestinationWithLock() throws {
        // lock add qword [rbx], rcx ; rbx = data
        let (s, _, m) = try execute([0xF0, 0x48, 0x01, 0x0B]) {
            $0[.rbx] = TestMachine.dataBase
            $0[.rcx] = 0x1_0000_0001
        }
        _ = s
        #expect(m.load64(TestMachine.dataBase) == 0x1_0000_0001)
        // LOCK on a register destination is #UD: lock add rax, rcx.
        let (_, exit, _) = try execute([0xF0, 0x48, 0x01, 0xC8])
        #expect(exit == .exception(.undefinedOpcode))
    }

    @Test func immediateFormsSignExtend() throws {
        // add rax, -1 (48 83 C0 FF) and and eax, 0x80000000 (25 imm32) zero-extends.
        let (s, _, _) = try execute([0x48, 0x83, 0xC0, 0xFF]) { $0[.rax] = 1 }
        #expect(s[.rax] == 0 && s.rflags.contains(.carry))
        let (t, _, _) = try execute([0x25, 0x00, 0x00, 0x00, 0x80]) { $0[.rax] = ~0 }
        #expect(t[.rax] == 0x8000_0000)
        // and rax, imm32 sign-extends to 64 bits: 48 25 00 00 00 80.
        let (u, _, _) = try execute([0x48, 0x25, 0x00, 0x00, 0x00, 0x80]) { $0[.rax] = ~0 }
        #expect(u[.rax] == 0xFFFF_FFFF_8000_0000)
    }
}
