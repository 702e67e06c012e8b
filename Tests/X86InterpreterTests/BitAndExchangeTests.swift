import GuestMemory
import Testing
import X86
@testable import X86Interpreter

@Suite struct BitAndExchangeTests {
    @Test func bitTestRegisterForms() throws {
        // bts rax, 63 (48 0F BA E8 3F): CF = old bit (0); btc eax, ecx with ECX = 33 → bit 1.
        let (a, _, _) = try execute([0x48, 0x0F, 0xBA, 0xE8, 0x3F]) { $0[.rax] = 1 }
        #expect(a[.rax] == (1 << 63) | 1 && !a.rflags.contains(.carry))
        let (b, _, _) = try execute([0x0F, 0xBB, 0xC8]) { $0[.rax] = 2; $0[.rcx] = 33 }
        #expect(b[.rax] == 0 && b.rflags.contains(.carry))
    }

    @Test func bitTestMemoryWithOffsetsBeyondTheOperand() throws {
        // bts qword [rbx], rcx (48 0F AB 0B) with RCX = 64 + 3 sets bit 3 of [rbx+8];
        // with RCX = -1 sets bit 63 of [rbx-8].
        let (_, _, m) = try execute([0x48, 0x0F, 0xAB, 0x0B]) { $0[.rbx] = TestMachine.dataBase + 16; $0[.rcx] = 67 }
        #expect(m.load64(TestMachine.dataBase + 24) == 8)
        let (_, _, n) = try execute([0x48, 0x0F, 0xAB, 0x0B]) { $0[.rbx] = TestMachine.dataBase + 16; $0[.rcx] = ~0 }
        #expect(n.load64(TestMachine.dataBase + 8) == 1 << 63)
        // bt dword [rbx], 35 with an immediate wraps within the operand (0F BA 23 23): bit 3.
        let m2 = try TestMachine(code: [0x0F, 0xBA, 0x23, 0x23, 0xF4])
        m2.store64(8, at: TestMachine.dataBase)
        var s = m2.state
        s[.rbx] = TestMachine.dataBase
        m2.state = s
        m2.run()
        #expect(m2.state.rflags.contains(.carry))
    }

    @Test func scansAndCounts() throws {
        // bsf rax, rbx (48 0F BC C3); bsr eax, ebx (0F BD C3); zero source keeps the destination.
        let (a, _, _) = try execute([0x48, 0x0F, 0xBC, 0xC3]) { $0[.rbx] = 0x100 }
        #expect(a[.rax] == 8 && !a.rflags.contains(.zero))
        let (b, _, _) = try execute([0x0F, 0xBD, 0xC3]) { $0[.rbx] = 0x8000_0001 }
        #expect(b[.rax] == 31)
        let (c, _, _) = try execute([0x0F, 0xBC, 0xC3]) { $0[.rax] = 0xFFFF_FFFF_1234_5678; $0[.rbx] = 0 }
        #expect(c[.rax] == 0xFFFF_FFFF_1234_5678 && c.rflags.contains(.zero))
        // tzcnt eax, ebx (F3 0F BC C3) of 0 → 32 with CF; lzcnt rax, rbx (F3 48 0F BD C3) of 1 → 63.
        let (d, _, _) = try execute([0xF3, 0x0F, 0xBC, 0xC3]) { $0[.rbx] = 0 }
        #expect(d[.rax] == 32 && d.rflags.contains(.carry))
        let (e, _, _) = try execute([0xF3, 0x48, 0x0F, 0xBD, 0xC3]) { $0[.rbx] = 1 }
        #expect(e[.rax] == 63 && !e.rflags.contains(.carry))
        // popcnt rax, rbx (F3 48 0F B8 C3); without F3 the opcode is #UD.
        let (f, _, _) = try execute([0xF3, 0x48, 0x0F, 0xB8, 0xC3]) { $0[.rbx] = 0xF0F0 }
        #expect(f[.rax] == 8)
        let (_, g, _) = try execute([0x48, 0x0F, 0xB8, 0xC3])
        #expect(g == .exception(.undefinedOpcode))
    }

    @Test func cmpxchgRegisterSemanticsMatchHardware() throws {
        // cmpxchg ecx, edx (0F B1 D1), failing: EAX ← ECX (zero-extended), ECX untouched.
        let (a, _, _) = try execute([0x0F, 0xB1, 0xD1]) { $0[.rax] = 0xAAAA_AAAA_0000_0001; $0[.rcx] = 0xFFFF_FFFF_1234_5678; $0[.rdx] = 5 }
        #expect(a[.rax] == 0x1234_5678 && a[.rcx] == 0xFFFF_FFFF_1234_5678 && !a.rflags.contains(.zero))
        // succeeding: ECX ← EDX, RAX untouched (measured on Intel hardware).
        let (b, _, _) = try execute([0x0F, 0xB1, 0xD1]) { $0[.rax] = 0xAAAA_AAAA_0000_0001; $0[.rcx] = 0xFFFF_FFFF_0000_0001; $0[.rdx] = 5 }
        #expect(b[.rax] == 0xAAAA_AAAA_0000_0001 && b[.rcx] == 5 && b.rflags.contains(.zero))
    }

