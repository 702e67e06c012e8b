import GuestMemory
import Testing
import X86
import X86Interpreter
import XenABI
import XenControl

@testable import XenCore

/// VCPUOP_* and several vCPUs, each on its own host thread.
@Suite struct VCPUOpTests {
    typealias M = EventTestMachine
    typealias L = VCPUGuestContextLayout

    @Test func upDownIsUpAndTheirErrnos() throws {
        var p = EventProgram()
        p.vcpuOp(.isUp, 0, 0)                          // 0: 1
        p.vcpuOp(.isUp, 1, 0)                          // 1: 0 (never initialised)
        p.vcpuOp(.up, 1, 0)                            // 2: EINVAL
        p.vcpuOp(.isUp, 7, 0)                          // 3: ENOENT
        p.vcpuOp(.isUp, 0xFFFF_FFFF, 0)                // 4: ENOENT
        p.call(.vcpuOp, 99, 0, 0)                      // 5: ENOSYS
        p.vcpuOp(.getPhysID, 0, M.data)                // 6: EINVAL (not the hardware domain)
        p.vcpuOp(.sendNMI, 0, M.data)                  // 7: EINVAL (argument must be NULL)
        p.vcpuOp(.sendNMI, 0, 0)                       // 8: ENOSYS (no virtual NMIs yet)
        p.vcpuOp(.setSingleshotTimer, 1, M.data)       // 9: another vCPU → EINVAL
        p.vcpuOp(.stopSingleshotTimer, 1, 0)           // 10: EINVAL
        p.vcpuOp(.stopPeriodicTimer, 1, 0)             // 11: allowed for any vCPU
        p.vcpuOp(.down, 0, 0)                          // 12: the last vCPU up: poweroff
        p.code.spin()
        let m = try M(code: [p.bytes, []], offline: [1])
        m.run()
        let expected: [UInt64] = [
            1, 0, XenError.EINVAL.rax, XenError.ENOENT.rax, XenError.ENOENT.rax, XenError.ENOSYS.rax,
            XenError.EINVAL.rax, XenError.EINVAL.rax, XenError.ENOSYS.rax, XenError.EINVAL.rax,
            XenError.EINVAL.rax, 0, 0,
        ]
        for (i, e) in expected.enumerated() { #expect(m.result(i) == e, "result \(i)") }
        #expect(m.domain.shutdownState?.reason == .poweroff)
    }

    /// A vcpu_guest_context for vCPU 1 running `M.code + 0x1000`.
    static func context(_ m: M, at address: UInt64, _ edit: (inout GuestStruct) -> Void = { _ in }) {
        var c = GuestStruct(bytes: [UInt8](repeating: 0, count: L.size))
        c.set(L.flags, 8, L.flagInKernel)
        c.set(L.userRegisters + CPUUserRegsLayout.rip, 8, M.code + 0x1000)
        c.set(L.userRegisters + CPUUserRegsLayout.rsp, 8, M.stackTop(1))
        c.set(L.userRegisters + CPUUserRegsLayout.cs, 2, UInt64(FlatSelector.code64))
        c.set(L.userRegisters + CPUUserRegsLayout.ss, 2, UInt64(FlatSelector.data))
        c.set(L.userRegisters + CPUUserRegsLayout.rflags, 8, 0x3202)  // IOPL 3: virtualised
        c.set(L.userRegisters + CPUUserRegsLayout.rbx, 8, 0x1234)
        c.set(L.kernelSS, 8, UInt64(FlatSelector.data))
        c.set(L.kernelSP, 8, M.stackTop(1))
        c.set(L.controlRegisters + 3 * 8, 8, m.pageTable.address.rawValue)
        c.set(L.eventCallback, 8, M.callback)
        c.set(L.gsBaseKernel, 8, 0x5000)
        c.set(L.debugRegisters + 6 * 8, 8, 0xFFFF_0FF0)
        c.set(L.debugRegisters + 7 * 8, 8, 0x400)
        edit(&c)
        m.memory.write(c.bytes, at: MachineAddress(address))
    }

    @Test func initialiseAndUpStartASecondVCPUThatSignalsTheFirst() throws {
        let d = M.data
        let contexts: [UInt64] = [d + 0x2000, d + 0x3500, d + 0x4A00, d + 0x5F00]
        var p = EventProgram()
        p.vcpuOp(.initialise, 1, contexts[1])                   // 0: non-canonical rip → EINVAL
        p.vcpuOp(.initialise, 1, contexts[2])                   // 1: guest GDT → EINVAL (refused)
        p.vcpuOp(.initialise, 1, contexts[3])                   // 2: cs 0x10 → EINVAL
        p.vcpuOp(.initialise, 1, 0x1234_5000)                   // 3: EFAULT
        p.vcpuOp(.initialise, 1, contexts[0])                   // 4: 0
        p.vcpuOp(.initialise, 1, contexts[0])                   // 5: EEXIST
        p.vcpuOp(.initialise, 0, contexts[0])                   // 6: EEXIST (running)
        p.vcpuOp(.isUp, 1, 0)                                   // 7: 0 (no VGCF_online)
        p.vcpuOp(.up, 1, 0)                                     // 8: 0
        p.call(.schedOp, SchedOp.poll.rawValue, d + 0x100)      // 9: until vCPU 1 sends
        p.vcpuOp(.isUp, 1, 0)                                   // 10: 1
        p.shutdown()
        var second = GuestCode()
        second.raw([0x48, 0x89, 0xD8])                          // mov rax, rbx (from the context)
        second.storeRAX(at: M.result(20))
        second.hypercall(.eventChannelOp, UInt64(EventChannelOp.send.rawValue), d + 0x180)
        let loop = second.here
        second.hypercall(.schedOp, SchedOp.block.rawValue, 0)
        second.jump(to: loop)
        let m = try M(code: [p.bytes, second.bytes], offline: [1])
        Self.context(m, at: contexts[0])
        Self.context(m, at: contexts[1]) { $0.set(L.userRegisters + CPUUserRegsLayout.rip, 8, 0x0000_8000_0000_0000) }
        Self.context(m, at: contexts[2]) { $0.set(L.gdtEntries, 8, 16); $0.set(L.gdtFrames, 8, 0x605) }
        Self.context(m, at: contexts[3]) { $0.set(L.userRegisters + CPUUserRegsLayout.cs, 2, 0x10) }
        let port = try m.domain.bindIPI(vcpu: 0)
        m.store(d + 0x140, at: d + 0x100)
        m.store(UInt32(1), at: d + 0x108)
        m.store(port, at: d + 0x140)
        m.store(port, at: d + 0x180)
        m.runAll()
        let expected: [UInt64] = [
            XenError.EINVAL.rax, XenError.EINVAL.rax, XenError.EINVAL.rax, XenError.EFAULT.rax, 0,
            XenError.EEXIST.rax, XenError.EEXIST.rax, 0, 0, 0, 1,
        ]
        for (i, e) in expected.enumerated() { #expect(m.result(i) == e, "result \(i)") }
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.result(20) == 0x1234)
        let second1 = m.domain.vcpus[1]
        #expect(second1.pv.eventCallback == M.callback)
        #expect(second1.pv.virtualIOPL == 3)
        #expect(second1.engine.state.rflags.ioPrivilegeLevel == 0)
        #expect(second1.engine.state.segments[SegmentRegister.gs.rawValue].base == 0x5000)
    }

    @Test func hostileContextsAreRefusedAndLeaveTheVCPUUninitialised() throws {
        let m = try M(code: [[], []], offline: [1])
        let target = m.domain.vcpus[1]
        let edits: [(String, (inout GuestStruct) -> Void)] = [
            ("huge gdt_ents", { $0.set(L.gdtEntries, 8, .max) }),
            ("17 GDT frames", { $0.set(L.gdtEntries, 8, 17 * 512) }),
            ("ldt_ents > 8192", { $0.set(L.ldtEntries, 8, 8193) }),
            ("unaligned ldt_base", { $0.set(L.ldtBase, 8, 0x1001) }),
            ("ldt_base in the hole", { $0.set(L.ldtBase, 8, 0xFFFF_8000_0000_0000) }),
            ("dr7 upper bits", { $0.set(L.debugRegisters + 7 * 8, 8, 1 << 40) }),
            ("dr0 in the hole", { $0.set(L.debugRegisters, 8, 0xFFFF_8000_0000_0000) }),
            ("trap handler non-canonical", { $0.set(L.trapContext + 16 * 14 + 8, 8, 1 << 60) }),
            ("event callback non-canonical", { $0.set(L.eventCallback, 8, 1 << 60) }),
            ("user mode without a user table", { $0.set(L.flags, 8, 0) }),
            ("cr3 outside RAM", { $0.set(L.controlRegisters + 3 * 8, 8, 1 << 40) }),
            ("ss not flat", { $0.set(L.userRegisters + CPUUserRegsLayout.ss, 2, 0x18) }),
            ("ds is a GDT selector", { $0.set(L.userRegisters + CPUUserRegsLayout.ds, 2, 0x18) }),
        ]
        for (name, edit) in edits {
            Self.context(m, at: M.data, edit)
            let bytes = m.memory.read(at: MachineAddress(M.data), count: L.size) ?? []
            #expect(throws: XenError.EINVAL, "\(name)") { try target.setInfoGuest(GuestStruct(bytes: bytes)) }
        }
        let ev = try #require(m.domain.eventState(1))
        let initialised = ev.initialised.load(ordering: .relaxed)
        #expect(!initialised)
        #expect(!target.isOnline)
    }

    @Test func initialiseLoadsTheFPUImageAndTheVirtualTS() throws {
        let m = try M(code: [[], []], offline: [1])
        let target = m.domain.vcpus[1]
        typealias F = FPUState.FXSAVELayout
        Self.context(m, at: M.data) {
            $0.set(L.flags, 8, L.flagInKernel | L.flagI387Valid)
            $0.set(L.controlRegisters, 8, CR0.taskSwitched.rawValue)
            $0.set(L.fpuContext + F.controlWord, 2, 0x027F)
            $0.set(L.fpuContext + F.mxcsr, 4, 0x1F00)
            $0.set(L.fpuContext + F.xmm + 16, 8, 0x0123_4567_89AB_CDEF)
        }
        let bytes = m.memory.read(at: MachineAddress(M.data), count: L.size) ?? []
        try target.setInfoGuest(GuestStruct(bytes: bytes))
        let s = target.engine.state
        #expect(s.fpu.controlWord == 0x027F)
        #expect(s.fpu.mxcsr == 0x1F00)
        #expect(s.fpu.xmm[1].low == 0x0123_4567_89AB_CDEF)
        #expect(target.pv.virtualTS)
        #expect(s.cr0.contains(.taskSwitched))
        #expect(s.cr0.contains(.monitorCoprocessor) && s.cr0.contains(.numericError))
    }

    @Test func initialiseWithoutI387ValidResetsTheFPUAndBadMXCSRZeroesIt() throws {
        let m = try M(code: [[], [], []], offline: [1, 2])
        typealias F = FPUState.FXSAVELayout
        // Without VGCF_I387_VALID the image is ignored: FNINIT's state, MXCSR 0x1F80.
        Self.context(m, at: M.data) { $0.set(L.fpuContext + F.controlWord, 2, 0x027F) }
        try m.domain.vcpus[1].setInfoGuest(GuestStruct(bytes: m.memory.read(at: MachineAddress(M.data), count: L.size) ?? []))
        #expect(m.domain.vcpus[1].engine.state.fpu == FPUState())
        #expect(!m.domain.vcpus[1].engine.state.cr0.contains(.taskSwitched))
        // Reserved MXCSR bits: Xen's FXRSTOR fixup loads an all-zero image instead.
        Self.context(m, at: M.data) {
            $0.set(L.flags, 8, L.flagInKernel | L.flagI387Valid)
            $0.set(L.fpuContext + F.controlWord, 2, 0x027F)
            $0.set(L.fpuContext + F.mxcsr, 4, 0x1_0000)
        }
        try m.domain.vcpus[2].setInfoGuest(GuestStruct(bytes: m.memory.read(at: MachineAddress(M.data), count: L.size) ?? []))
        let fpu = m.domain.vcpus[2].engine.state.fpu
        #expect(fpu.controlWord == 0x40)  // bit 6 reads as one, as FXRSTOR leaves it
        #expect(fpu.mxcsr == 0)
    }

    @Test func downAndUpAnotherVCPU() throws {
        let d = M.data
        var p = EventProgram()
        p.vcpuOp(.initialise, 1, d + 0x2000)                 // 0: online at once
        p.call(.schedOp, SchedOp.poll.rawValue, d + 0x100)   // 1: until vCPU 1 has run
        p.vcpuOp(.down, 1, 0)                                // 2
        p.vcpuOp(.isUp, 1, 0)                                // 3: 0
        p.vcpuOp(.getRunstateInfo, 1, d + 0x200)             // 4: offline
        p.vcpuOp(.up, 1, 0)                                  // 5
        p.vcpuOp(.isUp, 1, 0)                                // 6: 1
        p.shutdown()
        var second = GuestCode()
        second.hypercall(.eventChannelOp, UInt64(EventChannelOp.send.rawValue), d + 0x180)
        let loop = second.here
        second.hypercall(.schedOp, SchedOp.block.rawValue, 0)
        second.jump(to: loop)
        let m = try M(code: [p.bytes, second.bytes], offline: [1])
        Self.context(m, at: d + 0x2000) { $0.set(L.flags, 8, L.flagInKernel | L.flagOnline) }
        let port = try m.domain.bindIPI(vcpu: 0)
        m.store(d + 0x140, at: d + 0x100)
        m.store(UInt32(1), at: d + 0x108)
        m.store(port, at: d + 0x140)
        m.store(port, at: d + 0x180)
        m.runAll()
        #expect((0...6).map(m.result) == [0, 0, 0, 0, 0, 0, 1])
        #expect(m.load32(d + 0x200) == UInt32(Runstate.offline.rawValue))
        #expect(m.domain.shutdownState?.reason == .poweroff)
    }

    @Test func twoVCPUsExchangeIPIsOnTwoThreads() throws {
        let result = try EventRoundTripBenchmark.run(roundTrips: 200, engines: InterpreterFactory())
        #expect(result.shutdown == .poweroff)
        #expect(result.roundTrips == 200)
    }

    @Test func vcpusAboveTheSharedInfoSlotsNeedARegisteredVCPUInfo() throws {
        // 33 vCPUs: vCPU 32 has no vcpu_info slot in shared_info (Xen's dummy_vcpu_info).
        var code = [[UInt8]](repeating: [], count: 33)
        var p = EventProgram()
        p.vcpuOp(.initialise, 32, M.data + 0x2000)      // 0: EINVAL before registration
        p.vcpuOp(.registerVCPUInfo, 32, M.data)         // 1: 0
        p.vcpuOp(.initialise, 32, M.data + 0x2000)      // 2: 0
        p.shutdown()
        code[0] = p.bytes
        let m = try M(code: code, offline: Set(1..<33))
        Self.context(m, at: M.data + 0x2000)
        m.store(UInt64(0x60_3000 >> 12), at: M.data)
        m.store(UInt32(0), at: M.data + 8)
        m.run()
        #expect([m.result(0), m.result(1), m.result(2)] == [XenError.EINVAL.rax, 0, 0])
        // A fresh vcpu_info starts masked, then gets the forced rescan.
        #expect(m.load8(0x60_3000 + UInt64(VCPUInfoLayout.upcallMask)) == 1)
        #expect(m.load8(0x60_3000 + UInt64(VCPUInfoLayout.upcallPending)) == 1)
    }
}
