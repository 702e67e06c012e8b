import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// Segment-register loads, FS/GS bases, descriptor queries and far transfers against the
/// GDT of `installSystemTables`, with exceptions exiting (nothing is delivered).
@Suite struct SegmentTests {
    func machine(_ code: [UInt8], cpl: UInt8 = 0, setup: (inout CPUState) -> Void = { _ in }) throws -> TestMachine {
        let m = try TestMachine(code: code, cpl: cpl)
        try m.installSystemTables(deliver: false)
        var s = m.state
        setup(&s)
        m.state = s
        return m
    }

    /// Runs `mov <segment>, ax` with AX = `selector` and returns the exit and state.
    func load(_ segment: UInt8, _ selector: UInt16, cpl: UInt8 = 0) throws -> (VCPUExit, CPUState) {
        // 8E /r with reg = segment, rm = AX; then HLT (which is #GP at CPL 3).
        let m = try machine([0x8E, 0xC0 | segment << 3, 0xF4], cpl: cpl) { $0[.rax] = UInt64(selector) }
        let exit = m.run()
        return (exit, m.state)
    }

    @Test func dataSegmentLoads() throws {
        // mov ds, ax with kernel data at CPL 0: the hidden part comes from the descriptor.
        let (e, s) = try load(3, SystemTables.kernelData)
        #expect(e == .hlt(length: 1))
        #expect(s[.ds] == Segment(selector: 0x10, base: 0, limit: 0xFFFF_FFFF, attributes: 0xC093))
        // A readable code segment may be loaded into DS; a null selector too.
        #expect(try load(3, SystemTables.kernelCode).0 == .hlt(length: 1))
        let (n, ns) = try load(3, 0)
        #expect(n == .hlt(length: 1) && !ns[.ds].usable)
        // Kernel data at CPL 3, a system descriptor, a selector past the GDT: #GP(selector).
        #expect(try load(3, SystemTables.kernelData, cpl: 3).0 == .exception(.generalProtection(0x10)))
        #expect(try load(3, SystemTables.tssSelector).0 == .exception(.generalProtection(0x38)))
        #expect(try load(3, 0x200).0 == .exception(.generalProtection(0x200)))
        // A DPL 3 data segment named with RPL 3 from CPL 0 is fine; not present is #NP.
        #expect(try load(0, SystemTables.userData).0 == .hlt(length: 1))
        #expect(try load(3, SystemTables.absentData).0 == .exception(X86Exception(vector: 11, errorCode: 0x48)))
    }

    @Test func stackSegmentLoads() throws {
        // SS: null only at CPL < 3 with RPL = CPL; RPL and DPL must equal CPL; writable data only.
        #expect(try load(2, 0).0 == .hlt(length: 1))
        #expect(try load(2, 0, cpl: 3).0 == .exception(.generalProtection(0)))
        #expect(try load(2, SystemTables.userData).0 == .exception(.generalProtection(0x28)))
        #expect(try load(2, SystemTables.kernelCode).0 == .exception(.generalProtection(0x08)))
        let (e, s) = try load(2, SystemTables.userData, cpl: 3)
        #expect(e == .exception(.generalProtection(0)))  // the HLT after it, at CPL 3
        #expect(s[.ss].selector == SystemTables.userData && s.rip == TestMachine.codeBase + 2)
    }

    @Test func fsAndGsLoadsSetTheirBases() throws {
        // mov fs, ax with a based descriptor; mov gs, bx (8E EB) with null; mov ecx, fs (8C E1).
        let m = try machine([0x8E, 0xE0, 0x8E, 0xEB, 0x8C, 0xE1, 0xF4]) {
            $0[.rax] = UInt64(SystemTables.basedData)
            $0[.rbx] = 0
            $0[.rcx] = ~0
            $0[.gs].base = 0x5000
        }
        #expect(m.run() == .hlt(length: 1))
        let s = m.state
        #expect(s[.fs].base == 0x0012_3000 && s[.fs].selector == SystemTables.basedData)
        // A null selector clears the base (Intel's behaviour; the MSR can set it again).
        #expect(s[.gs].base == 0 && !s[.gs].usable)
        #expect(s[.rcx] == UInt64(SystemTables.basedData))
    }

