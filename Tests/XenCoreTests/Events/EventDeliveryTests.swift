import GuestMemory
import Testing
import X86
import XenABI
import XenControl

@testable import XenCore

/// Raising ports on the 2-level ABI and the upcall into the guest's event callback.
@Suite struct EventDeliveryTests {
    typealias M = EventTestMachine
    static let maskByte = UInt32(M.sharedInfo) + UInt32(VCPUInfoLayout.upcallMask)

    /// The callback used by these tests: saves rsp and the upcall mask, then powers off.
    static func recordingCallback() -> [UInt8] {
        var c = GuestCode()
        c.movRAXRSP()
        c.storeRAX(at: M.result(30))
        c.loadByte(from: maskByte)
        c.storeRAX(at: M.result(31))
        c.shutdown(UInt64(ShutdownReason.poweroff.rawValue))
        return c.bytes
    }

    @Test func upcallWaitsForUnmaskThenBouncesWithEventsMasked() throws {
        let d = M.data
        var p = EventProgram()
        p.call(.setCallbacks, M.callback, 0, 0)  // 0
        p.evtchn(.bindIPI, d)                    // 1: port 1 → vCPU 0
        p.evtchn(.send, d + 4)                   // 2: pending, but events are masked
        p.call(.xenVersion, 0)                   // 3: an exit with nothing delivered
        p.code.loadByte(from: UInt32(M.sharedInfo) + UInt32(VCPUInfoLayout.upcallPending))
        p.storeResult()                          // 4: upcall_pending
        p.code.storeByte(0, at: Self.maskByte)   // unmask (the guest's "sti")
        p.call(.xenVersion, 0)                   // 5: delivered on the way back from here
        let returnOffset = p.lastReturnOffset
        p.code.spin()
        let m = try M(code: [p.bytes], callback: Self.recordingCallback())
        #expect(m.run() == .domainShutdown)
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.result(3) == 0x0004_0013)
        #expect(m.result(4) == 1)
        #expect(m.result(5) == 0)  // never stored: the callback ran first
        #expect(m.load32(d + 4) == 1)
        #expect(m.isPending(1))
        // pending_sel has word 0 set.
        #expect(m.load64(m.vcpuInfo(0, VCPUInfoLayout.pendingSelector)) == 1)
        // Bounce frame: rcx, r11, rip, cs | saved mask << 32, rflags, rsp, ss.
        let frame = m.result(30)
        #expect(frame == M.stackTop(0) - 56)
        #expect(m.load64(frame + 16) == M.code + UInt64(returnOffset))
        #expect(m.load64(frame + 24) == UInt64(FlatSelector.code64 & ~3))
        #expect(m.load64(frame + 32) & RFlags.interrupt.rawValue != 0)
        #expect(m.load64(frame + 40) == M.stackTop(0))
        // The callback runs with events masked (TBF_INTERRUPT).
        #expect(m.result(31) == 1)
    }

    @Test func maskedPortIsRaisedByEVTCHNOPUnmask() throws {
        let d = M.data
        var p = EventProgram()
        p.call(.setCallbacks, M.callback, 0, 0)  // 0
        p.code.storeByte(0, at: Self.maskByte)
        p.evtchn(.bindIPI, d)                    // 1: port 1
        p.evtchn(.send, d + 4)                   // 2: pending but masked in evtchn_mask
        p.call(.xenVersion, 0)                   // 3: nothing to deliver
        p.code.loadByte(from: UInt32(M.sharedInfo) + UInt32(VCPUInfoLayout.upcallPending))
        p.storeResult()                          // 4: still 0
        p.evtchn(.unmask, d + 4)                 // 5: delivered right after this call
        p.code.spin()
        let m = try M(code: [p.bytes], callback: Self.recordingCallback())
        m.setMasked(1, true)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.result(2) == 0)
        #expect(m.result(3) == 0x0004_0013)
        #expect(m.result(4) == 0)
        #expect(m.result(5) == 0)  // the callback came first
        #expect(m.load64(m.vcpuInfo(0, VCPUInfoLayout.pendingSelector)) == 1)
        let maskWord = m.load64(M.sharedInfo + UInt64(SharedInfoLayout.eventChannelMask))
        #expect(maskWord & 2 == 0)
    }

    @Test func unmaskHostileAndFreePorts() throws {
        let d = M.data
        var p = EventProgram()
        p.evtchn(.unmask, d)       // 0: port 5, free: valid, left alone → 0
        p.evtchn(.unmask, d + 4)   // 1: port 0xFFFF_FFFF → EINVAL
        p.evtchn(.unmask, d + 8)   // 2: port 4096 → EINVAL
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.store(UInt32(5), at: d)
        m.store(UInt32.max, at: d + 4)
        m.store(UInt32(4096), at: d + 8)
        m.setMasked(5, true)
        m.run()
        #expect([m.result(0), m.result(1), m.result(2)] == [0, XenError.EINVAL.rax, XenError.EINVAL.rax])
        // A free port's mask bit is not touched (Xen: evtchn_usable()).
        #expect(m.load64(M.sharedInfo + UInt64(SharedInfoLayout.eventChannelMask)) & (1 << 5) != 0)
    }

    @Test func registerVCPUInfoMovesDeliveryToTheNewArea() throws {
        let d = M.data
        let page: UInt64 = 0x60_3000
        var p = EventProgram()
        // Hostile first: (mfn, offset) pairs at d + 16·i.
        let attempts: [(UInt64, UInt32)] = [
            (page >> 12, 4096), (page >> 12, 4090), (page >> 12, 12), (1 << 52, 0), (0x10_0000, 0),
            (M.sharedInfo >> 12, 0), (page >> 12, 64), (page >> 12, 128),
        ]
        for i in attempts.indices { p.vcpuOp(.registerVCPUInfo, 0, d + 16 * UInt64(i)) }  // 0–7
        p.vcpuOp(.registerVCPUInfo, 1, d + 16 * 6)  // 8: no vCPU 1 → ENOENT
        p.vcpuOp(.registerVCPUInfo, 0, 0x1234_5000) // 9: bad pointer → EBUSY? no: EFAULT first
        p.call(.setCallbacks, M.callback, 0, 0)     // 10
        p.evtchn(.bindIPI, d + 0x100)               // 11
        p.code.storeByte(0, at: UInt32(page + 64 + 1))  // unmask in the new vcpu_info
        p.evtchn(.send, d + 0x104)                  // 12: delivered after this
        p.code.spin()
        var callback = GuestCode()
        callback.loadByte(from: UInt32(page + 64 + 1))
        callback.storeRAX(at: M.result(31))
        callback.shutdown()
        let m = try M(code: [p.bytes], callback: callback.bytes)
        for (i, (mfn, offset)) in attempts.enumerated() {
            m.store(mfn, at: d + 16 * UInt64(i))
            m.store(offset, at: d + 16 * UInt64(i) + 8)
        }
        m.run()
        let expected: [UInt64] = [
            XenError.EINVAL.rax, XenError.ENXIO.rax, XenError.ENXIO.rax, XenError.EINVAL.rax,
            XenError.EINVAL.rax, XenError.EINVAL.rax, 0, XenError.EBUSY.rax, XenError.ENOENT.rax,
            XenError.EFAULT.rax, 0, 0,
        ]
        for (i, e) in expected.enumerated() { #expect(m.result(i) == e, "result \(i)") }
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.vcpu.pv.vcpuInfo == MachineAddress(page + 64))
        // Registration forced a rescan: every selector bit; the time record was published.
        #expect(m.load64(page + 64 + UInt64(VCPUInfoLayout.pendingSelector)) == ~0)
        #expect(m.load32(page + 64 + UInt64(VCPUInfoLayout.time + VCPUTimeInfoLayout.tscToSystemMul)) == 0x8000_0000)
        #expect(m.load32(page + 64 + UInt64(VCPUInfoLayout.time)) & 1 == 0)
        #expect(m.result(31) == 1)
    }

    @Test func raiseEventAndGlobalVIRQHooks() throws {
        let m = try M(code: [[]])
        let ipi = try m.domain.bindIPI(vcpu: 0)
        let console = try m.domain.bindVIRQ(VIRQ.console, vcpu: 0)
        m.domain.raiseEvent(EventChannelPort(ipi))
        #expect(m.isPending(ipi))
        #expect(m.load8(m.vcpuInfo(0, VCPUInfoLayout.upcallPending)) == 1)
        m.domain.sendGlobalVIRQ(VIRQ.console)
        #expect(m.isPending(console))
        // Free ports and per-vCPU VIRQs are ignored by these hooks.
        m.domain.raiseEvent(EventChannelPort(40))
        m.domain.sendGlobalVIRQ(VIRQ.timer)
        #expect(!m.isPending(40))
    }
}
