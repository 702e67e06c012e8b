import GuestMemory
import Testing
import X86
import XenABI

@testable import XenCore

/// Exceptions, software interrupts, syscalls from user mode and iret: Xen's 64-bit PV bounce
/// frames (xen-abi §5.2–5.3) built by Kite on the guest kernel stack.
@Suite struct TrapBounceTests {
    static let handler = 0x300
    static let table = PVTestMachine.data + 0x800

    /// A machine whose trap table sends `vectors` to one handler that records rsp in r12 and
    /// powers off.
    func machine(_ body: [UInt8], vectors: [(UInt8, UInt8)], extraData: [(UInt64, [UInt8])] = []) throws -> PVTestMachine {
        var layout = CodeLayout()
        layout.place(Asm.hypercall(.setTrapTable, Self.table) + body, at: 0)
        layout.place(Asm.movR12RSP + Asm.shutdown(), at: Self.handler)
        let m = try PVTestMachine(code: layout.bytes)
        var entries: [UInt8] = []
        for (vector, flags) in vectors {
            entries += Asm.trapInfo(vector: vector, flags: flags, address: CodeLayout.address(Self.handler))
        }
        m.write(entries + Array(repeating: 0, count: 16), linear: Self.table)
        for (address, bytes) in extraData { m.write(bytes, linear: address) }
        return m
    }

    func frame(_ m: PVTestMachine, words: Int) -> [UInt64] {
        let base = m.state.gprs[.r12]
        return (0..<words).map { m.load64(linear: base + UInt64($0 * 8)) ?? 0xDEAD }
    }

    @Test func undefinedOpcodeBouncesWithoutErrorCode() throws {
        let setup = Asm.hypercall(.setTrapTable, Self.table).count
        let m = try machine(Asm.ud2, vectors: [(6, 0)])
        #expect(m.run() == .domainShutdown)
        let f = frame(m, words: 7)
        let ud2Address = PVTestMachine.code + UInt64(setup)
        // RCX, R11, RIP, CS|mask<<32, RFLAGS, RSP, SS
        #expect(f[2] == ud2Address)
        #expect(f[3] == 0xE030 | (1 << 32))  // RPL cleared (kernel interrupted itself); events were masked
        #expect(f[5] == PVTestMachine.stackTop)
        #expect(f[6] == 0xE02B)
        #expect(m.state.gprs[.r12] == PVTestMachine.stackTop - 56)
        #expect(m.domain.shutdownState?.reason == .poweroff)
    }

    @Test func pageFaultPutsCR2InVCPUInfoAndTheErrorCodeOnTheFrame() throws {
        // mov rdi, 0x1234000; mov rax, [rdi]
        let m = try machine(Asm.movRDI(0x123_4000) + [0x48, 0x8B, 0x07], vectors: [(14, 0)])
        m.run()
        let f = frame(m, words: 8)
        #expect(f[2] == 0)  // not present, read, kernel mode (U/S reflects guest kernel mode)
        #expect(m.memory.load(UInt64.self, at: MachineAddress(0x70_0000 + 16)) == 0x123_4000)
    }

    @Test func unhandledExceptionCrashesOnlyTheDomain() throws {
        let m = try machine(Asm.ud2, vectors: [])
        #expect(m.run() == .domainShutdown)
        #expect(m.domain.shutdownState?.reason == .crash)
        #expect(m.domain.crashReason?.contains("exception 6") == true)
    }

    @Test func softwareInterruptHonoursTheTrapTableDPL() throws {
        // int 0x80 with DPL 3 reaches its handler past the instruction.
        let setup = Asm.hypercall(.setTrapTable, Self.table).count
        let m = try machine([0xCD, 0x80], vectors: [(0x80, 3)])
        m.run()
        #expect(frame(m, words: 3)[2] == PVTestMachine.code + UInt64(setup + 2))

        // int 0x81 with DPL 0: #GP(0x81 << 3 | 2) instead, at the instruction.
        let g = try machine([0xCD, 0x81], vectors: [(0x81, 0), (13, 0)])
        g.run()
        let f = frame(g, words: 4)
        #expect(f[2] == 0x81 << 3 | 2)
        #expect(f[3] == PVTestMachine.code + UInt64(setup))
    }

    @Test func trapTableRefusesNonCanonicalHandlers() throws {
        let code = Asm.hypercall(.setTrapTable, Self.table) + Asm.movRBXRAX + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.write(Asm.trapInfo(vector: 6, flags: 0, address: 0x0000_8000_0000_0000) + Array(repeating: 0, count: 16), linear: Self.table)
        m.run()
        #expect(m.state.gprs[.rbx] == XenError.EINVAL.returnValue)
    }