    @Test func pushAndPopFsGs() throws {
        // mov fs, ax; push fs (0F A0); pop gs (0F A9): GS takes FS's selector and base.
        let m = try machine([0x8E, 0xE0, 0x0F, 0xA0, 0x0F, 0xA9, 0xF4]) { $0[.rax] = UInt64(SystemTables.basedData) }
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.gs].selector == SystemTables.basedData && m.state[.gs].base == 0x0012_3000)
        #expect(m.state[.rsp] == TestMachine.stackTop)
        #expect(m.load64(TestMachine.stackTop - 8) == UInt64(SystemTables.basedData))
        // pop fs (0F A1) of a bad selector faults with RSP unchanged.
        let n = try machine([0x0F, 0xA1]) { $0[.rsp] = TestMachine.stackTop - 8 }
        n.store64(0x200, at: TestMachine.stackTop - 8)
        #expect(n.run() == .exception(.generalProtection(0x200)))
        #expect(n.state[.rsp] == TestMachine.stackTop - 8)
    }

    @Test func storingASegmentRegisterToMemoryWritesTwoBytes() throws {
        // mov [rbx], gs (8C 2B) leaves the bytes after the selector alone; mov rcx, fs
        // (48 8C E1) zero-extends.
        let m = try machine([0x8C, 0x2B, 0x48, 0x8C, 0xE1, 0xF4]) {
            $0[.rbx] = TestMachine.dataBase
            $0[.gs].selector = 0x2B
            $0[.rcx] = ~0
        }
        m.store64(~0, at: TestMachine.dataBase)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.load64(TestMachine.dataBase) == 0xFFFF_FFFF_FFFF_002B)
        #expect(m.state[.rcx] == 0)
    }

    @Test func fsGsBaseInstructions() throws {
        // rdfsbase rax (F3 48 0F AE C0) is #UD without CR4.FSGSBASE.
        let (_, u, _) = try execute([0xF3, 0x48, 0x0F, 0xAE, 0xC0])
        #expect(u == .exception(.undefinedOpcode))
        // wrfsbase rax (F3 48 0F AE D0); mov rbx, fs:[8]; rdgsbase ecx (F3 0F AE C9).
        let code: [UInt8] = [0xF3, 0x48, 0x0F, 0xAE, 0xD0, 0x64, 0x48, 0x8B, 0x1C, 0x25, 0x08, 0, 0, 0, 0xF3, 0x0F, 0xAE, 0xC9]
        let (s, _, m) = try execute(code) {
            $0.cr4.insert(.fsgsbase)
            $0[.rax] = TestMachine.dataBase
            $0[.gs].base = 0xFFFF_FFFF_8000_1234
            $0[.rcx] = ~0
        }
        _ = m
        #expect(s[.fs].base == TestMachine.dataBase)
        #expect(s[.rcx] == 0x8000_1234)
        // wrgsbase rax (F3 48 0F AE D8) with a non-canonical value: #GP(0).
        let (_, g, _) = try execute([0xF3, 0x48, 0x0F, 0xAE, 0xD8]) {
            $0.cr4.insert(.fsgsbase)
            $0[.rax] = 0x0000_8000_0000_0000
        }
        #expect(g == .exception(.generalProtection(0)))
    }

    /// Runs one descriptor query (`op` is the opcode bytes for "op eax/..., bx") and returns
    /// ZF and RAX.
    func query(_ op: [UInt8], _ selector: UInt16, cpl: UInt8 = 0) throws -> (Bool, UInt64) {
        let m = try machine(op + [0xEB, 0xFE], cpl: cpl) {
            $0[.rbx] = UInt64(selector)
            $0[.rax] = 0xAAAA
        }
        _ = m.run(budget: 1)
        return (m.state.rflags.contains(.zero), m.state[.rax])
    }

    @Test func descriptorQueries() throws {
        let lar: [UInt8] = [0x0F, 0x02, 0xC3], lsl: [UInt8] = [0x0F, 0x03, 0xC3]
        let verr: [UInt8] = [0x0F, 0x00, 0xE3], verw: [UInt8] = [0x0F, 0x00, 0xEB]
        // LAR: the access-rights dword of the descriptor (type, S, DPL, P, AVL, L, D, G).
        #expect(try query(lar, SystemTables.userData) == (true, 0x00C0_F300))
        #expect(try query(lar, SystemTables.tssSelector) == (true, 0x0000_8900))
        // LSL: the limit scaled by G; the TSS's byte limit.
        #expect(try query(lsl, SystemTables.userData) == (true, 0xFFFF_FFFF))
        #expect(try query(lsl, SystemTables.tssSelector) == (true, UInt64(SystemTables.tssLimit)))
        // Null, past the limit, or more privileged than CPL/RPL: ZF=0, destination unchanged.
        #expect(try query(lar, 0) == (false, 0xAAAA))
        #expect(try query(lar, 0x200) == (false, 0xAAAA))
        #expect(try query(lar, SystemTables.kernelData, cpl: 3) == (false, 0xAAAA))
        #expect(try query(lsl, SystemTables.kernelData | 3) == (false, 0xAAAA))
        // VERR: readable; VERW: writable data.
        #expect(try query(verr, SystemTables.kernelCode).0)
        #expect(try query(verr, SystemTables.userData, cpl: 3).0)
        #expect(try !query(verw, SystemTables.userCode, cpl: 3).0)
        #expect(try query(verw, SystemTables.userData, cpl: 3).0)
        #expect(try !query(verw, SystemTables.kernelData, cpl: 3).0)
    }

    @Test func farReturns() throws {
        // retfq (48 CB) at the same privilege pops RIP and CS, eight bytes each.
        let target = TestMachine.codeBase + 0x100
        let sp = TestMachine.stackTop - 0x40
        let m = try machine([0x48, 0xCB]) { $0[.rsp] = sp }
        m.write([0xF4], at: target)
        m.store64(target, at: sp)
        m.store64(UInt64(SystemTables.kernelCode), at: sp + 8)
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == target && m.state[.rsp] == sp + 16)
        // retf (CB) defaults to 32-bit pops in 64-bit mode.
        let n = try machine([0xCB]) { $0[.rsp] = sp }
        n.write([0xF4], at: target)
        n.memory.store(UInt32(target), at: MachineAddress(sp))
        n.memory.store(UInt32(SystemTables.kernelCode), at: MachineAddress(sp + 4))
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.rip == target && n.state[.rsp] == sp + 8)
    }

    @Test func farReturnToUserMode() throws {
        // retfq 8 (48 CA 08 00) to CPL 3: RIP, CS, 8 bytes of arguments, RSP, SS. The
        // kernel's DS (DPL 0) becomes null on the way out.
        let target = TestMachine.codeBase + 0x100
        let sp = TestMachine.stackTop - 0x40
        let userSP = TestMachine.stackTop - 0x200
        let m = try machine([0x48, 0xCA, 0x08, 0x00]) { $0[.rsp] = sp }
        m.write([0xEB, 0xFE], at: target)
        for (i, v) in [target, UInt64(SystemTables.userCode), 0xA5A5, userSP, UInt64(SystemTables.userData)].enumerated() {
            m.store64(v, at: sp + UInt64(i) * 8)
        }
        #expect(m.run(budget: 1) == .budgetExhausted)
        let s = m.state
        #expect(s.cpl == 3 && s.rip == target && s[.rsp] == userSP + 8 && s[.ss].selector == SystemTables.userData)
        #expect(!s[.ds].usable && !s[.es].usable)
        // A bad SS selector faults at the RETF with the kernel's CS and stack untouched.
        let n = try machine([0x48, 0xCB]) { $0[.rsp] = sp }
        for (i, v) in [target, UInt64(SystemTables.userCode), userSP, UInt64(SystemTables.kernelData)].enumerated() {
            n.store64(v, at: sp + UInt64(i) * 8)
        }
        #expect(n.run() == .exception(.generalProtection(0x10)))
        #expect(n.state.cpl == 0 && n.state[.cs].selector == SystemTables.kernelCode && n.state[.rsp] == sp)
        #expect(n.state.rip == TestMachine.codeBase)
    }

    @Test func farCallsAndJumps() throws {
        let target = TestMachine.codeBase + 0x100
        let d = TestMachine.dataBase
        // call far [rbx] with m16:64 (48 FF 1B): pushes CS then the return RIP, 8 bytes each.
        let m = try machine([0x48, 0xFF, 0x1B]) { $0[.rbx] = d }
        m.write([0xF4], at: target)
        m.store64(target, at: d)
        m.memory.store(SystemTables.kernelCode, at: MachineAddress(d + 8))
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.rip == target && m.state[.rsp] == TestMachine.stackTop - 16)
        #expect(m.stackSlots(m.state[.rsp], count: 2) == [TestMachine.codeBase + 3, UInt64(SystemTables.kernelCode)])
        // call far [rbx] with m16:32 (FF 1B): 4-byte pushes (as the host CPU does).
        let n = try machine([0xFF, 0x1B]) { $0[.rbx] = d }
        n.write([0xF4], at: target)
        n.memory.store(UInt32(target), at: MachineAddress(d))
        n.memory.store(SystemTables.kernelCode, at: MachineAddress(d + 4))
        #expect(n.run() == .hlt(length: 1))
        #expect(n.state.rip == target && n.state[.rsp] == TestMachine.stackTop - 8)
        #expect(n.load64(TestMachine.stackTop - 8) == UInt64(SystemTables.kernelCode) << 32 | (TestMachine.codeBase + 2))
        // jmp far [rbx] (FF 2B) to a DPL 3 segment from CPL 0, to the TSS, or with an RPL
        // above CPL: #GP(selector).
        for selector in [SystemTables.userCode, SystemTables.tssSelector, SystemTables.kernelCode | 3] {
            let j = try machine([0xFF, 0x2B]) { $0[.rbx] = d }
            j.memory.store(UInt32(target), at: MachineAddress(d))
            j.memory.store(selector, at: MachineAddress(d + 4))
            #expect(j.run() == .exception(.generalProtection(UInt32(selector & ~3))))
        }
    }

    @Test func iretChecks() throws {
        /// iretq with the given frame at CPL `cpl`; returns the exit and state after one step.
        func iret(_ frame: [UInt64], cpl: UInt8 = 0) throws -> (VCPUExit, CPUState) {
            let sp = TestMachine.stackTop - 0x80
            let m = try machine([0x48, 0xCF], cpl: cpl) { $0[.rsp] = sp }
            m.write([0xEB, 0xFE], at: TestMachine.codeBase + 0x100)
            for (i, v) in frame.enumerated() { m.store64(v, at: sp + UInt64(i) * 8) }
            let exit = m.run(budget: 1)
            return (exit, m.state)
        }
        let target = TestMachine.codeBase + 0x100
        let user = UInt64(SystemTables.userCode), userSS = UInt64(SystemTables.userData)
        // A non-canonical RIP: #GP(0), nothing changed.
        let (e, s) = try iret([0x0000_8000_0000_0000, user, 2, 0x1000, userSS])
        #expect(e == .exception(.generalProtection(0)) && s.cpl == 0)
        // To a more privileged level: #GP(selector). A null SS for CPL 3: #GP(0).
        #expect(try iret([target, UInt64(SystemTables.kernelCode), 2, 0x1000, 0x10], cpl: 3).0 == .exception(.generalProtection(0x08)))
        #expect(try iret([target, user, 2, 0x1000, 0]).0 == .exception(.generalProtection(0)))
        // At CPL 3 with IOPL 0, IF and IOPL in the popped image are ignored (as with POPF).
        let (ok, t) = try iret([target, user, 0x3202, TestMachine.stackTop - 0x10, userSS], cpl: 3)
        #expect(ok == .budgetExhausted && t.rip == target)
        #expect(!t.rflags.contains(.interrupt) && t.rflags.ioPrivilegeLevel == 0)
        // From CPL 0 they are taken, and the kernel's DPL 0 data segments are nulled.
        let (ok0, u) = try iret([target, user, 0x3202, TestMachine.stackTop - 0x10, userSS])
        #expect(ok0 == .budgetExhausted && u.cpl == 3 && u.rflags.contains(.interrupt) && u.rflags.ioPrivilegeLevel == 3)
        #expect(!u[.ds].usable && u[.ss].selector == SystemTables.userData)
    }
}
