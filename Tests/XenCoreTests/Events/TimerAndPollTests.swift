import Testing
import XenABI
import XenControl

@testable import XenCore

/// VIRQ_TIMER from the single-shot, set_timer_op and periodic timers; SCHEDOP_block and
/// SCHEDOP_poll sleeping and waking.
@Suite struct TimerAndPollTests {
    typealias M = EventTestMachine

    /// Callback: timestamp into slot 30, then power off.
    static func timestampCallback() -> [UInt8] {
        var c = GuestCode()
        c.readTSC()
        c.storeRAX(at: M.result(30))
        c.shutdown()
        return c.bytes
    }

    @Test func singleshotTimerWakesBlock() throws {
        let d = M.data
        var p = EventProgram()
        p.call(.setCallbacks, M.callback, 0, 0)         // 0
        p.evtchn(.bindVIRQ, d)                          // 1: VIRQ_TIMER → port 1
        p.vcpuOp(.stopPeriodicTimer, 0, 0)              // 2
        p.code.readTSC()
        p.code.addRAX(3_000_000)
        p.code.storeRAX(at: d + 0x100)                  // timeout_abs_ns = now + 3 ms
        p.storeResult()                                 // 3: the deadline
        p.vcpuOp(.setSingleshotTimer, 0, d + 0x100)     // 4
        p.call(.schedOp, SchedOp.block.rawValue, 0)     // 5: sleeps until the timer
        p.code.spin()
        let m = try M(code: [p.bytes], callback: Self.timestampCallback())
        m.store(VIRQ.timer, at: d)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect(m.result(4) == 0)
        #expect(m.result(3) > 3_000_000)
        #expect(m.result(30) >= m.result(3))
        #expect(m.isPending(1))
    }

    @Test func pastDeadlinesFireAtOnceEvenWithTheFutureFlag() throws {
        let d = M.data
        var p = EventProgram()
        p.evtchn(.bindVIRQ, d)                        // 0: port 1
        p.vcpuOp(.stopPeriodicTimer, 0, 0)            // 1
        p.vcpuOp(.setSingleshotTimer, 0, d + 0x100)   // 2: deadline 1 ns, VCPU_SSHOTTMR_future
        p.call(.xenVersion, 0)                        // 3: the timer fires before this returns
        p.code.loadRAX(from: M.sharedInfo + UInt64(SharedInfoLayout.eventChannelPending))
        p.storeResult()                               // 4
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.store(VIRQ.timer, at: d)
        m.store(UInt64(1), at: d + 0x100)
        m.store(SingleshotTimerLayout.futureFlag, at: d + 0x108)
        m.run()
        // Xen >= 4.18 ignores VCPU_SSHOTTMR_future (no -ETIME).
        #expect(m.result(2) == 0)
        #expect(m.result(4) & 2 != 0)
    }

    @Test func setTimerOpZeroCancelsAndPollTimesOut() throws {
        let d = M.data
        var p = EventProgram()
        p.evtchn(.bindVIRQ, d)                             // 0: port 1
        p.vcpuOp(.stopPeriodicTimer, 0, 0)                 // 1
        p.code.readTSC()
        p.code.addRAX(1_000_000)
        p.code.raw([0x48, 0x89, 0xC7])                     // mov rdi, rax
        p.code.movImm(0, Hypercall.setTimerOp.rawValue)
        p.code.raw([0x0F, 0x05])
        p.storeResult()                                    // 2: set_timer_op(now + 1 ms)
        p.call(.setTimerOp, 0)                             // 3: cancelled
        p.code.readTSC()
        p.code.addRAX(5_000_000)
        p.code.storeRAX(at: d + 0x210)                     // poll timeout = now + 5 ms
        p.storeResult()                                    // 4: the poll's timeout
        p.call(.schedOp, SchedOp.poll.rawValue, d + 0x200) // 5: waits for the timeout
        p.timestamp()                                      // 6
        p.code.loadRAX(from: M.sharedInfo + UInt64(SharedInfoLayout.eventChannelPending))
        p.storeResult()                                    // 7
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.store(VIRQ.timer, at: d)
        m.store(d + 0x300, at: d + 0x200)
        m.store(UInt32(1), at: d + 0x208)
        m.store(UInt32(1), at: d + 0x300)
        m.run()
        #expect(m.result(2) == 0 && m.result(3) == 0)
        #expect(m.result(5) == 0)
        #expect(m.result(4) > 5_000_000)
        #expect(m.result(6) >= m.result(4))
        #expect(m.result(7) & 2 == 0)  // the cancelled timer never fired
    }

