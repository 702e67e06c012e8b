import GuestMemory
import Testing
import X86
@testable import X86Interpreter

@Suite struct StringTests {
    let data = TestMachine.dataBase

    /// A machine running `code` then HLT, with `bytes` stored at each address of `memory`.
    func machine(_ code: [UInt8], cpl: UInt8 = 0, memory: [(UInt64, [UInt8])] = [], setup: (inout CPUState) -> Void) throws -> TestMachine {
        let m = try TestMachine(code: code + [0xF4], cpl: cpl)
        for (address, bytes) in memory { _ = m.memory.write(bytes, at: MachineAddress(address)) }
        var s = m.state
        setup(&s)
        m.state = s
        return m
    }

    func bytes(_ m: TestMachine, _ address: UInt64, _ count: Int) -> [UInt8] {
        m.memory.read(at: MachineAddress(address), count: count) ?? []
    }

    @Test func repMovsbCrossesPagesOnBothSides() throws {
        // rep movsb (F3 A4): 40 bytes from a source and to a destination that both cross a
        // page boundary.
        let source = data + 0xFF0
        let destination = data + 0x2FF8
        let payload = (1...40).map { UInt8($0) }
        let m = try machine([0xF3, 0xA4], memory: [(source, payload)]) {
            $0[.rsi] = source; $0[.rdi] = destination; $0[.rcx] = 40
        }
        #expect(m.run() == .hlt(length: 1))
        #expect(bytes(m, destination, 40) == payload)
        let s = m.state
        #expect(s[.rsi] == source + 40 && s[.rdi] == destination + 40 && s[.rcx] == 0)
        #expect(s.rip == TestMachine.codeBase + 2)
    }

