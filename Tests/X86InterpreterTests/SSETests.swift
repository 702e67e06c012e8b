import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// SSE/SSE2 rules beyond the values (those are cross-checked against the host in
/// SSECrossCheckTests): #UD, #NM and #XM, alignment, MMX forms, flags, and strlen's loop.
@Suite struct SSETests {
    func run(_ code: [UInt8], memory: [UInt8] = [], offset: UInt64 = 0, setup: (inout CPUState) -> Void = { $0.cr4.insert(.osfxsr) }) throws -> (CPUState, VCPUExit) {
        let m = try TestMachine(code: code + [0xF4])
        m.memory.write(memory, at: MachineAddress(TestMachine.dataBase))
        var s = m.state
        s[.rsi] = TestMachine.dataBase + offset
        setup(&s)
        m.state = s
        let exit = m.run()
        return (m.state, exit)
    }

    @Test func availabilityFollowsCR0AndCR4() throws {
        // pxor xmm0, xmm0 (66 0F EF C0): #UD without CR4.OSFXSR or with CR0.EM, #NM with TS.
        #expect(try run([0x66, 0x0F, 0xEF, 0xC0]) { _ in }.1 == .exception(.undefinedOpcode))
        #expect(try run([0x66, 0x0F, 0xEF, 0xC0]) { $0.cr4.insert(.osfxsr); $0.cr0.insert(.emulation) }.1 == .exception(.undefinedOpcode))
        #expect(try run([0x66, 0x0F, 0xEF, 0xC0]) { $0.cr4.insert(.osfxsr); $0.cr0.insert(.taskSwitched) }.1 == .exception(.deviceNotAvailable))
        #expect(try run([0x66, 0x0F, 0xEF, 0xC0]).1 == .hlt(length: 1))
        // The MMX form (no prefix) is not implemented.
        #expect(try run([0x0F, 0xEF, 0xC0]).1 == .exception(.undefinedOpcode))
    }

    @Test func reciprocalApproximationsByLane() throws {
        // rcpss xmm0, xmm1 (F3 0F 53 C1): lane 0 only; rsqrtps xmm2, xmm1 (0F 52 D1): all four.
        let (s, exit) = try run([0xF3, 0x0F, 0x53, 0xC1, 0x0F, 0x52, 0xD1]) { s in
            s.cr4.insert(.osfxsr)
            s.fpu.xmm[0] = XMMRegister(low: 0x1111_1111_2222_2222, high: 0x3333_3333_4444_4444)
            s.fpu.xmm[1] = XMMRegister(low: 0x4000_0000_3F80_0000, high: 0xBF80_0000_4080_0000)
        }
        #expect(exit == .hlt(length: 1))
        #expect(s.fpu.xmm[0] == XMMRegister(low: 0x1111_1111_3F7F_F000, high: 0x3333_3333_4444_4444))
        #expect(s.fpu.xmm[2] == XMMRegister(low: 0x3F34_F800_3F7F_F000, high: 0xFFC0_0000_3EFF_F000))
        #expect(s.fpu.mxcsr == 0x1F80)
    }

    @Test func alignedFormsNeedSixteenByteAlignment() throws {
        // movdqa xmm0, [rsi+8] (66 0F 6F 06) and pxor xmm0, [rsi+8]: #GP(0); movdqu and
        // movups (F3 0F 6F, 0F 10) load from anywhere.
        for code: [UInt8] in [[0x66, 0x0F, 0x6F, 0x06], [0x66, 0x0F, 0xEF, 0x06], [0x0F, 0x29, 0x06]] {
            let (s, exit) = try run(code, offset: 8)
            #expect(exit == .exception(.generalProtection(0)))
            #expect(s.rip == TestMachine.codeBase)
        }
        let (s, exit) = try run([0xF3, 0x0F, 0x6F, 0x06], memory: Array(0..<32), offset: 8)
        #expect(exit == .hlt(length: 1))
        #expect(s.fpu.xmm[0] == XMMRegister(low: 0x0F0E_0D0C_0B0A_0908, high: 0x1716_1514_1312_1110))
    }

    @Test func strlenInnerLoop() throws {
        // pxor xmm0, xmm0; movdqa xmm1, [rsi]; pcmpeqb xmm1, xmm0; pmovmskb eax, xmm1;
        // bsf eax, eax: the NUL of "hello, world" is at index 12.
        let text = Array("hello, world".utf8) + [0, 0x41, 0x42, 0x43]
        let (s, _) = try run([0x66, 0x0F, 0xEF, 0xC0, 0x66, 0x0F, 0x6F, 0x0E, 0x66, 0x0F, 0x74, 0xC8, 0x66, 0x0F, 0xD7, 0xC1, 0x0F, 0xBC, 0xC0], memory: text)
        #expect(s[.rax] == 12)
    }

    @Test func unmaskedFloatingPointExceptionIsSIMDFault() throws {
        // divss xmm0, xmm1 (F3 0F 5E C1) with 1/0 and ZE unmasked in MXCSR: #XM (vector 19)
        // with CR4.OSXMMEXCPT, #UD without; XMM0 keeps its value and MXCSR records ZE.
        func setup(_ osxmmexcpt: Bool) -> (inout CPUState) -> Void {
            { s in
                s.cr4.insert(.osfxsr)
                if osxmmexcpt { s.cr4.insert(.osxmmexcpt) }
                s.fpu.mxcsr = 0x1F80 & ~(1 << 9)
                s.fpu.xmm[0] = XMMRegister(low: 0x3F80_0000)
            }
        }
        let (s, exit) = try run([0xF3, 0x0F, 0x5E, 0xC1], setup: setup(true))
        #expect(exit == .exception(X86Exception(vector: 19)))
        #expect(s.fpu.xmm[0] == XMMRegister(low: 0x3F80_0000))
        #expect(s.fpu.mxcsr & 0x3F == 0x04)
        let (_, exit2) = try run([0xF3, 0x0F, 0x5E, 0xC1], setup: setup(false))
        #expect(exit2 == .exception(.undefinedOpcode))
        // Masked: +∞ and ZE recorded.
        let (t, _) = try run([0xF3, 0x0F, 0x5E, 0xC1]) { s in
            s.cr4.insert(.osfxsr)
            s.fpu.xmm[0] = XMMRegister(low: 0x3F80_0000)
        }
        #expect(t.fpu.xmm[0] == XMMRegister(low: 0x7F80_0000))
        #expect(t.fpu.mxcsr == 0x1F84)
    }

    @Test func comisdSetsFlags() throws {
        // comisd xmm0, xmm1 (66 0F 2F C1): 1.0 vs 2.0 is "less": CF only.
        let (s, _) = try run([0x66, 0x0F, 0x2F, 0xC1]) { s in
            s.cr4.insert(.osfxsr)
            s.fpu.xmm[0] = XMMRegister(low: 0x3FF0_0000_0000_0000)
            s.fpu.xmm[1] = XMMRegister(low: 0x4000_0000_0000_0000)
            s.rflags.formUnion([.zero, .parity, .overflow, .sign])
        }
        #expect(s.rflags.rawValue & 0x8D5 == 0x001)
    }

    @Test func cpuidReportsSSEAndSSE2ButNotMMX() {
        let edx = CPUIDPolicy.kite.query(leaf: 1, subleaf: 0).edx
        #expect(edx & (1 << 25 | 1 << 26) == 1 << 25 | 1 << 26)
        #expect(edx & (1 << 23) == 0)
    }
}
