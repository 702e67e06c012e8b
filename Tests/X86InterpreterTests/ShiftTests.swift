import Testing
import X86
@testable import X86Interpreter

@Suite struct ShiftTests {
    @Test func shiftByZeroChangesNoFlagsButZeroExtends32BitRegisters() throws {
        // stc; shl eax, cl with CL = 0 (D3 E0): CF stays set, upper half of RAX cleared
        // (measured on Intel hardware).
        let (s, _, _) = try execute([0xF9, 0xD3, 0xE0]) { $0[.rax] = 0xFFFF_FFFF_1234_5678; $0[.rcx] = 0 }
        #expect(s[.rax] == 0x1234_5678 && s.rflags.contains(.carry))
        // shl rax, 64 masks the count to 0: nothing changes (48 C1 E0 40).
        let (t, _, _) = try execute([0xF9, 0x48, 0xC1, 0xE0, 0x40]) { $0[.rax] = 3 }
        #expect(t[.rax] == 3 && t.rflags.contains(.carry))
    }

    @Test func shiftByOneSetsOverflow() throws {
        // shl al, 1 (D0 E0) with 0x40 → 0x80: CF=0, OF=1 (sign changed), SF=1.
        let (a, _, _) = try execute([0xD0, 0xE0]) { $0[.rax] = 0x40 }
        #expect(a[.rax] == 0x80 && a.rflags.contains([.overflow, .sign]) && !a.rflags.contains(.carry))
        // shr al, 1 with 0x81 → 0x40: CF=1, OF = old MSB = 1.
        let (b, _, _) = try execute([0xD0, 0xE8]) { $0[.rax] = 0x81 }
        #expect(b[.rax] == 0x40 && b.rflags.contains([.carry, .overflow]))
        // sar al, 1 with 0x81 → 0xC0: CF=1, OF=0.
        let (c, _, _) = try execute([0xD0, 0xF8]) { $0[.rax] = 0x81 }
        #expect(c[.rax] == 0xC0 && c.rflags.contains(.carry) && !c.rflags.contains(.overflow))
    }

    @Test func shiftsByImmediateAndCL() throws {
        // shl rax, 4 (48 C1 E0 04); shr ebx, cl (D3 EB); sar rdx, 63 (48 C1 FA 3F)
        let (s, _, _) = try execute([0x48, 0xC1, 0xE0, 0x04, 0xD3, 0xEB, 0x48, 0xC1, 0xFA, 0x3F]) {
            $0[.rax] = 0x1_0000_0001; $0[.rbx] = 0x100; $0[.rcx] = 4; $0[.rdx] = 1 << 63
        }
        #expect(s[.rax] == 0x10_0000_0010 && s[.rbx] == 0x10 && s[.rdx] == ~0)
        // shl al, 3 with 0x80: result 0, CF = last bit out = 0, ZF, PF.
        let (t, _, _) = try execute([0xC0, 0xE0, 0x03]) { $0[.rax] = 0x80 }
        #expect(t[.rax] == 0 && t.rflags.contains([.zero, .parity]) && !t.rflags.contains(.carry))
    }

    @Test func rotates() throws {
        // rol eax, 32 masks to 0? No: the mask is 5 bits, so 32 → 0 and nothing changes (C1 C0 20).
        let (a, _, _) = try execute([0xC1, 0xC0, 0x20]) { $0[.rax] = 0xFFFF_FFFF_1234_5678 }
        #expect(a[.rax] == 0x1234_5678)
        // rol al, 8 (C0 C0 08): masked count 8 ≠ 0, rotation by 0 mod 8; CF = LSB(result).
        let (b, _, _) = try execute([0xC0, 0xC0, 0x08]) { $0[.rax] = 0x81 }
        #expect(b[.rax] == 0x81 && b.rflags.contains(.carry))
        // ror rax, 4 (48 C1 C8 04)
        let (c, _, _) = try execute([0x48, 0xC1, 0xC8, 0x04]) { $0[.rax] = 0x1F }
        #expect(c[.rax] == 0xF000_0000_0000_0001 && c.rflags.contains(.carry))
        // stc; rcl al, 1 (D0 D0) with 0x80 → 0x01, CF = 1; rcr bl, 9 is rotation through 9 bits.
        let (d, _, _) = try execute([0xF9, 0xD0, 0xD0]) { $0[.rax] = 0x80 }
        #expect(d[.rax] == 0x01 && d.rflags.contains(.carry))
        let (e, _, _) = try execute([0xF8, 0xC0, 0xDB, 0x09]) { $0[.rbx] = 0x5A }
        #expect(e[.rbx] == 0x5A && !e.rflags.contains(.carry))
    }

    @Test func doublePrecisionShifts() throws {
        // shld rax, rbx, 8 (48 0F A4 D8 08); shrd eax, ebx, cl (0F AD D8)
        let (a, _, _) = try execute([0x48, 0x0F, 0xA4, 0xD8, 0x08]) { $0[.rax] = 0x0011_2233_4455_6677; $0[.rbx] = 0xAB00_0000_0000_0000 }
        #expect(a[.rax] == 0x1122_3344_5566_77AB)
        let (b, _, _) = try execute([0x0F, 0xAD, 0xD8]) { $0[.rax] = 0x1234_5678; $0[.rbx] = 0xCD; $0[.rcx] = 8 }
        #expect(b[.rax] == 0xCD12_3456 && !b.rflags.contains(.carry))
    }

    @Test func memoryOperandShift() throws {
        // shl qword [rbx], 1 (48 D1 23)
        let (_, _, m) = try execute([0x48, 0xD1, 0x23]) { $0[.rbx] = TestMachine.dataBase }
        #expect(m.load64(TestMachine.dataBase) == 0)
        let m2 = try TestMachine(code: [0x48, 0xD1, 0x23, 0xF4])
        m2.store64(0x8000_0000_0000_0001, at: TestMachine.dataBase)
        var s = m2.state
        s[.rbx] = TestMachine.dataBase
        m2.state = s
        m2.run()
        #expect(m2.load64(TestMachine.dataBase) == 2 && m2.state.rflags.contains(.carry))
    }
}
