import Testing
import X86
@testable import X86Interpreter

@Suite struct MulDivTests {
    @Test func mulWidths() throws {
        // mul bl (F6 E3): AX = AL * BL = 0x80 * 4 = 0x200, CF=OF=1.
        let (a, _, _) = try execute([0xF6, 0xE3]) { $0[.rax] = 0x80; $0[.rbx] = 4 }
        #expect(a[.rax] == 0x200 && a.rflags.contains([.carry, .overflow]))
        // mul rbx (48 F7 E3): RDX:RAX = 2^63 * 4.
        let (b, _, _) = try execute([0x48, 0xF7, 0xE3]) { $0[.rax] = 1 << 63; $0[.rbx] = 4 }
        #expect(b[.rax] == 0 && b[.rdx] == 2)
        // mul ecx (F7 E1): high half zero → CF=OF=0; RDX upper bits cleared.
        let (c, _, _) = try execute([0xF7, 0xE1]) { $0[.rax] = 3; $0[.rcx] = 5; $0[.rdx] = ~0 }
        #expect(c[.rax] == 15 && c[.rdx] == 0 && !c.rflags.contains(.carry))
    }

    @Test func imulForms() throws {
        // imul rbx (48 F7 EB): -2 * 3 = -6 in RDX:RAX, no overflow.
        let (a, _, _) = try execute([0x48, 0xF7, 0xEB]) { $0[.rax] = UInt64(bitPattern: -2); $0[.rbx] = 3 }
        #expect(a[.rax] == UInt64(bitPattern: -6) && a[.rdx] == ~0 && !a.rflags.contains(.overflow))
        // imul eax, ebx, 0x10 (6B C3 10) and imul rax, rbx (48 0F AF C3) with overflow.
        let (b, _, _) = try execute([0x6B, 0xC3, 0x10]) { $0[.rbx] = 0x1000_0000 }
        #expect(b[.rax] == 0 && b.rflags.contains([.carry, .overflow]))
        let (c, _, _) = try execute([0x48, 0x0F, 0xAF, 0xC3]) { $0[.rax] = 7; $0[.rbx] = UInt64(bitPattern: -3) }
        #expect(c[.rax] == UInt64(bitPattern: -21) && !c.rflags.contains(.carry))
        // imul ax, bx, -1 (66 6B C3 FF): 16-bit with sign-extended imm8.
        let (d, _, _) = try execute([0x66, 0x6B, 0xC3, 0xFF]) { $0[.rax] = 0xAAAA_0000; $0[.rbx] = 2 }
        #expect(d[.rax] == 0xAAAA_FFFE)
    }

    @Test func divAndRemainder() throws {
        // div rcx (48 F7 F1): 100 / 7 = 14 r 2.
        let (a, _, _) = try execute([0x48, 0xF7, 0xF1]) { $0[.rax] = 100; $0[.rdx] = 0; $0[.rcx] = 7 }
        #expect(a[.rax] == 14 && a[.rdx] == 2)
        // div rcx with a 128-bit dividend 2^64 + 5 by 2: quotient 2^63 + 2, remainder 1.
        let (b, _, _) = try execute([0x48, 0xF7, 0xF1]) { $0[.rax] = 5; $0[.rdx] = 1; $0[.rcx] = 2 }
        #expect(b[.rax] == (1 << 63) + 2 && b[.rdx] == 1)
        // div bl (F6 F3): AX = 0x0105 / 2 → AL = 0x82, AH = 1.
        let (c, _, _) = try execute([0xF6, 0xF3]) { $0[.rax] = 0x105; $0[.rbx] = 2 }
        #expect(c[.rax] & 0xFFFF == 0x0182)
        // idiv ecx (F7 F9): -7 / 2 = -3 r -1 (truncation toward zero).
        let (d, _, _) = try execute([0xF7, 0xF9]) { $0[.rax] = 0xFFFF_FFF9; $0[.rdx] = 0xFFFF_FFFF; $0[.rcx] = 2 }
        #expect(d[.rax] == 0xFFFF_FFFD && d[.rdx] == 0xFFFF_FFFF)
        // idiv rcx: -2^64+... : RDX:RAX = -9, divisor -4 → 2 r -1.
        let (e, _, _) = try execute([0x48, 0xF7, 0xF9]) { $0[.rax] = UInt64(bitPattern: -9); $0[.rdx] = ~0; $0[.rcx] = UInt64(bitPattern: -4) }
        #expect(e[.rax] == 2 && e[.rdx] == UInt64(bitPattern: -1))
    }

    @Test func divideErrorsFaultBeforeChangingState() throws {
        let cases: [([UInt8], (inout CPUState) -> Void)] = [
            ([0x48, 0xF7, 0xF1], { $0[.rax] = 1; $0[.rcx] = 0 }),  // div rcx by zero
            ([0x48, 0xF7, 0xF1], { $0[.rdx] = 7; $0[.rcx] = 7 }),  // quotient ≥ 2^64
            ([0xF6, 0xF3], { $0[.rax] = 0x200; $0[.rbx] = 2 }),  // div bl: 0x100 does not fit AL
            ([0x48, 0xF7, 0xF9], { $0[.rax] = 1 << 63; $0[.rdx] = ~0; $0[.rcx] = ~0 }),  // INT64_MIN / -1
            ([0xF7, 0xF9], { $0[.rax] = 0; $0[.rdx] = 0x8000_0000; $0[.rcx] = 0xFFFF_FFFF }),  // 64-bit dividend / -1 overflows
            ([0xF7, 0xF9], { $0[.rax] = 0x8000_0000; $0[.rdx] = 0xFFFF_FFFF; $0[.rcx] = 0xFFFF_FFFF }),  // INT32_MIN / -1
        ]
        for (code, setup) in cases {
            let m = try TestMachine(code: code + [0xF4])
            var s = m.state
            setup(&s)
            m.state = s
            let before = m.state
            #expect(m.run() == .exception(.divideError), "\(code)")
            #expect(m.state == before)
        }
    }

    @Test func multiplyLeavesZFClearEvenForAZeroProduct() throws {
        // mul ebx (F7 E3) of 0 × 5 on Intel: PF set, ZF, SF, AF, CF, OF clear (measured).
        let (s, _, _) = try execute([0xF7, 0xE3]) {
            $0[.rax] = 0; $0[.rbx] = 5
            $0.rflags = RFlags(rawValue: $0.rflags.rawValue | statusFlags)
        }
        #expect(s[.rax] == 0 && s.rflags.rawValue & statusFlags == RFlags.parity.rawValue)
    }

    @Test func divideKeepsTheFlags() throws {
        // div ebx (F7 F3): 100 / 7 = 14 r 2; the undefined flags keep their values, as measured.
        let (s, _, _) = try execute([0xF7, 0xF3]) {
            $0[.rax] = 100; $0[.rbx] = 7
            $0.rflags = RFlags(rawValue: $0.rflags.rawValue | statusFlags)
        }
        #expect(s[.rax] == 14 && s[.rdx] == 2 && s.rflags.rawValue & statusFlags == statusFlags)
    }

    @Test func byteIdivOfMinusOneTwentyEightByMinusOneFaults() throws {
        // idiv bl (F6 FB) with AX = -128 and BL = -1: +128 does not fit AL → #DE, RIP at it.
        let (s, exit, _) = try execute([0xF6, 0xFB]) { $0[.rax] = 0xFF80; $0[.rbx] = 0xFF }
        #expect(exit == .exception(.divideError))
        #expect(s.rip == TestMachine.codeBase && s[.rax] == 0xFF80)
    }
}
