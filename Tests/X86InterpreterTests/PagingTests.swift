import Testing
import X86
@testable import X86Interpreter

@Suite struct PagingTests {
    /// Runs one load or store at `address` and returns the #PF error code it raised.
    func pageFault(_ code: [UInt8], cpl: UInt8, address: UInt64, setup: (TestMachine) -> Void = { _ in }) throws -> UInt32? {
        let m = try TestMachine(code: code, cpl: cpl)
        var s = m.state
        s[.rbx] = address
        m.state = s
        setup(m)
        m.cpu.flushTLB(.all)
        guard case .exception(let e) = m.run(), e.vector == 14, e.faultAddress == address else { return nil }
        return e.errorCode
    }

    let load: [UInt8] = [0x48, 0x8B, 0x03]  // mov rax, [rbx]
    let store: [UInt8] = [0x48, 0x89, 0x03]  // mov [rbx], rax

    @Test func errorCodesFollowTheSDM() throws {
        let data = TestMachine.dataBase
        #expect(try pageFault(load, cpl: 0, address: 0x7000_0000) == 0)  // not present, read, supervisor
        #expect(try pageFault(store, cpl: 3, address: 0x7000_0000) == 6)  // not present, write, user
        #expect(try pageFault(store, cpl: 3, address: data) { $0.updatePTE(linear: data) { $0 & ~PTE.writable } } == 7)
        #expect(try pageFault(load, cpl: 3, address: data) { $0.updatePTE(linear: data) { $0 & ~PTE.user } } == 5)
        #expect(try pageFault(load, cpl: 0, address: data) { $0.updatePTE(linear: data) { $0 | (1 << 51) } } == 9)  // reserved bit
    }

    @Test func supervisorWritesHonourCR0WP() throws {
        let data = TestMachine.dataBase
        #expect(try pageFault(store, cpl: 0, address: data) { $0.updatePTE(linear: data) { $0 & ~PTE.writable } } == 3)
        // With CR0.WP clear the supervisor write to a read-only page succeeds.
        let m = try TestMachine(code: store + [0xF4])
        m.updatePTE(linear: data) { $0 & ~PTE.writable }
        var s = m.state
        s.cr0.remove(.writeProtect)
        s[.rbx] = data
        s[.rax] = 42
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        #expect(m.load64(data) == 42)
    }

    @Test func noExecuteFetchFaultsWithIDBit() throws {
        let m = try TestMachine(code: [0x90])
        m.updatePTE(linear: TestMachine.codeBase) { $0 | PTE.noExecute }
        #expect(m.run() == .exception(.pageFault(address: TestMachine.codeBase, code: [.present, .instructionFetch])))
    }

    @Test func walkSetsAccessedAndDirtyBits() throws {
        let data = TestMachine.dataBase + 0x1000
        let m = try TestMachine(code: [0x48, 0x8B, 0x03, 0x48, 0x89, 0x43, 0x08, 0xF4])  // load then store
        #expect(m.pte(linear: data) & (PTE.accessed | PTE.dirty) == 0)
        var s = m.state
        s[.rbx] = data
        m.state = s
        m.run()
        #expect(m.pte(linear: data) & (PTE.accessed | PTE.dirty) == PTE.accessed | PTE.dirty)
        #expect(m.memory.dirtyLog.test(data >> 12))
    }

    @Test func tlbKeepsStaleTranslationsUntilInvlpg() throws {
        // mov rax, [rbx]; (PTE changed behind the CPU's back); mov rcx, [rbx]; invlpg [rbx]; mov rdx, [rbx]
        let a = TestMachine.dataBase, b = TestMachine.dataBase + 0x1000
        let m = try TestMachine(code: [0x48, 0x8B, 0x03, 0x48, 0x8B, 0x0B, 0x0F, 0x01, 0x3B, 0x48, 0x8B, 0x13, 0xF4])
        m.store64(0xAAAA, at: a)
        m.store64(0xBBBB, at: b)
        var s = m.state
        s[.rbx] = a
        m.state = s
        #expect(m.run(budget: 1) == .budgetExhausted)
        m.updatePTE(linear: a) { ($0 & ~PTE.addressMask) | b }
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 0xAAAA && m.state[.rcx] == 0xAAAA && m.state[.rdx] == 0xBBBB)
    }

    @Test func cr3ReloadKeepsGlobalPages() throws {
        // Two pages, one global; after remapping both and reloading CR3, only the global one
        // still uses its old translation.
        let g = TestMachine.dataBase, n = TestMachine.dataBase + 0x1000, other = TestMachine.dataBase + 0x2000
        // mov rax,[rbx]; mov rax,[rcx]; mov rdx,cr3; mov cr3,rdx; mov rsi,[rbx]; mov rdi,[rcx]; hlt
        let m = try TestMachine(code: [0x48, 0x8B, 0x03, 0x48, 0x8B, 0x01, 0x0F, 0x20, 0xDA, 0x0F, 0x22, 0xDA,
                                       0x48, 0x8B, 0x33, 0x48, 0x8B, 0x39, 0xF4])
        m.store64(1, at: g)
        m.store64(2, at: n)
        m.store64(3, at: other)
        m.updatePTE(linear: g) { $0 | PTE.global }
        var s = m.state
        s.cr4.insert(.pageGlobalEnable)
        s[.rbx] = g
        s[.rcx] = n
        m.state = s
        #expect(m.run(budget: 2) == .budgetExhausted)
        m.updatePTE(linear: g) { ($0 & ~PTE.addressMask) | other }
        m.updatePTE(linear: n) { ($0 & ~PTE.addressMask) | other }
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rsi] == 1 && m.state[.rdi] == 3)
    }

    @Test func largePages() throws {
        // Map 2 MiB at 0x4000_0000 and 1 GiB at 0x80_0000_0000, both onto machine 0x60_0000 / 0.
        let m = try TestMachine(code: [0x48, 0x8B, 0x03, 0x48, 0x8B, 0x09, 0xF4])  // mov rax,[rbx]; mov rcx,[rcx]
        try m.tables.mapLarge(linear: 0x4000_0000, to: .init(0x60_0000), level: 2, flags: PTE.writable)
        try m.tables.mapLarge(linear: 0x80_0000_0000, to: .init(0), level: 3, flags: PTE.writable)
        m.store64(0x2222, at: 0x60_0000 + 0x10)
        m.store64(0x1111, at: 0x60_0000 + 0x18)
        var s = m.state
        s[.rbx] = 0x4000_0010
        s[.rcx] = 0x80_0060_0018
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 0x2222 && m.state[.rcx] == 0x1111)
    }

    @Test func accessCrossingIntoAReadOnlyPageWritesNothing() throws {
        // mov [rbx], rax with RBX 4 bytes before a read-only page: #PF, first page untouched.
        let data = TestMachine.dataBase
        let m = try TestMachine(code: [0x48, 0x89, 0x03])
        m.updatePTE(linear: data + 0x1000) { $0 & ~PTE.writable }
        var s = m.state
        s[.rbx] = data + 0xFFC
        s[.rax] = ~0
        m.state = s
        #expect(m.run() == .exception(.pageFault(address: data + 0x1000, code: [.present, .write])))
        #expect(m.memory.load(UInt32.self, at: .init(data + 0xFFC)) == 0)
    }
}
