import GuestMemory
import Testing
import X86
@testable import X86Interpreter

func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

/// mov ecx, msr; wrmsr; xor eax, eax; xor edx, edx; rdmsr — writes EDX:EAX and reads it back.
func writeThenReadMSR(_ msr: UInt32) -> [UInt8] {
    [0xB9] + le32(msr) + [0x0F, 0x30, 0x31, 0xC0, 0x31, 0xD2, 0x0F, 0x32]
}

/// mov ecx, msr; wrmsr
func writeMSR(_ msr: UInt32) -> [UInt8] { [0xB9] + le32(msr) + [0x0F, 0x30] }

/// mov ecx, msr; rdmsr
func readMSR(_ msr: UInt32) -> [UInt8] { [0xB9] + le32(msr) + [0x0F, 0x32] }

@Suite struct SystemInstructionTests {
    let defaultCR0 = CPUState().cr0.rawValue  // PE ET WP PG: 0x8001_0011

    @Test func morePrivilegedInstructionsFaultAtCPL3() throws {
        let privileged: [[UInt8]] = [
            [0x0F, 0x01, 0x18],  // lidt [rax]
            [0x0F, 0x00, 0xD0],  // lldt ax
            [0x0F, 0x01, 0xF0],  // lmsw ax
            [0x0F, 0x08],  // invd
            [0x44, 0x0F, 0x22, 0xC0],  // mov cr8, rax
            [0x44, 0x0F, 0x20, 0xC0],  // mov rax, cr8
            [0x0F, 0x23, 0xF8],  // mov dr7, rax
            [0x0F, 0x01, 0xD1],  // xsetbv (with CR4.OSXSAVE)
            [0xE4, 0x80],  // in al, 0x80 (IOPL 0, a TSS too short for an I/O map)
        ]
        for code in privileged {
            let (s, exit, _) = try execute(code, cpl: 3) {
                $0[.rax] = TestMachine.dataBase
                $0.cr4.insert(.osxsave)
                $0.tr = Segment(selector: 0x40, base: TestMachine.dataBase, limit: 0x66, attributes: 0x8B)
            }
            #expect(exit == .exception(.generalProtection(0)), "\(code)")
            #expect(s.rip == TestMachine.codeBase)
        }
    }

    @Test func controlRegisterValidity() throws {
        // mov cr4, rax (0F 22 E0) with LA57 (bit 12), which this CPU lacks: #GP(0).
        let (s, e, _) = try execute([0x0F, 0x22, 0xE0]) { $0[.rax] = $0.cr4.rawValue | 1 << 12 }
        #expect(e == .exception(.generalProtection(0)) && s.cr4 == CPUState().cr4)
        // mov rax, cr1 (0F 20 C8): #UD at any CPL (no such register, checked before CPL).
        for cpl: UInt8 in [0, 3] {
            let (_, u, _) = try execute([0x0F, 0x20, 0xC8], cpl: cpl)
            #expect(u == .exception(.undefinedOpcode))
        }
        // mov cr8, rax (44 0F 22 C0): only the low four bits exist.
        let (_, e8, _) = try execute([0x44, 0x0F, 0x22, 0xC0]) { $0[.rax] = 0x10 }
        #expect(e8 == .exception(.generalProtection(0)))
        // mov cr8, rax; mov rbx, cr8 (44 0F 20 C3)
        let (t, _, _) = try execute([0x44, 0x0F, 0x22, 0xC0, 0x44, 0x0F, 0x20, 0xC3]) { $0[.rax] = 5 }
        #expect(t.cr8 == 5 && t[.rbx] == 5)
        // mov cr0, rax (0F 22 C0): leaving paging in 64-bit mode, a high-half bit, and NW
        // without CD are #GP(0).
        for bad in [defaultCR0 & ~CR0.paging.rawValue, defaultCR0 | 1 << 32, defaultCR0 | CR0.notWriteThrough.rawValue] {
            let (u, g, _) = try execute([0x0F, 0x22, 0xC0]) { $0[.rax] = bad }
            #expect(g == .exception(.generalProtection(0)) && u.cr0.rawValue == defaultCR0)
        }
        // Undefined bits of the low half are ignored: mov cr0, rax; mov rbx, cr0 (0F 20 C3).
        let (w, ok, _) = try execute([0x0F, 0x22, 0xC0, 0x0F, 0x20, 0xC3]) { $0[.rax] = self.defaultCR0 | 0x40 }
        #expect(ok == .hlt(length: 1) && w[.rbx] == defaultCR0)
        // mov cr3, rax (0F 22 D8) with bit 63 (a PCID hint without CR4.PCIDE): #GP(0).
        let (_, e3, _) = try execute([0x0F, 0x22, 0xD8]) { $0[.rax] = $0.cr3 | 1 << 63 }
        #expect(e3 == .exception(.generalProtection(0)))
    }