    @Test func hugeSetTimerOpDeadlinesBecome100Milliseconds() throws {
        let m = try M(code: [[]])
        let vcpu = m.vcpu
        for timeout in [UInt64(bitPattern: -5), UInt64(1) << 62] {
            let before = m.domain.clock.systemTime()
            _ = vcpu.call(Hypercall.setTimerOp.rawValue, HypercallArguments([timeout]))
            let deadline = vcpu.eventState.timers.withLock { $0.singleshot }
            #expect(deadline != nil)
            if let deadline {
                #expect(deadline >= before + 100_000_000 && deadline < before + 200_000_000)
            }
        }
    }

    @Test func periodicTimerDefaultsTo100HzAndValidatesItsPeriod() throws {
        let d = M.data
        var p = EventProgram()
        p.call(.setCallbacks, M.callback, 0, 0)          // 0
        p.evtchn(.bindVIRQ, d)                           // 1
        p.vcpuOp(.setPeriodicTimer, 0, d + 0x100)        // 2: 999 999 ns → EINVAL
        p.vcpuOp(.setPeriodicTimer, 0, d + 0x108)        // 3: 2^62 → EINVAL (> STIME_DELTA_MAX)
        p.vcpuOp(.setPeriodicTimer, 1, d + 0x110)        // 4: no vCPU 1 → ENOENT
        p.vcpuOp(.setPeriodicTimer, 0, 0x1234_5000)      // 5: EFAULT
        p.call(.schedOp, SchedOp.block.rawValue, 0)      // 6: Xen's default 10 ms ticker wakes us
        p.code.spin()
        let m = try M(code: [p.bytes], callback: Self.timestampCallback())
        m.store(VIRQ.timer, at: d)
        m.store(UInt64(999_999), at: d + 0x100)
        m.store(UInt64(1) << 62, at: d + 0x108)
        m.store(UInt64(1_000_000), at: d + 0x110)
        m.run()
        #expect(m.domain.shutdownState?.reason == .poweroff)
        #expect([m.result(2), m.result(3), m.result(4), m.result(5)]
            == [XenError.EINVAL.rax, XenError.EINVAL.rax, XenError.ENOENT.rax, XenError.EFAULT.rax])
        #expect(m.result(30) >= VCPUEventState.defaultPeriod)
    }

    @Test func pollValidatesItsArgumentsLikeXen() throws {
        let d = M.data
        // sched_poll structures at d + 0x20·i: (ports pointer, count, timeout).
        let polls: [(UInt64, UInt32)] = [
            (d + 0x400, 129),                      // too many ports → EINVAL
            (0xFFFF_8000_0000_0000, 1),            // inside the hypervisor hole → EFAULT
            (0x1234_5000, 1),                      // canonical but unmapped → EFAULT on the copy
            (d + 0x404, 1),                        // port 0 (reserved) → EINVAL
            (d + 0x408, 1),                        // port 0xFFFF_FFFF → EINVAL
            (d + 0x40C, 1),                        // port 5, free → EINVAL
            (d + 0x410, 2),                        // pending port 1, then garbage: returns at once
            (d + 0x418, 0),                        // no ports: only the timeout ends it
        ]
        var p = EventProgram()
        p.evtchn(.bindIPI, d + 0x380)              // 0: port 1
        p.evtchn(.send, d + 0x384)                 // 1: port 1 pending
        for i in polls.indices { p.call(.schedOp, SchedOp.poll.rawValue, d + 0x20 * UInt64(i)) }  // 2–9
        p.call(.schedOp, SchedOp.poll.rawValue, 0x1234_5000)  // 10: struct unreadable → EFAULT
        p.shutdown()
        let m = try M(code: [p.bytes])
        for (i, (ports, count)) in polls.enumerated() {
            m.store(ports, at: d + 0x20 * UInt64(i))
            m.store(count, at: d + 0x20 * UInt64(i) + 8)
        }
        // The last poll times out 1 ms after the domain's clock started.
        m.store(m.domain.clock.systemTime() + 1_000_000, at: d + 0x20 * 7 + 16)
        m.store(UInt32(0), at: d + 0x404)
        m.store(UInt32.max, at: d + 0x408)
        m.store(UInt32(5), at: d + 0x40C)
        m.store(UInt32(1), at: d + 0x410)
        m.store(UInt32.max, at: d + 0x414)
        m.run()
        let expected: [UInt64] = [
            0, 0, XenError.EINVAL.rax, XenError.EFAULT.rax, XenError.EFAULT.rax, XenError.EINVAL.rax,
            XenError.EINVAL.rax, XenError.EINVAL.rax, 0, 0, XenError.EFAULT.rax,
        ]
        for (i, e) in expected.enumerated() { #expect(m.result(i) == e, "result \(i)") }
        #expect(m.domain.shutdownState?.reason == .poweroff)
    }

    @Test func runstateAccountsBlockedTime() throws {
        let d = M.data
        var p = EventProgram()
        p.vcpuOp(.registerRunstateMemoryArea, 0, d + 0x100)  // 0
        p.vcpuOp(.registerRunstateMemoryArea, 0, d + 0x108)  // 1: hole → EFAULT
        p.evtchn(.bindVIRQ, d)                               // 2
        p.vcpuOp(.stopPeriodicTimer, 0, 0)                   // 3
        p.code.readTSC()
        p.code.addRAX(50_000_000)  // far enough ahead that a loaded host still blocks
        p.code.storeRAX(at: d + 0x110)
        p.vcpuOp(.setSingleshotTimer, 0, d + 0x110)          // 4
        p.call(.schedOp, SchedOp.block.rawValue, 0)          // 5: events unmasked, timer wakes
        p.vcpuOp(.getRunstateInfo, 0, d + 0x200)             // 6
        p.vcpuOp(.getRunstateInfo, 0, 0x1234_5000)           // 7: EFAULT
        p.shutdown()
        let m = try M(code: [p.bytes])
        m.store(d + 0x180, at: d + 0x100)
        m.store(UInt64(0xFFFF_8000_0000_1000), at: d + 0x108)
        m.store(VIRQ.timer, at: d)
        m.run()
        #expect([m.result(0), m.result(1), m.result(5), m.result(6), m.result(7)]
            == [0, XenError.EFAULT.rax, 0, 0, XenError.EFAULT.rax])
        // get_runstate_info: running, with time spent blocked (at least 1 ms of the 50).
        #expect(m.load32(d + 0x200) == UInt32(Runstate.running.rawValue))
        #expect(m.load64(d + 0x200 + 16 + 8 * 2) >= 1_000_000)
        #expect(m.load64(d + 0x200 + 16) > 0)
        // The registered area was kept current: back to running after the block.
        #expect(m.load32(d + 0x180) == UInt32(Runstate.running.rawValue))
        #expect(m.load64(d + 0x180 + 16 + 8 * 2) >= 1_000_000)
        #expect(m.load64(d + 0x180 + 8) & RunstateInfoLayout.updateFlag == 0)
    }
}
