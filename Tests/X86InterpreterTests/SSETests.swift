import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// SSE/SSE2 rules beyond the values (those are cross-checked against the host in
/// SSECrossCheckTests): #UD and #NM, alignment, MMX forms, and strlen's inner loop.
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
        // The MMX form (no prefix) and SSE floating point (addps, 0F 58) are not implemented.
        #expect(try run([0x0F, 0xEF, 0xC0]).1 == .exception(.undefinedOpcode))
        #expect(try run([0x0F, 0x58, 0xC0]).1 == .exception(.undefinedOpcode))
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

    @Test func cpuidStillHidesSSE() {
        #expect(CPUIDPolicy.kite.query(leaf: 1, subleaf: 0).edx & (1 << 25 | 1 << 26) == 0)
    }
}