    @Test func cmpxchg16bNeedsAlignmentAndSwapsAtomically() throws {
        // lock cmpxchg16b [rbx] (F0 48 0F C7 0B)
        let code: [UInt8] = [0xF0, 0x48, 0x0F, 0xC7, 0x0B]
        let (_, exit, _) = try execute(code) { $0[.rbx] = TestMachine.dataBase + 8 }
        #expect(exit == .exception(.generalProtection(0)))
        let (s, _, m) = try execute(code) {
            $0[.rbx] = TestMachine.dataBase
            $0[.rax] = 0; $0[.rdx] = 0
            $0[.rcx] = 0x2222; $0[.rbx] = TestMachine.dataBase
        }
        #expect(s.rflags.contains(.zero))
        #expect(m.load64(TestMachine.dataBase) == TestMachine.dataBase && m.load64(TestMachine.dataBase + 8) == 0x2222)
        // cmpxchg8b [rbx] mismatch loads EDX:EAX (0F C7 0B).
        let m2 = try TestMachine(code: [0x0F, 0xC7, 0x0B, 0xF4])
        m2.store64(0x1111_2222_3333_4444, at: TestMachine.dataBase)
        var t = m2.state
        t[.rbx] = TestMachine.dataBase
        m2.state = t
        m2.run()
        #expect(m2.state[.rax] == 0x3333_4444 && m2.state[.rdx] == 0x1111_2222 && !m2.state.rflags.contains(.zero))
    }

    @Test func xaddExchangesAndAdds() throws {
        // lock xadd qword [rbx], rcx (F0 48 0F C1 0B)
        let m = try TestMachine(code: [0xF0, 0x48, 0x0F, 0xC1, 0x0B, 0xF4])
        m.store64(40, at: TestMachine.dataBase)
        var s = m.state
        s[.rbx] = TestMachine.dataBase
        s[.rcx] = 2
        m.state = s
        m.run()
        #expect(m.load64(TestMachine.dataBase) == 42 && m.state[.rcx] == 40)
    }

    @Test func bitTestWithANegative32BitOffsetReachesBelowTheOperand() throws {
        // bt dword [rbx], ecx (0F A3 0B) with ECX = -33 (upper half of RCX ignored): unit
        // -33 >> 5 = -2 → [rbx-8], bit -33 & 31 = 31.
        let m = try TestMachine(code: [0x0F, 0xA3, 0x0B, 0xF4])
        m.store64(0x8000_0000, at: TestMachine.dataBase + 8)
        var s = m.state
        s[.rbx] = TestMachine.dataBase + 16
        s[.rcx] = 0x1234_5678_FFFF_FFDF
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rflags.contains(.carry))
    }

    @Test func countInstructionsClearTheUndefinedFlags() throws {
        // tzcnt eax, ebx (F3 0F BC C3) of 0x80 → 7; OF SF AF PF cleared as on Intel (measured).
        let (s, _, _) = try execute([0xF3, 0x0F, 0xBC, 0xC3]) {
            $0[.rbx] = 0x80
            $0.rflags = RFlags(rawValue: $0.rflags.rawValue | statusFlags)
        }
        #expect(s[.rax] == 7 && s.rflags.rawValue & statusFlags == 0)
        // bsr eax, ebx (0F BD C3) of 0x80 → 7: PF from the index (odd parity → clear), rest clear.
        let (t, _, _) = try execute([0x0F, 0xBD, 0xC3]) {
            $0[.rbx] = 0x80
            $0.rflags = RFlags(rawValue: $0.rflags.rawValue | statusFlags)
        }
        #expect(t[.rax] == 7 && t.rflags.rawValue & statusFlags == 0)
    }

    @Test func xaddOfARegisterWithItselfKeepsTheSum() throws {
        // xadd eax, eax (0F C1 C0): the destination is written last, so EAX = 2 × EAX.
        let (s, _, _) = try execute([0x0F, 0xC1, 0xC0]) { $0[.rax] = 21 }
        #expect(s[.rax] == 42)
    }

    @Test func failingCmpxchgStillWritesItsMemoryOperand() throws {
        // cmpxchg dword [rbx], ecx (0F B1 0B) on a read-only page faults as a write even
        // though the comparison fails; nothing changes.
        let m = try TestMachine(code: [0x0F, 0xB1, 0x0B, 0xF4])
        try m.tables.map(linear: TestMachine.dataBase, to: MachineAddress(TestMachine.dataBase).frame, flags: PTE.user)
        var s = m.state
        s[.rbx] = TestMachine.dataBase
        s[.rax] = 1
        m.state = s
        #expect(m.run() == .exception(.pageFault(address: TestMachine.dataBase, code: [.present, .write])))
        #expect(m.state[.rax] == 1 && m.state.rip == TestMachine.codeBase)
    }

    @Test func cmpxchg16bOnAPageHoldingCode() throws {
        // cmpxchg16b [rbx] (48 0F C7 0B) on an operand in the code page, which never has a
        // cached writable mapping: it still compares and swaps.
        let operand = TestMachine.codeBase + 0x100
        let m = try TestMachine(code: [0x48, 0x0F, 0xC7, 0x0B, 0xF4])
        m.store64(5, at: operand)
        m.store64(6, at: operand + 8)
        var s = m.state
        s[.rbx] = operand
        s[.rax] = 5; s[.rdx] = 6
        s[.rcx] = 0xCC
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rflags.contains(.zero))
        #expect(m.load64(operand) == operand && m.load64(operand + 8) == 0xCC)
    }

    @Test func lockedXaddAndCmpxchgLoopsAreAtomicAcrossVCPUs() throws {
        // mov eax, 1; lock xadd dword [rbx], eax (B8 01 00 00 00 F0 0F C1 03)
        #expect(try AtomicityTests().race([0xB8, 1, 0, 0, 0, 0xF0, 0x0F, 0xC1, 0x03], iterations: 100_000) == 200_000)
        // r: mov eax, [rbx]; lea edx, [rax+1]; lock cmpxchg [rbx], edx; jnz r
        let casLoop: [UInt8] = [0x8B, 0x03, 0x8D, 0x50, 0x01, 0xF0, 0x0F, 0xB1, 0x13, 0x75, 0xF5]
        #expect(try AtomicityTests().race(casLoop, iterations: 100_000) == 200_000)
    }
}
