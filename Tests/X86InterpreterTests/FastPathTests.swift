import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// The engine's specialised paths (decoder specialisations, inline TLB probes, the cached
/// walk, conditional branches inside blocks) must behave exactly like the general ones,
/// including at their edges: page crossings, code frames, faults and budgets.
@Suite struct FastPathTests {
    func machine(_ code: [UInt8], _ registers: [(GPR, UInt64)] = []) throws -> TestMachine {
        let m = try TestMachine(code: code)
        var s = m.state
        for (r, v) in registers { s[r] = v }
        m.state = s
        return m
    }

    // MARK: Blocks with conditional branches inside

    @Test func takenBranchInsideABlockLeavesIt() throws {
        // mov ecx, 5; loop: dec ecx; jz done; add eax, 1; jmp loop; done: hlt
        let m = try machine([0xB9, 5, 0, 0, 0, 0xFF, 0xC9, 0x74, 0x05, 0x83, 0xC0, 0x01, 0xEB, 0xF7, 0xF4])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 4 && m.state[.rcx] == 0)
    }

    @Test func branchIntoTheMiddleOfABlock() throws {
        // xor eax, eax; mov ecx, 3; L: add eax, 2; dec ecx; jnz L; hlt
        let m = try machine([0x31, 0xC0, 0xB9, 3, 0, 0, 0, 0x83, 0xC0, 0x02, 0xFF, 0xC9, 0x75, 0xF9, 0xF4])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 6)
    }

    @Test func budgetsCutBlocksWithSideExitsExactly() throws {
        // A loop whose block holds a JB to the next instruction (taken: the block stops there)
        // and a JZ: mov ecx, 6; L: cmp ecx, 100; jb +0; add eax, ecx; dec ecx; jz done; jmp L;
        // done: hlt
        let code: [UInt8] = [0xB9, 6, 0, 0, 0, 0x83, 0xF9, 100, 0x72, 0x00, 0x01, 0xC8, 0xFF, 0xC9, 0x74, 0x02, 0xEB, 0xF3, 0xF4]
        // Reference: one instruction per run.
        let stepper = try machine(code)
        var trace: [UInt64] = []
        while stepper.run(budget: 1) == .budgetExhausted { trace.append(stepper.state.rip) }
        #expect(stepper.state[.rax] == 21)
        for budget in 1..<trace.count {
            let m = try machine(code)
            #expect(m.run(budget: budget) == .budgetExhausted)
            #expect(m.state.rip == trace[budget - 1], "budget \(budget)")
            #expect(m.cpu.retiredInstructions == UInt64(budget))
        }
    }

    // MARK: Stores into code through the specialised memory forms

    @Test func readModifyWriteOfTheNextInstructionTakesEffect() throws {
        // add dword [rip+1], 1 bumps the immediate of the following mov eax, 0x10.
        let m = try machine([0x83, 0x05, 0x01, 0, 0, 0, 0x01, 0xB8, 0x10, 0, 0, 0, 0xF4])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 0x11)
    }

    @Test func quadwordStoreOverTheNextInstructionsTakesEffect() throws {
        // mov [rip+0], rax overwrites the next 8 bytes (int3 x 8) with mov eax, 0x22; nop x 3.
        let replacement: UInt64 = 0x9090_9000_0000_22B8
        let m = try machine([0x48, 0x89, 0x05, 0, 0, 0, 0] + [UInt8](repeating: 0xCC, count: 8) + [0xF4], [(.rax, replacement)])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 0x22)
    }

    // MARK: Page crossings and permissions

    @Test func crossingReadModifyWriteUpdatesBothPages() throws {
        let data = TestMachine.dataBase
        // add [rbx], rax; hlt
        let m = try machine([0x48, 0x01, 0x03, 0xF4], [(.rbx, data + 0xFFC), (.rax, 0x1_0000_0001)])
        m.store64(0xFFFF_FFFF, at: data + 0xFFC)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.load64(data + 0xFFC) == 0x2_0000_0000)
        #expect(m.state.rflags.contains(.carry) == false)
    }

    @Test func crossingReadModifyWriteIntoAReadOnlyPageWritesNothing() throws {
        let data = TestMachine.dataBase
        // mov [rbx-4], ecx (the first page is now in the TLB); add [rbx], rax
        let m = try machine([0x89, 0x4B, 0xFC, 0x48, 0x01, 0x03, 0xF4], [(.rbx, data + 0xFFC), (.rax, 1)])
        m.updatePTE(linear: data + 0x1000) { $0 & ~PTE.writable }
        m.store64(0x1234_5678_9ABC_DEF0, at: data + 0xFFC)
        #expect(m.run() == .exception(.pageFault(address: data + 0x1000, code: [.present, .write])))
        #expect(m.load64(data + 0xFFC) == 0x1234_5678_9ABC_DEF0)
        #expect(m.state.rip == TestMachine.codeBase + 3)
    }

    @Test func crossingLoadFromAnUnmappedPageFaultsOnTheSecondPage() throws {
        let end = TestMachine.dataBase + 0x10000  // the data area ends here, unmapped beyond
        // mov ecx, [rbx-4] (the first page is now in the TLB); mov eax, [rbx]
        let m = try machine([0x8B, 0x4B, 0xFC, 0x8B, 0x03, 0xF4], [(.rbx, end - 2)])
        #expect(m.run() == .exception(.pageFault(address: end, code: [])))
        #expect(m.state.rip == TestMachine.codeBase + 3)
    }

    @Test func readModifyWriteOfAReadOnlyPageFaultsAsAWriteButCompareDoesNot() throws {
        let data = TestMachine.dataBase + 0x3000
        // cmp [rbx], eax; sub dword [rbx], 1
        let m = try machine([0x39, 0x03, 0x83, 0x2B, 0x01, 0xF4], [(.rbx, data)])
        m.updatePTE(linear: data) { $0 & ~PTE.writable }
        m.store64(5, at: data)
        #expect(m.run() == .exception(.pageFault(address: data, code: [.present, .write])))
        #expect(m.state.rip == TestMachine.codeBase + 2)
        #expect(m.load64(data) == 5)
    }

    @Test func cachedWalkStillSetsDirtyBitsAndChecksEachPage() throws {
        let region = TestMachine.dataBase
        // mov rax, [rbx] (fills the paging-structure cache for the region);
        // mov [rbx+0x2000], rax (same region: accessed, not yet dirty); mov [rbx+0x4000], rax (read-only)
        let m = try machine([0x48, 0x8B, 0x03, 0x48, 0x89, 0x83, 0x00, 0x20, 0, 0, 0x48, 0x89, 0x83, 0x00, 0x40, 0, 0, 0xF4], [(.rbx, region)])
        m.updatePTE(linear: region + 0x2000) { $0 | PTE.accessed }
        // Accessed and dirty already: the cached walk itself must refuse the write.
        m.updatePTE(linear: region + 0x4000) { ($0 & ~PTE.writable) | PTE.accessed | PTE.dirty }
        #expect(m.run() == .exception(.pageFault(address: region + 0x4000, code: [.present, .write])))
        #expect(m.pte(linear: region + 0x2000) & (PTE.accessed | PTE.dirty) == PTE.accessed | PTE.dirty)
        #expect(m.memory.dirtyLog.test((region + 0x2000) >> 12))
    }

    @Test func cachedWalkChecksUserAccessPerPage() throws {
        let region = TestMachine.dataBase
        // At CPL 3: mov rax, [rbx]; mov rax, [rbx+0x1000] (a supervisor page in the same region)
        let m = try TestMachine(code: [0x48, 0x8B, 0x03, 0x48, 0x8B, 0x83, 0x00, 0x10, 0, 0, 0xF4], cpl: 3)
        var s = m.state
        s[.rbx] = region
        m.state = s
        m.updatePTE(linear: region + 0x1000) { ($0 & ~PTE.user) | PTE.accessed }
        #expect(m.run() == .exception(.pageFault(address: region + 0x1000, code: [.present, .user])))
    }

    // MARK: Stack operations

    @Test func returnToANonCanonicalAddressFaultsWithRSPUnchanged() throws {
        // push rax; ret
        let m = try machine([0x50, 0xC3], [(.rax, 0x8000_0000_0000_0000)])
        #expect(m.run() == .exception(.generalProtection(0)))
        #expect(m.state.rip == TestMachine.codeBase + 1)
        #expect(m.state[.rsp] == TestMachine.stackTop - 8)
    }

    @Test func pushOntoAnUnmappedPageFaultsWithRSPUnchanged() throws {
        let bottom = TestMachine.stackTop - 0x10000  // unmapped below
        // push rbx; call +0
        for code: [UInt8] in [[0x53], [0xE8, 0, 0, 0, 0]] {
            let m = try machine(code, [(.rsp, bottom)])
            #expect(m.run() == .exception(.pageFault(address: bottom - 8, code: [.write])))
            #expect(m.state[.rsp] == bottom && m.state.rip == TestMachine.codeBase)
        }
    }

    @Test func popIntoRSPLoadsThePoppedValue() throws {
        // push rax; pop rsp; hlt
        let m = try machine([0x50, 0x5C, 0xF4], [(.rax, 0x1234)])
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rsp] == 0x1234)
    }

    @Test func thirtyTwoBitRegisterFormsZeroTheUpperHalf() throws {
        // mov eax, ebx; mov ecx, -1 (C7 C1); add edx, 1; mov esi, [rdi]; hlt
        let data = TestMachine.dataBase
        let m = try machine(
            [0x89, 0xD8, 0xC7, 0xC1, 0xFF, 0xFF, 0xFF, 0xFF, 0x83, 0xC2, 0x01, 0x8B, 0x37, 0xF4],
            [(.rax, ~0), (.rbx, 0xFFFF_FFFF_0000_0005), (.rdx, 0xFFFF_FFFF_FFFF_FFFF), (.rsi, ~0), (.rdi, data)])
        m.store64(0xAAAA_AAAA_1111_1111, at: data)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 5)
        #expect(m.state[.rcx] == 0xFFFF_FFFF)
        #expect(m.state[.rdx] == 0)
        #expect(m.state[.rsi] == 0x1111_1111)
    }
}