    @Test func controlRegisterWritesCanBeIntercepted() throws {
        // mov cr3, rax; clts — both exit with RIP at the instruction and nothing changed.
        let m = try TestMachine(code: [0x0F, 0x22, 0xD8, 0x0F, 0x06])
        m.cpu.intercepts.controlRegisterWrites = 1 << 3 | 1 << 0
        var s = m.state
        s[.rax] = 0x12_3000
        s.cr0.insert(.taskSwitched)
        m.state = s
        let cr3 = s.cr3
        #expect(m.run() == .controlRegisterWrite(register: 3, value: 0x12_3000, length: 3))
        #expect(m.state.cr3 == cr3 && m.state.rip == TestMachine.codeBase)
        m.skip(3)
        #expect(m.run() == .controlRegisterWrite(register: 0, value: defaultCR0, length: 2))
        #expect(m.state.cr0.contains(.taskSwitched))
        // At CPL 3 the privilege check comes before the intercept.
        let u = try TestMachine(code: [0x0F, 0x22, 0xD8], cpl: 3)
        u.cpu.intercepts.controlRegisterWrites = 1 << 3
        #expect(u.run() == .exception(.generalProtection(0)))
    }

    @Test func lmswAndClts() throws {
        // lmsw ax (0F 01 F0) with MP EM TS set and PE clear: PE stays; mov rbx, cr0; clts;
        // mov rcx, cr0 (0F 20 C1).
        let (s, _, _) = try execute([0x0F, 0x01, 0xF0, 0x0F, 0x20, 0xC3, 0x0F, 0x06, 0x0F, 0x20, 0xC1]) { $0[.rax] = 0xE }
        #expect(s[.rbx] == defaultCR0 | 0xE)
        #expect(s[.rcx] == defaultCR0 | 0x6)
    }

    @Test func debugRegisters() throws {
        // mov dr7, rax (0F 23 F8); mov rbx, dr7 (0F 21 FB): bit 10 always reads as 1.
        let (s, _, _) = try execute([0x0F, 0x23, 0xF8, 0x0F, 0x21, 0xFB]) { $0[.rax] = 1 }
        #expect(s[.rbx] == 0x401)
        // mov rax, dr4 (0F 21 E0) is DR6 while CR4.DE is clear, #UD once it is set.
        let (t, _, _) = try execute([0x0F, 0x21, 0xE0])
        #expect(t[.rax] == 0xFFFF_0FF0)
        let (_, u, _) = try execute([0x0F, 0x21, 0xE0]) { $0.cr4.insert(.debuggingExtensions) }
        #expect(u == .exception(.undefinedOpcode))
        // mov dr6, rax (0F 23 F0) with a bit above 31: #GP(0). At CPL 3: #GP(0).
        let (_, g, _) = try execute([0x0F, 0x23, 0xF0]) { $0[.rax] = 1 << 32 }
        #expect(g == .exception(.generalProtection(0)))
        let (_, g3, _) = try execute([0x0F, 0x23, 0xF8], cpl: 3)
        #expect(g3 == .exception(.generalProtection(0)))
    }

    @Test func eferChecks() throws {
        let efer = CPUState().efer.rawValue
        // A reserved bit (bit 1), and clearing LME while paging: #GP(0).
        for bad in [efer | 2, efer & ~EFER.longModeEnable.rawValue] {
            let (s, e, _) = try execute(writeMSR(MSR.efer)) { $0[.rax] = bad; $0[.rdx] = 0 }
            #expect(e == .exception(.generalProtection(0)) && s.efer.rawValue == efer)
        }
        // Clearing NXE is fine; LMA is not software's to clear.
        let (t, _, _) = try execute(writeThenReadMSR(MSR.efer)) { $0[.rax] = 0x101; $0[.rdx] = 0 }
        #expect(t.efer == [.syscallEnable, .longModeEnable, .longModeActive] && t[.rax] == 0x501)
    }

