import GuestMemory
import Testing
import X86
import XenABI

@testable import XenCore

/// Instructions a PV kernel executes at CPL 3 that Xen emulates after the #GP or #UD
/// (xen-abi §5.6), and those it bounces back.
@Suite struct PrivilegedOpTests {
    static let gpHandler = 0x300
    static let table = PVTestMachine.data + 0x800

    func machine(_ body: [UInt8]) throws -> PVTestMachine {
        var layout = CodeLayout()
        layout.place(Asm.hypercall(.setTrapTable, Self.table) + body + Asm.shutdown(), at: 0)
        // #GP handler: r13 = 0xBAD, power off.
        layout.place([0x49, 0xC7, 0xC5, 0xAD, 0x0B, 0, 0] + Asm.shutdown(), at: Self.gpHandler)
        let m = try PVTestMachine(code: layout.bytes)
        m.write(Asm.trapInfo(vector: 13, flags: 0, address: CodeLayout.address(Self.gpHandler)) + Array(repeating: 0, count: 16), linear: Self.table)
        return m
    }

    @Test func forcedEmulationCPUIDShowsXensSignature() throws {
        // mov eax, 0x40000000; ud2; .ascii "xen"; cpuid
        let m = try machine([0xB8, 0, 0, 0, 0x40, 0x0F, 0x0B, 0x78, 0x65, 0x6E, 0x0F, 0xA2] + [0x49, 0x89, 0xDC, 0x49, 0x89, 0xCE])  // mov r12, rbx; mov r14, rcx
        m.run()
        #expect(m.state.gprs[.r12] == 0x566E_6558)
        #expect(m.state.gprs[.r14] == 0x6558_4D4D)
    }

    @Test func plainCPUIDHidesPGEAndSetsTheHypervisorBit() throws {
        // mov eax, 1; cpuid; mov r12, rdx; mov r13, rcx
        let m = try machine([0xB8, 1, 0, 0, 0, 0x0F, 0xA2, 0x49, 0x89, 0xD4, 0x49, 0x89, 0xCD])
        m.run()
        #expect(m.state.gprs[.r12] & (1 << 13) == 0)
        #expect(m.state.gprs[.r13] & (1 << 31) != 0)
    }

    @Test func portIOWithoutVirtualIOPLIsGP() throws {
        // mov edx, 0x60; in al, dx
        let m = try machine([0xBA, 0x60, 0, 0, 0, 0xEC])
        m.run()
        #expect(m.state.gprs[.r13] == 0xBAD)
    }

    @Test func portIOWithVirtualIOPLReadsAllOnes() throws {
        // physdev_op(set_iopl, {1}); mov rax, 0; mov edx, 0x60; in al, dx; mov r12, rax
        let code = Asm.hypercall(.physdevOp, 6, PVTestMachine.data) + Asm.movRAX(0x1200) + [0xBA, 0x60, 0, 0, 0, 0xEC] + Asm.movR12RAX
        let m = try machine(code)
        m.write([1, 0, 0, 0], linear: PVTestMachine.data)
        m.run()
        #expect(m.state.gprs[.r13] != 0xBAD)
        #expect(m.state.gprs[.r12] == 0x12FF)
        #expect(m.vcpu.pv.virtualIOPL == 1)
    }

    @Test func setIOPLRefusesLevelsAboveThree() throws {
        let m = try machine(Asm.hypercall(.physdevOp, 6, PVTestMachine.data) + Asm.movRBXRAX)
        m.write([4, 0, 0, 0], linear: PVTestMachine.data)
        m.run()
        #expect(m.state.gprs[.rbx] == XenError.EINVAL.returnValue)
    }

    @Test func fsBaseMSRRoundTripsAndRejectsNonCanonical() throws {
        // mov ecx, 0xC0000100; mov eax, 0x1000; mov edx, 0x7fff; wrmsr; xor eax,eax; rdmsr; mov r12, rax; mov r14, rdx
        let code: [UInt8] = [0xB9, 0x00, 0x01, 0x00, 0xC0, 0xB8, 0x00, 0x10, 0, 0, 0xBA, 0xFF, 0x7F, 0, 0, 0x0F, 0x30,
            0x31, 0xC0, 0x0F, 0x32, 0x49, 0x89, 0xC4, 0x49, 0x89, 0xD6]
        let m = try machine(code)
        m.run()
        #expect(m.state.gprs[.r12] == 0x1000)
        #expect(m.state.gprs[.r14] == 0x7FFF)
        #expect(m.state[.fs].base == 0x7FFF_0000_1000)

        // edx = 0x8000 makes the base non-canonical: #GP.
        let bad: [UInt8] = [0xB9, 0x00, 0x01, 0x00, 0xC0, 0x31, 0xC0, 0xBA, 0x00, 0x80, 0, 0, 0x0F, 0x30]
        let g = try machine(bad)
        g.run()
        #expect(g.state.gprs[.r13] == 0xBAD)
    }

    @Test func unknownMSRIsGP() throws {
        let m = try machine([0xB9, 0x34, 0x12, 0, 0, 0x0F, 0x32])  // mov ecx, 0x1234; rdmsr
        m.run()
        #expect(m.state.gprs[.r13] == 0xBAD)
    }

