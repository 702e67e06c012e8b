import GuestMemory
import Testing
import X86
import X86Interpreter
import XenABI
@testable import XenCore

/// Validated tables run on the real CPU engine: what Kite installs is what the guest sees.
@Suite struct EngineWalkTests {
    @Test func aCPL3ReadOfTheM2PReturnsThePFN() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 2)
        let target = tree.data[1]
        try fx.update((target << 12) | 1, 0x1234)  // MMU_MACHPHYS_UPDATE
        try fx.activate(tree)
        let m2pAddress = MachineToPhys.virtualStart + target * 8
        var code: [UInt8] = [0x48, 0xBB]  // mov rbx, imm64
        for i in 0..<8 { code.append(UInt8(truncatingIfNeeded: m2pAddress >> UInt64(8 * i))) }
        code += [0x48, 0x8B, 0x03]  // mov rax, [rbx]
        code += [0x48, 0x89, 0x03]  // mov [rbx], rax — the M2P is read-only
        fx.ram.write(code, at: MachineFrame(tree.data[0]).address)
        let cpu = Interpreter(memory: fx.ram, translation: IdentityTranslation(memory: fx.ram))
        cpu.state = .flatLongMode(cpl: 3, cr3: tree.l4 << 12, rip: tree.va, rsp: 0)
        #expect(cpu.run(budget: 2) == .budgetExhausted)
        #expect(cpu.state[.rax] == 0x1234)
        #expect(cpu.run(budget: 1) == .exception(.pageFault(address: m2pAddress, code: [.present, .write, .user])))
        // Free frames read as INVALID_M2P_ENTRY.
        let free = fx.machine.frameCount - 1
        let t = cpu.translate(MachineToPhys.virtualStart + free * 8, for: .read, asUser: true)
        let address = try #require(try? t.get())
        #expect(fx.ram.load(UInt64.self, at: address) == MachineToPhys.invalidEntry)
    }

    @Test func kernelPagesAreUserAccessibleAndTablesReadOnly() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree(pages: 1)
        try fx.activate(tree)
        try fx.set(tree.l1, 1, makePTE(tree.l1, PTEBits.p))  // the L1 itself, read-only
        let cpu = Interpreter(memory: fx.ram, translation: IdentityTranslation(memory: fx.ram))
        cpu.state = .flatLongMode(cpl: 3, cr3: tree.l4 << 12, rip: tree.va, rsp: 0)
        #expect(cpu.translate(tree.va, for: .write, asUser: true) == .success(MachineFrame(tree.data[0]).address))
        let l1 = tree.va + 4096
        #expect(cpu.translate(l1 + 8, for: .read, asUser: true) == .success(MachineAddress((tree.l1 << 12) + 8)))
        #expect(cpu.translate(l1, for: .write, asUser: true)
                == .failure(.pageFault(address: l1, code: [.present, .write, .user])))
    }

    @Test func kitesPerDomainAreaIsSupervisorOnly() throws {
        let fx = try MMUFixture()
        let tree = try fx.buildTree()
        let gdt = try fx.frame()
        try fx.dom.mapPerDomainPage(5, to: MachineFrame(gdt), writable: false)
        try fx.activate(tree)
        let cpu = Interpreter(memory: fx.ram, translation: IdentityTranslation(memory: fx.ram))
        cpu.state = .flatLongMode(cpl: 3, cr3: tree.l4 << 12, rip: tree.va, rsp: 0)
        let va = DomainMemory.perDomainAddress(page: 5)
        #expect(cpu.translate(va, for: .read, asUser: false) == .success(MachineFrame(gdt).address))
        #expect(cpu.translate(va, for: .read, asUser: true) == .failure(.pageFault(address: va, code: [.present, .user])))
        #expect(cpu.translate(va, for: .write, asUser: false).map { _ in true } != .success(true))
    }
}
