import Testing
import X86
@testable import X86Interpreter

@Suite struct DataMovementTests {
    @Test func movWidthsMergeOrZeroExtend() throws {
        // mov eax, ebx (89 D8) zero-extends; mov ax, bx (66 89 D8) merges; mov al, bl (88 D8).
        let (a, _, _) = try execute([0x89, 0xD8]) { $0[.rax] = ~0; $0[.rbx] = 0x1234_5678_9ABC_DEF0 }
        #expect(a[.rax] == 0x9ABC_DEF0)
        let (b, _, _) = try execute([0x66, 0x89, 0xD8]) { $0[.rax] = ~0; $0[.rbx] = 0x1234 }
        #expect(b[.rax] == 0xFFFF_FFFF_FFFF_1234)
        let (c, _, _) = try execute([0x88, 0xD8]) { $0[.rax] = ~0; $0[.rbx] = 0x12 }
        #expect(c[.rax] == 0xFFFF_FFFF_FFFF_FF12)
    }

    @Test func movImmediate64AndMoffs() throws {
        // movabs rax, 0x1122334455667788 (48 B8 imm64); mov r9, imm64 (49 B9).
        let (a, _, _) = try execute([0x48, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
        #expect(a[.rax] == 0x1122_3344_5566_7788)
        let (b, _, _) = try execute([0x49, 0xB9, 1, 0, 0, 0, 0, 0, 0, 0x80])
        #expect(b[.r9] == 0x8000_0000_0000_0001)
        // movabs [0x600000], rax (48 A3 moffs64) then movabs eax, [0x600000] (A1 moffs64).
        let (c, _, m) = try execute([0x48, 0xA3, 0, 0, 0x60, 0, 0, 0, 0, 0, 0xA1, 0, 0, 0x60, 0, 0, 0, 0, 0]) {
            $0[.rax] = 0xAABB_CCDD_EEFF_0011
        }
        #expect(m.load64(TestMachine.dataBase) == 0xAABB_CCDD_EEFF_0011)
        #expect(c[.rax] == 0xEEFF_0011)
    }

    @Test func ripRelativeAndSIBAddressing() throws {
        // lea rax, [rip+0x10] (48 8D 05 10 00 00 00): next RIP + 0x10.
        let (a, _, _) = try execute([0x48, 0x8D, 0x05, 0x10, 0, 0, 0])
        #expect(a[.rax] == TestMachine.codeBase + 7 + 0x10)
        // lea rax, [rbx+rcx*8-8] (48 8D 44 CB F8).
        let (b, _, _) = try execute([0x48, 0x8D, 0x44, 0xCB, 0xF8]) { $0[.rbx] = 0x1000; $0[.rcx] = 3 }
        #expect(b[.rax] == 0x1000 + 24 - 8)
        // lea eax, [ebx+ecx] with 67: 32-bit address wraps (67 8D 04 0B).
        let (c, _, _) = try execute([0x67, 0x8D, 0x04, 0x0B]) { $0[.rbx] = 0xFFFF_FFFF; $0[.rcx] = 2 }
        #expect(c[.rax] == 1)
        // lea rax, [r12+r13*2] needs SIB with REX.X/B (4B 8D 04 6C).
        let (d, _, _) = try execute([0x4B, 0x8D, 0x04, 0x6C]) { $0[.r12] = 100; $0[.r13] = 7 }
        #expect(d[.rax] == 114)
    }

    @Test func movzxMovsxMovsxd() throws {
        // movzx eax, bl (0F B6 C3); movsx rax, bx (48 0F BF C3); movsxd rax, ebx (48 63 C3).
        let (a, _, _) = try execute([0x0F, 0xB6, 0xC3]) { $0[.rax] = ~0; $0[.rbx] = 0x80 }
        #expect(a[.rax] == 0x80)
        let (b, _, _) = try execute([0x48, 0x0F, 0xBF, 0xC3]) { $0[.rbx] = 0x8000 }
        #expect(b[.rax] == 0xFFFF_FFFF_FFFF_8000)
        let (c, _, _) = try execute([0x48, 0x63, 0xC3]) { $0[.rbx] = 0x8000_0000 }
        #expect(c[.rax] == 0xFFFF_FFFF_8000_0000)
        // movzx eax, bh (0F B6 C7) reads the high byte without REX.
        let (d, _, _) = try execute([0x0F, 0xB6, 0xC7]) { $0[.rbx] = 0xAB00 }
        #expect(d[.rax] == 0xAB)
    }

    @Test func xchgCmovSetccBswap() throws {
        // xchg rax, rbx (48 93); cmove rcx, rdx taken after cmp (48 39 C0; 48 0F 44 CA).
        let (a, _, _) = try execute([0x48, 0x93]) { $0[.rax] = 1; $0[.rbx] = 2 }
        #expect(a[.rax] == 2 && a[.rbx] == 1)
        let (b, _, _) = try execute([0x48, 0x39, 0xC0, 0x48, 0x0F, 0x44, 0xCA]) { $0[.rdx] = 9 }
        #expect(b[.rcx] == 9)
        // cmovne ecx, edx not taken still zero-extends ECX (0F 45 CA after cmp eax,eax).
        let (c, _, _) = try execute([0x39, 0xC0, 0x0F, 0x45, 0xCA]) { $0[.rcx] = 0xFFFF_FFFF_0000_0005; $0[.rdx] = 9 }
        #expect(c[.rcx] == 5)
        // setb al after stc (F9 0F 92 C0); bswap eax (0F C8).
        let (d, _, _) = try execute([0xF9, 0x0F, 0x92, 0xC0]) { $0[.rax] = 0x100 }
        #expect(d[.rax] == 0x101)
        let (e, _, _) = try execute([0x0F, 0xC8]) { $0[.rax] = 0x1122_3344 }
        #expect(e[.rax] == 0x4433_2211)
    }

    @Test func signExtendAccumulatorForms() throws {
        // cdqe (48 98), cwde (98), cbw (66 98), cqo (48 99), cdq (99).
        let (a, _, _) = try execute([0x48, 0x98]) { $0[.rax] = 0x8000_0000 }
        #expect(a[.rax] == 0xFFFF_FFFF_8000_0000)
        let (b, _, _) = try execute([0x66, 0x98]) { $0[.rax] = 0xFF80 }
        #expect(b[.rax] == 0xFF80)
        let (c, _, _) = try execute([0x48, 0x99]) { $0[.rax] = 1 << 63; $0[.rdx] = 5 }
        #expect(c[.rdx] == ~0)
        let (d, _, _) = try execute([0x99]) { $0[.rax] = 0x7FFF_FFFF; $0[.rdx] = ~0 }
        #expect(d[.rdx] == 0)
    }

    @Test func lahfSahfRoundTrip() throws {
        // stc; lahf (9F); clc; sahf (9E) restores CF.
        let (s, _, _) = try execute([0xF9, 0x9F, 0xF8, 0x9E])
        #expect(s.rflags.contains(.carry))
        #expect((s[.rax] >> 8) & 0xFF == 0x03)
    }
}