    @Test func controlRegisterReadsAndTheTSOnlyCR0Write() throws {
        // mov rax, cr3; mov r12, rax; clts; mov rax, cr0; or rax, 8 (TS); mov cr0, rax; mov rax, cr0; mov r14, rax
        let code: [UInt8] = [0x0F, 0x20, 0xD8, 0x49, 0x89, 0xC4, 0x0F, 0x06, 0x0F, 0x20, 0xC0, 0x48, 0x83, 0xC8, 0x08,
            0x0F, 0x22, 0xC0, 0x0F, 0x20, 0xC0, 0x49, 0x89, 0xC6]
        let m = try machine(code)
        m.run()
        #expect(m.state.gprs[.r13] != 0xBAD)
        #expect(m.state.gprs[.r12] == m.kernelTables.root.address.rawValue)
        #expect(m.state.gprs[.r14] & 8 != 0)
        #expect(m.vcpu.pv.virtualTS)
        #expect(m.state.cr0.contains(.taskSwitched))

        // Changing CR0.WP is refused.
        let g = try machine([0x0F, 0x20, 0xC0, 0x48, 0x35, 0x00, 0x00, 0x01, 0x00, 0x0F, 0x22, 0xC0])  // xor rax, 0x10000
        g.run()
        #expect(g.state.gprs[.r13] == 0xBAD)
    }

    @Test func theVirtualTSMakesFPUInstructionsRaiseNMOnceAndCLTSClearsIt() throws {
        // fpu_taskswitch(1); fnop → #NM handler: r13 = 7, fnop again (Xen cleared TS), r14 = 1.
        var layout = CodeLayout()
        layout.place(Asm.hypercall(.setTrapTable, Self.table) + Asm.hypercall(.fpuTaskswitch, 1) + [0xD9, 0xD0] + Asm.shutdown(), at: 0)
        layout.place([0x49, 0xC7, 0xC5, 7, 0, 0, 0, 0xD9, 0xD0, 0x49, 0xC7, 0xC6, 1, 0, 0, 0] + Asm.shutdown(), at: 0x300)
        let m = try PVTestMachine(code: layout.bytes)
        m.write(Asm.trapInfo(vector: 7, flags: 0, address: CodeLayout.address(0x300)) + Array(repeating: 0, count: 16), linear: Self.table)
        m.run()
        #expect(m.state.gprs[.r13] == 7)
        #expect(m.state.gprs[.r14] == 1)
        #expect(!m.vcpu.pv.virtualTS)
        #expect(!m.state.cr0.contains(.taskSwitched))

        // fpu_taskswitch(1); clts; xorps xmm0, xmm0: no #NM (the #GP handler would mark r13).
        let c = try machine(Asm.hypercall(.fpuTaskswitch, 1) + [0x0F, 0x06, 0x0F, 0x57, 0xC0] + Asm.movRAX(0x55) + Asm.movR12RAX)
        c.run()
        #expect(c.state.gprs[.r12] == 0x55)
        #expect(!c.state.cr0.contains(.taskSwitched))
    }

    @Test func instructionsXenDoesNotEmulateAreBouncedAsGP() throws {
        for code: [UInt8] in [[0xF4], [0x0F, 0x01, 0xF8], [0x0F, 0x08], [0x0F, 0x00, 0xD8]] {  // hlt, swapgs, invd, ltr ax
            let m = try machine(code)
            m.run()
            #expect(m.state.gprs[.r13] == 0xBAD, "\(code)")
        }
    }

    @Test func debugRegistersFollowXensChecks() throws {
        // set_debugreg(7, GD) → -EPERM; set_debugreg(0, hypervisor address) → -EPERM;
        // set_debugreg(9, 0) → -ENODEV; mov dr0 <- rax (emulated) then get_debugreg(0).
        let code = Asm.hypercall(.setDebugreg, 7, 1 << 13) + Asm.movRBXRAX
            + Asm.hypercall(.setDebugreg, 0, 0xFFFF_8000_0000_0000) + Asm.movR12RAX
            + Asm.hypercall(.setDebugreg, 9, 0) + [0x49, 0x89, 0xC6]  // mov r14, rax
            + Asm.movRAX(0x1234) + [0x0F, 0x23, 0xC0]  // mov dr0, rax
            + Asm.hypercall(.getDebugreg, 0) + [0x49, 0x89, 0xC7]  // mov r15, rax
        let m = try machine(code)
        m.run()
        #expect(m.state.gprs[.rbx] == XenError.EPERM.returnValue)
        #expect(m.state.gprs[.r12] == XenError.EPERM.returnValue)
        #expect(m.state.gprs[.r14] == XenError.ENODEV.returnValue)
        #expect(m.state.gprs[.r15] == 0x1234)
    }

    @Test func rdtscIsTheOneGigahertzVirtualTSC() throws {
        // rdtsc; shl rdx, 32; or rax, rdx; mov r12, rax
        let m = try machine([0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0x49, 0x89, 0xC4])
        let before = m.domain.clock.tsc()
        m.run()
        let after = m.domain.clock.tsc()
        #expect(m.state.gprs[.r12] >= before && m.state.gprs[.r12] <= after)
    }

    @Test func decoderReadsPrefixesAndREX() {
        #expect(PrivilegedInstruction.decode([0x66, 0xED])?.0 == .portIn(port: nil, size: 2))
        #expect(PrivilegedInstruction.decode([0x44, 0x0F, 0x20, 0xC0])?.0 == .moveControlRegister(cr: 8, gpr: 0, toRegister: true))
        #expect(PrivilegedInstruction.decode([0x41, 0x0F, 0x22, 0xD8])?.0 == .moveControlRegister(cr: 3, gpr: 8, toRegister: false))
        #expect(PrivilegedInstruction.decode([0xF3, 0x6E])?.0 == .outsString(size: 1, rep: true, addressSize: 8))
        #expect(PrivilegedInstruction.decode([0xE4]) == nil)  // truncated immediate
        #expect(PrivilegedInstruction.decode([]) == nil)
        #expect(PrivilegedInstruction.decode(Array(repeating: 0x66, count: 15)) == nil)
    }
}
