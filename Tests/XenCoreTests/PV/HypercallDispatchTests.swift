import Foundation
import Testing
import X86
import XenABI
import XenControl

@testable import XenCore

@Suite struct HypercallDispatchTests {
    @Test func xenVersionReturnsMajorMinorInRAX() throws {
        // mov rax,17; mov rdi,0; syscall; mov rbx,rax; shutdown(poweroff)
        let m = try PVTestMachine(code: Asm.hypercall(.xenVersion, 0) + Asm.movRBXRAX + Asm.shutdown())
        #expect(m.run() == .domainShutdown)
        #expect(m.state.gprs[.rbx] == 0x0004_0013)
        #expect(m.domain.shutdownState?.reason == .poweroff)
    }

    @Test func unknownAndUnimplementedNumbersReturnENOSYS() throws {
        // mov rax,63 (no such hypercall); syscall; mov rbx,rax; mov rax,1000; syscall; mov r12,rax
        let code = Asm.movRAX(63) + Asm.syscall + Asm.movRBXRAX + Asm.movRAX(1000) + Asm.syscall + Asm.movR12RAX + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.run()
        #expect(m.state.gprs[.rbx] == XenError.ENOSYS.returnValue)
        #expect(m.state.gprs[.r12] == XenError.ENOSYS.returnValue)
    }

    @Test func exitStatisticsCountHypercallsAndENOSYS() throws {
        // xen_version; hypercall 63 (-ENOSYS); hypercall 1000 (-ENOSYS, counted in the last
        // slot); cpuid through the #UD forced-emulation prefix; shutdown.
        let code = Asm.hypercall(.xenVersion, 0) + Asm.movRAX(63) + Asm.syscall + Asm.movRAX(1000) + Asm.syscall
            + [0xB8, 0, 0, 0, 0, 0x0F, 0x0B, 0x78, 0x65, 0x6E, 0x0F, 0xA2] + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.run()
        let stats = m.vcpu.exitStatistics
        #expect(stats.hypercalls[Int(Hypercall.xenVersion.rawValue)] == 1)
        #expect(stats.unimplementedHypercalls[Int(Hypercall.xenVersion.rawValue)] == 0)
        #expect(stats.unimplementedHypercalls[63] == 2)
        #expect(stats.exceptions[6] == 1)
        #expect(stats.lines.contains("hypercall xenVersion: 1"))
        #expect(stats.lines.contains("exception 6: 1"))
    }

    @Test func privilegedHypercallsAreRefusedWithEPERM() throws {
        let m = try PVTestMachine(code: Asm.hypercall(.domctl, PVTestMachine.data) + Asm.movRBXRAX + Asm.shutdown())
        m.run()
        #expect(m.state.gprs[.rbx] == XenError.EPERM.returnValue)
    }

    @Test func consoleWriteReachesTheSink() throws {
        let text = Array("hello from a PV guest\n".utf8)
        let m = try PVTestMachine(code: Asm.hypercall(.consoleIO, ConsoleIO.write, UInt64(text.count), PVTestMachine.data) + Asm.movRBXRAX + Asm.shutdown())
        m.write(text, linear: PVTestMachine.data)
        m.run()
        #expect(m.state.gprs[.rbx] == 0)
        #expect(m.consoleText == "hello from a PV guest\n")
    }

    @Test func longConsoleWriteCompletesThroughContinuations() throws {
        // 4096 bytes of data page + the preemption every 4 KiB: the call is re-issued by
        // rewinding RIP, and the guest sees one successful call.
        let m = try PVTestMachine(code: Asm.hypercall(.consoleIO, ConsoleIO.write, 4000, PVTestMachine.data) + Asm.movRBXRAX + Asm.shutdown())
        m.write(Array(repeating: UInt8(ascii: "x"), count: 4000), linear: PVTestMachine.data)
        m.run()
        #expect(m.state.gprs[.rbx] == 0)
        #expect(m.consoleText.count == 4000)
    }

    @Test func hostileConsoleWritesFailWithEFAULT() throws {
        // Unmapped buffer; buffer inside the hypervisor hole; a 2 GiB count from a 4 KiB page.
        let code = Asm.hypercall(.consoleIO, 0, 16, 0x1234_5000) + Asm.movRBXRAX
            + Asm.hypercall(.consoleIO, 0, 16, 0xFFFF_8000_0000_0000) + Asm.movR12RAX
            + Asm.hypercall(.consoleIO, 0, 0x8000_0000, PVTestMachine.data) + [0x49, 0x89, 0xC5]  // mov r13, rax
            + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.run(limit: 10_000_000)
        #expect(m.state.gprs[.rbx] == XenError.EFAULT.returnValue)
        #expect(m.state.gprs[.r12] == XenError.EFAULT.returnValue)
        #expect(m.state.gprs[.r13] == XenError.EFAULT.returnValue)
        #expect(m.domain.shutdownState?.reason == .poweroff)
        // The mapped 4 KiB page was printed before the fault, as Xen does.
        #expect(m.consoleText.count == 4096)
    }

