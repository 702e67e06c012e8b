import Testing
import X86
@testable import X86Interpreter

@Suite struct PrivilegeTests {
    @Test func privilegedInstructionsFaultAtCPL3() throws {
        let privileged: [[UInt8]] = [
            [0xF4],  // hlt
            [0xFA],  // cli (IOPL 0)
            [0x0F, 0x20, 0xD8],  // mov rax, cr3
            [0x0F, 0x22, 0xD8],  // mov cr3, rax
            [0x0F, 0x01, 0x38],  // invlpg [rax]
            [0x0F, 0x01, 0x10],  // lgdt [rax]
            [0x0F, 0x00, 0xD8],  // ltr ax
            [0x0F, 0x32],  // rdmsr
            [0x0F, 0x30],  // wrmsr
            [0x0F, 0x01, 0xF8],  // swapgs
            [0x0F, 0x09],  // wbinvd
            [0x0F, 0x06],  // clts
            [0x0F, 0x21, 0xC0],  // mov rax, dr0
            [0x48, 0x0F, 0x07],  // sysretq
        ]
        for code in privileged {
            let m = try TestMachine(code: code + [0xF4], cpl: 3)
            var s = m.state
            s[.rax] = TestMachine.dataBase
            s.efer.insert(.syscallEnable)
            m.state = s
            #expect(m.run() == .exception(.generalProtection(0)), "\(code)")
            #expect(m.state.rip == TestMachine.codeBase)
        }
    }

    @Test func sgdtAndSmswRevealTheRealValuesAtCPL3() throws {
        // sgdt [rbx] (0F 01 03); smsw eax (0F 01 E0): allowed at CPL 3 without UMIP.
        let m = try TestMachine(code: [0x0F, 0x01, 0x03, 0x0F, 0x01, 0xE0, 0xEB, 0xFE], cpl: 3)
        var s = m.state
        s.gdtr = DescriptorTableRegister(base: 0xFFFF_8000_1234_0000, limit: 0x7F)
        s[.rbx] = TestMachine.dataBase
        m.state = s
        _ = m.run(budget: 2)
        #expect(m.memory.load(UInt16.self, at: .init(TestMachine.dataBase)) == 0x7F)
        #expect(m.load64(TestMachine.dataBase + 2) == 0xFFFF_8000_1234_0000)
        #expect(m.state[.rax] == m.state.cr0.rawValue & 0xFFFF_FFFF)
        // With CR4.UMIP they fault.
        let u = try TestMachine(code: [0x0F, 0x01, 0x03], cpl: 3)
        var t = u.state
        t.cr4.insert(.umip)
        t[.rbx] = TestMachine.dataBase
        u.state = t
        #expect(u.run() == .exception(.generalProtection(0)))
    }

    @Test func syscallAndSysretRoundTrip() throws {
        // user: syscall (0F 05) ; kernel at LSTAR: mov eax, 7 ; sysretq (48 0F 07) ; user: hlt → #GP at CPL3
        let m = try TestMachine(code: [0x0F, 0x05, 0xEB, 0xFE], cpl: 3)
        m.memory.write([0xB8, 7, 0, 0, 0, 0x48, 0x0F, 0x07], at: .init(TestMachine.codeBase + 0x800))
        var s = m.state
        s.efer.insert(.syscallEnable)
        s.lstar = TestMachine.codeBase + 0x800
        s.star = (0x23 << 48) | (0x08 << 32)  // SYSRET base 0x23 → CS 0x33, SS 0x2B; SYSCALL CS 0x08
        s.sfmask = RFlags.interrupt.rawValue
        s.rflags.insert(.interrupt)
        m.state = s
        #expect(m.run(budget: 1) == .budgetExhausted)
        #expect(m.state.cpl == 0 && m.state.rip == TestMachine.codeBase + 0x800)
        #expect(m.state[.rcx] == TestMachine.codeBase + 2 && m.state[.r11] & RFlags.interrupt.rawValue != 0)
        #expect(!m.state.rflags.contains(.interrupt) && m.state[.cs].selector == 0x08 && m.state[.ss].selector == 0x10)
        #expect(m.run(budget: 2) == .budgetExhausted)
        #expect(m.state.cpl == 3 && m.state.rip == TestMachine.codeBase + 2 && m.state[.rax] == 7)
        #expect(m.state[.cs].selector == 0x33 && m.state[.ss].selector == 0x2B && m.state.rflags.contains(.interrupt))
    }