    @Test func iretReturnsToTheFrameAndSetsTheEventMask() throws {
        var layout = CodeLayout()
        // Return to `target` in kernel mode (RPL 0 in the frame) with IF clear: events masked.
        layout.place(Asm.iret(rip: UInt32(CodeLayout.address(0x200)), cs: 0xE030, rflags: 0x2, rsp: 0x50_F000, ss: 0xE02B, rax: 0x55), at: 0)
        layout.place(Asm.movRBXRAX + Asm.movR12RSP + Asm.shutdown(), at: 0x200)
        let m = try PVTestMachine(code: layout.bytes)
        m.memory.store(UInt8(0), at: MachineAddress(0x70_0000 + 1))
        m.run()
        #expect(m.state.gprs[.rbx] == 0x55)
        #expect(m.state.gprs[.r12] == 0x50_F000)
        #expect(m.vcpuInfoUpcallMask == 1)
        #expect(m.vcpu.pv.kernelMode)
    }

    @Test func userSyscallBouncesToTheSyscallCallbackOnTheKernelStack() throws {
        var layout = CodeLayout()
        let callback = PVTestMachine.data + 0x100
        // Register the syscall callback (mask events), then iret to user mode.
        layout.place(
            Asm.hypercall(.callbackOp, 0, callback)
                + Asm.iret(rip: UInt32(PVTestMachine.userCode), cs: 0xE033, rflags: 0x202, rsp: UInt32(PVTestMachine.userStackTop), ss: 0xE02B),
            at: 0)
        layout.place(Asm.movR12RSP + Asm.shutdown(), at: 0x300)
        // User code: mov eax, 1; syscall
        let m = try PVTestMachine(code: layout.bytes, userCode: [0xB8, 1, 0, 0, 0] + Asm.syscall)
        m.write([2, 0, 1, 0, 0, 0, 0, 0] + Asm.le(CodeLayout.address(0x300), 8), linear: callback)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.vcpu.pv.kernelMode)
        #expect(m.state.gprs[.r12] == PVTestMachine.stackTop - 56)
        let f = frame(m, words: 7)
        #expect(f[0] == PVTestMachine.userCode + 7)  // RCX = return address
        #expect(f[2] == PVTestMachine.userCode + 7)
        #expect(f[3] & 0xFFFF == 0xE033)  // user CS keeps RPL 3
        #expect(f[5] == PVTestMachine.userStackTop)
        #expect(m.vcpuInfoUpcallMask == 1)
    }

    @Test func userSyscallWithoutCallbackIsUndefinedOpcode() throws {
        var layout = CodeLayout()
        layout.place(
            Asm.hypercall(.setTrapTable, Self.table)
                + Asm.iret(rip: UInt32(PVTestMachine.userCode), cs: 0xE033, rflags: 0x202, rsp: UInt32(PVTestMachine.userStackTop), ss: 0xE02B),
            at: 0)
        layout.place(Asm.movR12RSP + Asm.shutdown(), at: Self.handler)
        let m = try PVTestMachine(code: layout.bytes, userCode: Asm.syscall)
        m.write(Asm.trapInfo(vector: 6, flags: 0, address: CodeLayout.address(Self.handler)) + Array(repeating: 0, count: 16), linear: Self.table)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(frame(m, words: 3)[2] == PVTestMachine.userCode)
    }

    @Test func pendingEventIsDeliveredToTheEventCallbackWhenUnmasked() throws {
        var layout = CodeLayout()
        let callback = PVTestMachine.data + 0x100
        // Register the event callback, set upcall_pending, clear the mask, make a cheap
        // hypercall: the upcall must arrive on return.
        layout.place(
            Asm.hypercall(.callbackOp, 0, callback)
                + Asm.movRDI(PVTestMachine.sharedInfo) + Asm.storeByteAtRDI(1)
                + Asm.movRDI(PVTestMachine.sharedInfo + 1) + Asm.storeByteAtRDI(0)
                + Asm.hypercall(.xenVersion, 0) + Asm.spin,
            at: 0)
        layout.place(Asm.movR12RSP + Asm.shutdown(), at: 0x300)
        let m = try PVTestMachine(code: layout.bytes)
        m.write([0, 0, 0, 0, 0, 0, 0, 0] + Asm.le(CodeLayout.address(0x300), 8), linear: callback)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.vcpuInfoUpcallMask == 1)
        #expect(frame(m, words: 5)[4] & 0x200 != 0)  // the frame's IF: events were enabled
    }
}