    @Test func consoleReadAndUnknownCommand() throws {
        let code = Asm.hypercall(.consoleIO, ConsoleIO.read, 16, PVTestMachine.data) + Asm.movRBXRAX
            + Asm.hypercall(.consoleIO, 7, 16, PVTestMachine.data) + Asm.movR12RAX + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.run()
        #expect(m.state.gprs[.rbx] == 0)
        #expect(m.state.gprs[.r12] == XenError.ENOSYS.returnValue)
    }

    @Test func xenVersionSubOps() throws {
        let d = PVTestMachine.data
        let code = Asm.hypercall(.xenVersion, 1, d) + Asm.hypercall(.xenVersion, 3, d + 0x100)
            + Asm.hypercall(.xenVersion, 5, d + 0x600) + Asm.hypercall(.xenVersion, 7, 0) + Asm.movRBXRAX
            + Asm.hypercall(.xenVersion, 9, d + 0x200) + Asm.movR12RAX
            + Asm.hypercall(.xenVersion, 99, d) + [0x49, 0x89, 0xC5]  // mov r13, rax
            + Asm.hypercall(.xenVersion, 1, 0x10) + [0x49, 0x89, 0xC6]  // mov r14, rax
            + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.run()
        #expect(m.load64(linear: d) == UInt64(littleEndianBytes: Array(".0-kite\0".utf8)))
        #expect(m.load64(linear: d + 8) == 0)
        #expect(m.load64(linear: d + 0x100) == UInt64(littleEndianBytes: Array("xen-3.0-".utf8)))
        #expect(m.load64(linear: d + 0x600) == 0xFFFF_8000_0000_0000)
        #expect(m.state.gprs[.rbx] == 4096)
        #expect(m.state.gprs[.r12] == 0)
        #expect(m.load64(linear: d + 0x200) == UInt64(littleEndianBytes: Array("<denied>".utf8)))
        #expect(m.state.gprs[.r13] == XenError.ENOSYS.returnValue)
        #expect(m.state.gprs[.r14] == XenError.EFAULT.returnValue)
    }

    @Test func vmAssistValidatesTypeAndCommand() throws {
        let code = Asm.hypercall(.vmAssist, 0, 2) + Asm.movRBXRAX
            + Asm.hypercall(.vmAssist, 0, 9) + Asm.movR12RAX
            + Asm.hypercall(.vmAssist, 5, 2) + [0x49, 0x89, 0xC5]
            + Asm.shutdown()
        let m = try PVTestMachine(code: code)
        m.run()
        #expect(m.state.gprs[.rbx] == 0)
        #expect(m.domain.isAssistEnabled(VMAssist.writablePagetables))
        #expect(m.state.gprs[.r12] == XenError.EINVAL.returnValue)
        #expect(m.state.gprs[.r13] == XenError.ENOSYS.returnValue)
    }

    @Test func syscallClobbersRCXAndR11AsOnHardware() throws {
        // mov rax,17; mov rdi,0; syscall; mov r12,rcx; mov r13,r11
        let call = Asm.hypercall(.xenVersion, 0)
        let m = try PVTestMachine(code: call + [0x49, 0x89, 0xCC, 0x4D, 0x89, 0xDD] + Asm.shutdown())
        m.run()
        #expect(m.state.gprs[.r12] == PVTestMachine.code + UInt64(call.count))
        #expect(m.state.gprs[.r13] == 0x202)
    }

    @Test func unknownShutdownReasonIsKeptAsTheCode() throws {
        let m = try PVTestMachine(code: Asm.shutdown(77))
        m.run()
        #expect(m.domain.shutdownState?.reason == .crash)
        #expect(m.domain.shutdownState?.code == 77)
    }
}

extension UInt64 {
    init(littleEndianBytes b: [UInt8]) {
        self = b.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
}

@Suite struct DomainLifecycleTests {
    @Test func pauseStopsGuestCodeUntilUnpause() throws {
        // inc r12; jmp back — a guest that counts forever.
        let m = try PVTestMachine(code: [0x49, 0xFF, 0xC4, 0xEB, 0xFB])
        let runner = DomainRunner(domain: m.domain)
        runner.start(maxInstructions: 50_000_000_000)
        while m.vcpu.engine.retiredInstructions < 10_000 { usleep(1000) }
        m.domain.pause()
        let frozen = m.vcpu.engine.retiredInstructions
        usleep(50_000)
        #expect(m.vcpu.engine.retiredInstructions == frozen)
        m.domain.unpause()
        while m.vcpu.engine.retiredInstructions == frozen { usleep(1000) }
        m.domain.shutdown(.poweroff)
        runner.wait()
        #expect(m.domain.shutdownState?.reason == .poweroff)
    }
}