    @Test func sysretToNonCanonicalRCXFaultsAtCPL0() throws {
        let (s, exit, _) = try execute([0x48, 0x0F, 0x07]) {
            $0.efer.insert(.syscallEnable)
            $0[.rcx] = 0x0000_8000_0000_0000
        }
        #expect(exit == .exception(.generalProtection(0)))
        #expect(s.cpl == 0 && s.rip == TestMachine.codeBase)
    }

    @Test func syscallWithoutSCEIsUndefined() throws {
        let (_, exit, _) = try execute([0x0F, 0x05]) { $0.efer.remove(.syscallEnable) }
        #expect(exit == .exception(.undefinedOpcode))
    }

    @Test func interceptedSyscallAndIntExit() throws {
        let m = try TestMachine(code: [0x0F, 0x05, 0xCD, 0x80], cpl: 3)
        m.cpu.intercepts.syscall = true
        m.cpu.intercepts.softwareInterrupts = true
        #expect(m.run() == .syscall(length: 2))
        var s = m.state
        s.rip += 2
        m.state = s
        #expect(m.run() == .softwareInterrupt(vector: 0x80, length: 2))
    }

    @Test func ioPermissionFollowsIOPLAndTheTSSBitmap() throws {
        // out 0x80, al (E6 80) at CPL 3, IOPL 0, with a TSS bitmap allowing port 0x80 only.
        let m = try TestMachine(code: [0xE6, 0x80, 0xE6, 0x81], cpl: 3)
        m.installDescriptorTables()
        let map = TestMachine.tssBase + 0x68
        m.memory.store(UInt16(0x68), at: .init(TestMachine.tssBase + 0x66))
        m.memory.write(Array(repeating: 0xFF, count: 0x11), at: .init(map))
        m.memory.store(UInt8(0xFE), at: .init(map + 0x10))  // port 0x80 allowed, 0x81 denied
        var s = m.state
        s.tr.limit = 0x68 + 0x11
        s[.rax] = 0x5A
        m.state = s
        #expect(m.run() == .io(IOAccess(port: 0x80, size: 1, isWrite: true, value: 0x5A), length: 2))
        s = m.state
        s.rip += 2
        m.state = s
        #expect(m.run() == .exception(.generalProtection(0)))
        // With IOPL 3 the bitmap is not consulted.
        s = m.state
        s.rflags.insert(.iopl)
        m.state = s
        #expect(m.run() == .io(IOAccess(port: 0x81, size: 1, isWrite: true, value: 0x5A), length: 2))
    }

    @Test func msrFileAndIntercepts() throws {
        // mov ecx, 0xC0000100 (FS_BASE); wrmsr; rdfsbase needs CR4.FSGSBASE, so read back with rdmsr.
        let code: [UInt8] = [0xB9, 0x00, 0x01, 0x00, 0xC0, 0x0F, 0x30, 0x31, 0xC0, 0x31, 0xD2, 0x0F, 0x32]
        let (s, _, _) = try execute(code) { $0[.rax] = 0x1000; $0[.rdx] = 0x7F }
        #expect(s[.fs].base == 0x7F_0000_1000 && s[.rax] == 0x1000 && s[.rdx] == 0x7F)
        // A non-canonical FS base is #GP(0); an unknown MSR too.
        let (_, e1, _) = try execute([0xB9, 0x00, 0x01, 0x00, 0xC0, 0x0F, 0x30]) { $0[.rdx] = 0x8000 }
        #expect(e1 == .exception(.generalProtection(0)))
        let (_, e2, _) = try execute([0xB9, 0x34, 0x12, 0, 0, 0x0F, 0x32])
        #expect(e2 == .exception(.generalProtection(0)))
        // An intercepted MSR exits with RIP at the instruction.
        let m = try TestMachine(code: [0xB9, 0x34, 0x12, 0, 0, 0x0F, 0x32])
        m.cpu.intercepts.interceptedMSRs = [0x1234]
        #expect(m.run() == .rdmsr(msr: 0x1234, length: 2))
        #expect(m.state.rip == TestMachine.codeBase + 5)
    }
}