    @Test func syscallMSRsAndSwapgs() throws {
        // A non-canonical LSTAR: #GP(0). TSC_AUX has no high half.
        let (_, e, _) = try execute(writeMSR(MSR.lstar)) { $0[.rdx] = 0x8000 }
        #expect(e == .exception(.generalProtection(0)))
        let (_, a, _) = try execute(writeMSR(MSR.tscAux)) { $0[.rdx] = 1 }
        #expect(a == .exception(.generalProtection(0)))
        // SFMASK keeps its low half.
        let (f, _, _) = try execute(writeThenReadMSR(MSR.sfmask)) { $0[.rax] = 0x4700; $0[.rdx] = 0xFFFF }
        #expect(f.sfmask == 0x4700 && f[.rax] == 0x4700 && f[.rdx] == 0)
        // KERNEL_GS_BASE ← data; swapgs (0F 01 F8); mov rbx, gs:[8]; then GS_BASE reads back.
        let code = writeMSR(MSR.kernelGSBase) + [0x0F, 0x01, 0xF8, 0x65, 0x48, 0x8B, 0x1C, 0x25, 0x08, 0, 0, 0] + readMSR(MSR.gsBase)
        let (s, _, m) = try execute(code) {
            $0[.rax] = TestMachine.dataBase
            $0[.rdx] = 0
        }
        _ = m
        #expect(s[.rax] == TestMachine.dataBase && s[.rdx] == 0)
        #expect(s[.gs].base == TestMachine.dataBase && s.kernelGSBase == 0)
        #expect(s[.rbx] == 0)  // the zeroed data page, read through GS
    }

    @Test func tscAndOtherMSRs() throws {
        // wrmsr TSC makes the counter continue from the written value.
        let (s, _, _) = try execute(writeMSR(MSR.tsc) + [0x0F, 0x31]) { $0[.rax] = 0; $0[.rdx] = 0x1000 }
        let tsc = s[.rdx] << 32 | s[.rax]
        #expect(tsc >= 0x1000_0000_0000 && tsc < 0x1000_0000_0000 + 100_000_000_000)
        // APIC_BASE reads as an enabled bootstrap processor at the architectural address.
        let (t, _, _) = try execute(readMSR(MSR.apicBase))
        #expect(t[.rax] == 0xFEE0_0900 && t[.rdx] == 0)
        // PAT entries must be valid memory types (2 is reserved); unknown MSRs are #GP(0).
        let (_, p, _) = try execute(writeMSR(MSR.pat)) { $0[.rax] = 0x0007_0402; $0[.rdx] = 0 }
        #expect(p == .exception(.generalProtection(0)))
        let (_, u, _) = try execute(writeMSR(0xC000_1234))
        #expect(u == .exception(.generalProtection(0)))
        // Every MSR can be made to exit, even the ones the engine knows.
        let m = try TestMachine(code: writeMSR(MSR.efer))
        m.cpu.intercepts.allMSRs = true
        var st = m.state
        st[.rax] = 0x901
        st[.rdx] = 0
        m.state = st
        #expect(m.run() == .wrmsr(msr: MSR.efer, value: 0x901, length: 2))
    }