    @Test func repneScasbFindsTheTerminator() throws {
        // repne scasb (F2 AE) as strlen: AL = 0, RCX = -1 over "hello\0".
        let m = try machine([0xF2, 0xAE], memory: [(data, Array("hello".utf8) + [0])]) {
            $0[.rdi] = data; $0[.rax] = 0x1200; $0[.rcx] = ~0
        }
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s[.rdi] == data + 6 && s[.rcx] == ~0 - 6 && s.rflags.contains(.zero))
    }

    @Test func repeCmpsbStopsAtTheFirstDifference() throws {
        // repe cmpsb (F3 A6): "abcdef" vs "abcXef" stops after the 4th element; the flags are
        // those of 'd' - 'X'.
        let m = try machine([0xF3, 0xA6], memory: [(data, Array("abcdef".utf8)), (data + 0x100, Array("abcXef".utf8))]) {
            $0[.rsi] = data; $0[.rdi] = data + 0x100; $0[.rcx] = 6
        }
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s[.rcx] == 2 && s[.rsi] == data + 4 && s[.rdi] == data + 0x104)
        #expect(!s.rflags.contains(.zero) && !s.rflags.contains(.carry))
    }

    @Test func repWithZeroCountDoesNothing() throws {
        // stc; repe cmpsb with RCX = 0: no comparison, flags and pointers unchanged.
        let m = try machine([0xF9, 0xF3, 0xA6], memory: [(data, [1]), (data + 0x100, [2])]) {
            $0[.rsi] = data; $0[.rdi] = data + 0x100; $0[.rcx] = 0
        }
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s[.rsi] == data && s[.rdi] == data + 0x100 && s.rflags.contains(.carry))
    }

    @Test func faultMidwayLeavesTheRegistersAtTheFaultingElement() throws {
        // rep movsb reading past the last mapped data page: 16 bytes are copied, then #PF at
        // the first unmapped byte with RIP at the instruction and RSI/RDI/RCX at that element.
        let source = data + 0xFFF0
        let payload = (1...16).map { UInt8($0) }
        let m = try machine([0xF3, 0xA4], memory: [(source, payload)]) {
            $0[.rsi] = source; $0[.rdi] = data; $0[.rcx] = 32
        }
        #expect(m.run() == .exception(.pageFault(address: data + 0x10000, code: [])))
        let s = m.state
        #expect(s.rip == TestMachine.codeBase)
        #expect(s[.rcx] == 16 && s[.rsi] == data + 0x10000 && s[.rdi] == data + 16)
        #expect(bytes(m, data, 16) == payload)
    }

    @Test func longElementwiseRepYieldsAndResumes() throws {
        // std-direction rep stosb (F3 AA, DF = 1) of 10000 bytes goes element by element and
        // stops after a bounded number per execution, RIP still at the instruction.
        let top = data + 0xF000
        let m = try machine([0xF3, 0xAA]) {
            $0[.rdi] = top; $0[.rax] = 0x5A; $0[.rcx] = 10000
            $0.rflags.insert(.direction)
        }
        #expect(m.run(budget: 1) == .budgetExhausted)
        let partial = m.state
        #expect(partial.rip == TestMachine.codeBase)
        #expect(partial[.rcx] > 0 && partial[.rcx] < 10000)
        #expect(partial[.rdi] == top - (10000 - partial[.rcx]))
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s[.rcx] == 0 && s[.rdi] == top - 10000 && s.rip == TestMachine.codeBase + 2)
        #expect(bytes(m, top - 9999, 10000).allSatisfy { $0 == 0x5A })
        #expect(bytes(m, top - 10000, 1) == [0])
    }

    @Test func longBulkRepYieldsAndResumes() throws {
        // rep stosq (F3 48 AB) of 1 MiB over freshly mapped pages.
        let base: UInt64 = 0x68_0000
        let m = try machine([0xF3, 0x48, 0xAB]) {
            $0[.rdi] = base; $0[.rax] = 0x0102_0304_0506_0708; $0[.rcx] = 0x2_0000
        }
        try m.tables.mapRange(linear: base, length: 0x10_0000, to: MachineAddress(base).frame, flags: PTE.writable)
        #expect(m.run(budget: 1) == .budgetExhausted)
        #expect(m.state.rip == TestMachine.codeBase && m.state[.rcx] > 0 && m.state[.rcx] < 0x2_0000)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rcx] == 0 && m.state[.rdi] == base + 0x10_0000)
        #expect(m.load64(base) == 0x0102_0304_0506_0708 && m.load64(base + 0xF_FFF8) == 0x0102_0304_0506_0708)
        #expect(m.load64(base + 0x10_0000) == 0)
    }

    @Test func overlappingForwardCopyReplicatesElementByElement() throws {
        // rep movsb with RDI = RSI + 1 spreads the first byte, as the architecture's element
        // order implies (memmove semantics would not).
        let m = try machine([0xF3, 0xA4], memory: [(data, [7, 1, 2, 3, 4, 5, 6, 8, 9])]) {
            $0[.rsi] = data; $0[.rdi] = data + 1; $0[.rcx] = 8
        }
        #expect(m.run() == .hlt(length: 1))
        #expect(bytes(m, data, 9) == [UInt8](repeating: 7, count: 9))
    }

    @Test func segmentOverrideAppliesToTheSourceOnly() throws {
        // movs byte [rdi], fs:[rsi] (64 A4): source FS.base + RSI, destination RDI.
        let m = try machine([0x64, 0xA4], memory: [(data + 0x110, [0x42])]) {
            $0[.fs].base = data + 0x100
            $0[.rsi] = 0x10; $0[.rdi] = data + 0x200
        }
        #expect(m.run() == .hlt(length: 1))
        #expect(bytes(m, data + 0x200, 1) == [0x42])
        #expect(m.state[.rsi] == 0x11 && m.state[.rdi] == data + 0x201)
    }

    @Test func addressSizePrefixUsesAndZeroExtendsESIAndEDI() throws {
        // rep movsb with 67 (F3 67 A4): addresses are ESI/EDI; the updates clear the upper halves.
        let m = try machine([0xF3, 0x67, 0xA4], memory: [(data, [1, 2])]) {
            $0[.rsi] = 0xFFFF_FFFF_0000_0000 | data; $0[.rdi] = 0x1_0000_0000 | (data + 0x10); $0[.rcx] = 0xAB_0000_0002
        }
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(bytes(m, data + 0x10, 2) == [1, 2])
        #expect(s[.rsi] == data + 2 && s[.rdi] == data + 0x12 && s[.rcx] == 0)
    }

    @Test func lodsAndStosFollowTheDirectionFlag() throws {
        // std; lodsq (FD 48 AD); stosd (AB) — backwards by the element size.
        let m = try machine([0xFD, 0x48, 0xAD, 0xAB], memory: [(data + 0x100, [1, 2, 3, 4, 5, 6, 7, 8])]) {
            $0[.rsi] = data + 0x100; $0[.rdi] = data + 0x200
        }
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s[.rax] == 0x0807_0605_0403_0201 && s[.rsi] == data + 0xF8 && s[.rdi] == data + 0x1FC)
        #expect(bytes(m, data + 0x200, 4) == [1, 2, 3, 4])
    }

    @Test func repneWithMovsIsAPlainRep() throws {
        // F2 A4: REPNE means REP for MOVS (no ZF test).
        let m = try machine([0xF2, 0xA4], memory: [(data, [9, 9, 9, 9])]) {
            $0[.rsi] = data; $0[.rdi] = data + 0x10; $0[.rcx] = 4
        }
        #expect(m.run() == .hlt(length: 1))
        #expect(bytes(m, data + 0x10, 4) == [9, 9, 9, 9] && m.state[.rcx] == 0)
    }

    @Test func stringStoresIntoCodeTakeEffect() throws {
        // rep stosb over the UD2 that follows it turns it into NOPs before it runs.
        let m = try machine([0xF3, 0xAA, 0x0F, 0x0B]) {
            $0[.rdi] = TestMachine.codeBase + 2; $0[.rax] = 0x90; $0[.rcx] = 2
        }
        #expect(m.run() == .hlt(length: 1))
    }

    @Test func insAndOutsExitOrCheckPrivilege() throws {
        // rep insb (F3 6C) to an intercepted port exits with nothing done, RIP at it.
        let a = try machine([0xF3, 0x6C]) { $0[.rdx] = 0x60; $0[.rdi] = data; $0[.rcx] = 3 }
        let access = IOAccess(port: 0x60, size: 1, isWrite: false, isString: true, hasRepPrefix: true)
        #expect(a.run() == .io(access, length: 2))
        #expect(a.state.rip == TestMachine.codeBase && a.state[.rcx] == 3 && a.state[.rdi] == data)
        // outsd (6F) at CPL 3 with IOPL 0 and a TSS too short for an I/O bitmap: #GP(0).
        let b = try machine([0x6F], cpl: 3) { $0[.rdx] = 0x60; $0[.rsi] = data; $0.tr.limit = 0x50 }
        #expect(b.run() == .exception(.generalProtection(0)))
        // rep insw (F3 66 6D) from a port nobody decodes reads all-ones.
        let c = try machine([0xF3, 0x66, 0x6D]) { $0[.rdx] = 0x80; $0[.rdi] = data; $0[.rcx] = 3 }
        c.cpu.intercepts.ioPorts[0x80] = false
        c.cpu.intercepts.ioPorts[0x81] = false
        #expect(c.run() == .hlt(length: 1))
        #expect(bytes(c, data, 7) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0])
        #expect(c.state[.rdi] == data + 6 && c.state[.rcx] == 0)
    }
}
