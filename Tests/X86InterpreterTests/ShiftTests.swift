import GuestMemory
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

    // The flags below are those the SDM leaves undefined; the expected values were measured
    // on the host's Intel CPU (family 6 Xeon) with the same inputs.

    @Test func overflowForLongShiftsIsTheOneBitRuleOnTheOriginal() throws {
        // shl eax, cl (D3 E0) with CL = 2 and 0xC0000000: result 0, CF = 1, ZF, PF; OF =
        // MSB ^ next bit of the original = 0 (not MSB(result) ^ CF, which would be 1).
        let (a, _, _) = try execute([0xD3, 0xE0]) { $0[.rax] = 0xC000_0000; $0[.rcx] = 2 }
        #expect(a[.rax] == 0 && a.rflags.rawValue & statusFlags == 0x45)
        // rol eax, cl (D3 C0) with CL = 5 and 0x80000000 → 0x10, OF = 1, CF = 0.
        let (b, _, _) = try execute([0xD3, 0xC0]) { $0[.rax] = 0x8000_0000; $0[.rcx] = 5 }
        #expect(b[.rax] == 0x10 && b.rflags.rawValue & statusFlags == 0x800)
    }

    @Test func rotateByAnImmediateOtherThanOneKeepsOverflow() throws {
        // rol eax, 5 (C1 C0 05) with 0x80000000 → 0x10: OF keeps its old value either way.
        for of: UInt64 in [0, 0x800] {
            let (s, _, _) = try execute([0xC1, 0xC0, 0x05]) {
                $0[.rax] = 0x8000_0000
                $0.rflags = RFlags(rawValue: $0.rflags.rawValue | of)
            }
            #expect(s[.rax] == 0x10 && s.rflags.rawValue & statusFlags == of)
        }
    }

    @Test func rotateThroughCarryByAWrappingCountChangesNoFlags() throws {
        // rcl al, cl (D2 D0) with CL = 9: 9 mod 9 = 0, so AL and every flag stay.
        let (s, _, _) = try execute([0xD2, 0xD0]) {
            $0[.rax] = 0x5A; $0[.rcx] = 9
            $0.rflags = RFlags(rawValue: $0.rflags.rawValue | statusFlags)
        }
        #expect(s[.rax] == 0x5A && s.rflags.rawValue & statusFlags == statusFlags)
    }

    @Test func sixteenBitDoubleShiftsBeyondSixteen() throws {
        // shrd ax, bx, cl (66 0F AD D8) and shld ax, bx, cl (66 0F A5 D8) with CL = 20,
        // AX = 0x1234, BX = 0xABCD: the 48-bit pattern AX:BX:AX is shifted.
        let (a, _, _) = try execute([0x66, 0x0F, 0xAD, 0xD8]) { $0[.rax] = 0x1234; $0[.rbx] = 0xABCD; $0[.rcx] = 20 }
        #expect(a[.rax] == 0x4ABC && a.rflags.rawValue & statusFlags == 0x801)
        let (b, _, _) = try execute([0x66, 0x0F, 0xA5, 0xD8]) { $0[.rax] = 0x1234; $0[.rbx] = 0xABCD; $0[.rcx] = 20 }
        #expect(b[.rax] == 0xBCD1 && b.rflags.rawValue & statusFlags == 0x84)
    }

    @Test func shiftByZeroStillWritesMemory() throws {
        // shl dword [rbx], cl (D3 23) with CL = 0 on a read-only page: Intel processors do the
        // write access anyway (measured: SIGSEGV), so it is #PF with the write bit.
        let m = try TestMachine(code: [0xD3, 0x23, 0xF4])
        try m.tables.map(linear: TestMachine.dataBase, to: MachineAddress(TestMachine.dataBase).frame, flags: PTE.user)
        var s = m.state
        s[.rbx] = TestMachine.dataBase
        s[.rcx] = 0
        m.state = s
        #expect(m.run() == .exception(.pageFault(address: TestMachine.dataBase, code: [.present, .write])))
    }
}