    @Test func descriptorTableRegistersUseTenBytePseudoDescriptors() throws {
        // lgdt [rbx] (0F 01 13); sgdt [rbx+16] (0F 01 43 10)
        let m = try TestMachine(code: [0x0F, 0x01, 0x13, 0x0F, 0x01, 0x43, 0x10, 0xF4])
        let d = TestMachine.dataBase
        m.memory.store(UInt16(0x3F), at: MachineAddress(d))
        m.store64(0xFFFF_8000_0000_1000, at: d + 2)
        var s = m.state
        s[.rbx] = d
        m.state = s
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state.gdtr == DescriptorTableRegister(base: 0xFFFF_8000_0000_1000, limit: 0x3F))
        #expect(m.memory.load(UInt16.self, at: MachineAddress(d + 16)) == 0x3F && m.load64(d + 18) == 0xFFFF_8000_0000_1000)
        // lidt [rbx] (0F 01 1B) with a non-canonical base: #GP(0), IDTR unchanged.
        let n = try TestMachine(code: [0x0F, 0x01, 0x1B])
        n.store64(0x0000_8000_0000_0000, at: d + 2)
        var t = n.state
        t[.rbx] = d
        n.state = t
        #expect(n.run() == .exception(.generalProtection(0)))
        #expect(n.state.idtr == CPUState().idtr)
    }

    @Test func sgdtCrossingIntoAReadOnlyPageStoresNothing() throws {
        // sgdt [rbx] at CPL 3 with the 10 bytes straddling into a read-only page.
        let d = TestMachine.dataBase
        let m = try TestMachine(code: [0x0F, 0x01, 0x03], cpl: 3)
        m.updatePTE(linear: d + 0x1000) { $0 & ~PTE.writable }
        var s = m.state
        s[.rbx] = d + 0xFFA
        s.gdtr = DescriptorTableRegister(base: 0x1234_5678, limit: 0xFFF)
        m.state = s
        #expect(m.run() == .exception(.pageFault(address: d + 0x1000, code: [.present, .write, .user])))
        #expect(m.load64(d + 0xFF8) == 0)
    }

    @Test func taskRegister() throws {
        // ltr ax (0F 00 D8); str ecx (0F 00 C9); ltr ax again: the TSS is busy now → #GP(sel).
        let m = try TestMachine(code: [0x0F, 0x00, 0xD8, 0x0F, 0x00, 0xC9, 0x0F, 0x00, 0xD8])
        try m.installSystemTables(deliver: false)
        var s = m.state
        s.tr = Segment(selector: 0, base: 0, limit: 0xFFFF, attributes: 0x8B)
        s[.rax] = UInt64(SystemTables.tssSelector)
        m.state = s
        #expect(m.run() == .exception(.generalProtection(UInt32(SystemTables.tssSelector))))
        let t = m.state
        #expect(t.rip == TestMachine.codeBase + 6 && t[.rcx] == UInt64(SystemTables.tssSelector))
        #expect(t.tr.base == SystemTables.tss && t.tr.limit == SystemTables.tssLimit && t.tr.type == 0xB)
        #expect(m.memory.load(UInt8.self, at: MachineAddress(SystemTables.gdt + 0x38 + 5)) == 0x8B)
        // A data segment, a selector with TI set, and the null selector: #GP.
        for (selector, code) in [(SystemTables.kernelData, UInt32(0x10)), (0x3C, 0x3C), (0, 0)] as [(UInt16, UInt32)] {
            let n = try TestMachine(code: [0x0F, 0x00, 0xD8])
            try n.installSystemTables(deliver: false)
            var u = n.state
            u[.rax] = UInt64(selector)
            n.state = u
            #expect(n.run() == .exception(.generalProtection(code)))
        }
    }

    @Test func localDescriptorTable() throws {
        // lldt ax; mov ds, bx (LDT selector 0x0F); sldt ecx (0F 00 C1); lldt dx (null);
        // mov es, bx (8E C3) → #GP(0x0C): the LDT is gone.
        let m = try TestMachine(code: [0x0F, 0x00, 0xD0, 0x8E, 0xDB, 0x0F, 0x00, 0xC1, 0x0F, 0x00, 0xD2, 0x8E, 0xC3])
        try m.installSystemTables(deliver: false)
        var s = m.state
        s[.rax] = UInt64(SystemTables.ldtSelector)
        s[.rbx] = 0x0F
        s[.rdx] = 0
        m.state = s
        #expect(m.run() == .exception(.generalProtection(0x0C)))
        let t = m.state
        #expect(t.rip == TestMachine.codeBase + 11 && t[.ds].selector == 0x0F && t[.rcx] == UInt64(SystemTables.ldtSelector))
        #expect(!t.ldtr.usable)
    }

    @Test func portIOExitsAndDefaults() throws {
        // in al, 0x80 with every port intercepted (the default): an exit, RIP at the IN.
        let (s, e, _) = try execute([0xE4, 0x80])
        #expect(e == .io(IOAccess(port: 0x80, size: 1, isWrite: false), length: 2) && s.rip == TestMachine.codeBase)
        // out dx, ax (66 EF) reports the value; in eax, dx with REX.W (48 ED) is 4 bytes.
        let (_, o, _) = try execute([0x66, 0xEF]) { $0[.rdx] = 0x3F8; $0[.rax] = 0xABCD_1234 }
        #expect(o == .io(IOAccess(port: 0x3F8, size: 2, isWrite: true, value: 0x1234), length: 2))
        let (_, w, _) = try execute([0x48, 0xED]) { $0[.rdx] = 0x71 }
        #expect(w == .io(IOAccess(port: 0x71, size: 4, isWrite: false), length: 2))
        // Without intercepts: in al, 0x80 reads 0xFF; in eax, dx (ED) reads all ones
        // (zero-extended); out dx, al (EE) is dropped.
        let m = try TestMachine(code: [0xE4, 0x80, 0xEE, 0xED, 0xF4])
        m.cpu.intercepts.ioPorts = IOPortBitmap(all: false)
        var t = m.state
        t[.rax] = 0x1122_3344_5566_7788
        m.state = t
        #expect(m.run() == .hlt(length: 1))
        #expect(m.state[.rax] == 0xFFFF_FFFF)
    }

    /// Runs `code` at CPL 3 with IOPL 0, the fixture's TSS bitmap allowing only `allowed`.
    func userIO(_ code: [UInt8], port: UInt16, allowed: [UInt16], setup: (inout CPUState) -> Void = { _ in }) throws -> VCPUExit {
        let m = try TestMachine(code: code, cpl: 3)
        try m.installSystemTables(deliver: false)
        for p in allowed { m.setIOPermission(p, allowed: true) }
        var s = m.state
        s[.rdx] = UInt64(port)
        setup(&s)
        m.state = s
        return m.run()
    }

    @Test func ioBitmapCoversEveryPortOfTheAccessAndEndsAtTheTSSLimit() throws {
        let inAL: [UInt8] = [0xEC], inAX: [UInt8] = [0x66, 0xED], inEAX: [UInt8] = [0xED]
        #expect(try userIO(inAL, port: 0x80, allowed: [0x80]) == .io(IOAccess(port: 0x80, size: 1, isWrite: false), length: 1))
        #expect(try userIO(inAX, port: 0x7F, allowed: [0x80]) == .exception(.generalProtection(0)))
        #expect(try userIO(inAX, port: 0x80, allowed: [0x80]) == .exception(.generalProtection(0)))
        // A 4-byte access whose ports straddle a bitmap byte (0x7E-0x81).
        #expect(try userIO(inEAX, port: 0x7E, allowed: [0x7E, 0x7F, 0x80, 0x81]) == .io(IOAccess(port: 0x7E, size: 4, isWrite: false), length: 1))
        #expect(try userIO(inEAX, port: 0x7E, allowed: [0x7E, 0x7F, 0x81]) == .exception(.generalProtection(0)))
        // Port 0xFFFF needs the byte after the bitmap inside the TSS limit.
        #expect(try userIO(inAL, port: 0xFFFF, allowed: [0xFFFF]) == .io(IOAccess(port: 0xFFFF, size: 1, isWrite: false), length: 1))
        #expect(try userIO(inAL, port: 0xFFFF, allowed: [0xFFFF]) { $0.tr.limit = SystemTables.tssLimit - 1 } == .exception(.generalProtection(0)))
        // IOPL 3: the bitmap is not consulted.
        #expect(try userIO(inAL, port: 0x81, allowed: []) { $0.rflags.insert(.iopl) } == .io(IOAccess(port: 0x81, size: 1, isWrite: false), length: 1))
    }

    @Test func timeStampCounter() throws {
        // rdtsc; shl rdx, 32; or rax, rdx; mov rsi, rax; rdtsc; shl rdx, 32; or rax, rdx
        let read: [UInt8] = [0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0]
        let (s, _, _) = try execute(read + [0x48, 0x89, 0xC6] + read) { $0.tscOffset = 1 << 60 }
        #expect(s[.rsi] >= 1 << 60 && s[.rax] >= s[.rsi])
        // rdtscp (0F 01 F9) loads ECX with TSC_AUX; rdpid rax (F3 0F C7 F8) reads it too.
        let (t, _, _) = try execute([0x0F, 0x01, 0xF9, 0xF3, 0x0F, 0xC7, 0xF8]) { $0.tscAux = 7; $0[.rcx] = ~0 }
        #expect(t[.rcx] == 7 && t[.rax] == 7)
        // CR4.TSD makes RDTSC privileged.
        let (_, g, _) = try execute([0x0F, 0x31], cpl: 3) { $0.cr4.insert(.timeStampDisable) }
        #expect(g == .exception(.generalProtection(0)))
        let (_, ok, _) = try execute([0x0F, 0x31]) { $0.cr4.insert(.timeStampDisable) }
        #expect(ok == .hlt(length: 1))
        let m = try TestMachine(code: [0x0F, 0x01, 0xF9])
        m.cpu.intercepts.rdtsc = true
        #expect(m.run() == .rdtsc(isRDTSCP: true, length: 3))
    }

    @Test func randomNumbersAndExtendedControlRegisters() throws {
        // rdrand eax (0F C7 F0): #UD unless intercepted; rdseed rax (48 0F C7 F8) likewise.
        let (_, u, _) = try execute([0x0F, 0xC7, 0xF0])
        #expect(u == .exception(.undefinedOpcode))
        let m = try TestMachine(code: [0x0F, 0xC7, 0xF0])
        m.cpu.intercepts.rdrand = true
        #expect(m.run() == .rdrand(register: 0, operandSize: 4, length: 3))
        let n = try TestMachine(code: [0x48, 0x0F, 0xC7, 0xF8])
        n.cpu.intercepts.rdrand = true
        #expect(n.run() == .rdrand(register: 0, operandSize: 8, length: 4))
        // xgetbv (0F 01 D0) needs CR4.OSXSAVE; ECX=0 reads XCR0; other ECX values are #GP(0).
        let (_, x, _) = try execute([0x0F, 0x01, 0xD0])
        #expect(x == .exception(.undefinedOpcode))
        let (s, _, _) = try execute([0x0F, 0x01, 0xD0], cpl: 0) { $0.cr4.insert(.osxsave); $0[.rcx] = 0; $0[.rdx] = ~0 }
        #expect(s[.rax] == 1 && s[.rdx] == 0)
        let (_, g, _) = try execute([0x0F, 0x01, 0xD0]) { $0.cr4.insert(.osxsave); $0[.rcx] = 1 }
        #expect(g == .exception(.generalProtection(0)))
        // xsetbv (0F 01 D1): always an exit at CPL 0, #GP(0) at CPL 3, #UD without OSXSAVE.
        let (_, xs, _) = try execute([0x0F, 0x01, 0xD1]) { $0.cr4.insert(.osxsave) }
        #expect(xs == .xsetbv(length: 3))
        let (_, x3, _) = try execute([0x0F, 0x01, 0xD1], cpl: 3) { $0.cr4.insert(.osxsave) }
        #expect(x3 == .exception(.generalProtection(0)))
        let (_, xu, _) = try execute([0x0F, 0x01, 0xD1])
        #expect(xu == .exception(.undefinedOpcode))
    }

    @Test func cacheControlAndFences() throws {
        // wbinvd; invd; lfence; mfence; sfence; clflush [rbx]: no effect at CPL 0.
        let code: [UInt8] = [0x0F, 0x09, 0x0F, 0x08, 0x0F, 0xAE, 0xE8, 0x0F, 0xAE, 0xF0, 0x0F, 0xAE, 0xF8, 0x0F, 0xAE, 0x3B]
        let (s, e, _) = try execute(code) { $0[.rbx] = TestMachine.dataBase }
        #expect(e == .hlt(length: 1) && s.rip == TestMachine.codeBase + UInt64(code.count))
        // CLFLUSH of an unmapped line faults like a load; WBINVD and INVD are privileged.
        let (_, f, _) = try execute([0x0F, 0xAE, 0x3B]) { $0[.rbx] = 0x7000_0040 }
        #expect(f == .exception(.pageFault(address: 0x7000_0040, code: [])))
        for op: [UInt8] in [[0x0F, 0x09], [0x0F, 0x08]] {
            let (_, g, _) = try execute(op, cpl: 3)
            #expect(g == .exception(.generalProtection(0)))
        }
    }

    @Test func invlpgCanExit() throws {
        let m = try TestMachine(code: [0x0F, 0x01, 0x3B])  // invlpg [rbx]
        m.cpu.intercepts.invlpg = true
        var s = m.state
        s[.rbx] = 0xFFFF_8000_1234_5678
        m.state = s
        #expect(m.run() == .invlpg(address: 0xFFFF_8000_1234_5678, length: 3))
    }

    @Test func smswTakesTheOperandSizeForRegisters() throws {
        // smsw rax (48 0F 01 E0) stores all of CR0; smsw [rbx] (0F 01 23) two bytes only.
        let (s, _, m) = try execute([0x48, 0x0F, 0x01, 0xE0, 0x0F, 0x01, 0x23]) {
            $0[.rbx] = TestMachine.dataBase
            $0[.rax] = 0
        }
        #expect(s[.rax] == defaultCR0)
        #expect(m.load64(TestMachine.dataBase) == defaultCR0 & 0xFFFF)
    }
}
