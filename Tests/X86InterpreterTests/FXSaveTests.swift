import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// FXSAVE/FXRSTOR and MXCSR: the image, alignment, #NM/#UD, CR4.OSFXSR and reserved bits.
@Suite struct FXSaveTests {
    /// Runs `code` + HLT with RSI at the data area (plus `offset`) holding `memory`, CR4.OSFXSR
    /// set unless `osfxsr` is false.
    func run(_ code: [UInt8], memory: [UInt8] = [], offset: UInt64 = 0, osfxsr: Bool = true,
             setup: (inout CPUState) -> Void = { _ in }) throws -> (CPUState, VCPUExit, TestMachine) {
        let m = try TestMachine(code: code + [0xF4])
        m.memory.write(memory, at: MachineAddress(TestMachine.dataBase))
        var s = m.state
        s[.rsi] = TestMachine.dataBase + offset
        if osfxsr { s.cr4.insert(.osfxsr) }
        setup(&s)
        m.state = s
        let exit = m.run()
        return (m.state, exit, m)
    }

    func bytes(_ m: TestMachine, _ range: Range<Int>) -> [UInt8] {
        m.memory.read(at: MachineAddress(TestMachine.dataBase + UInt64(range.lowerBound)), count: range.count) ?? []
    }

    @Test func saveImageLayout() throws {
        // fld1; fldpi; fxsave64 [rsi] (48 0F AE 06): FCW, FSW (TOP 6), abridged tags C0, FIP
        // of FLDPI (64-bit format), MXCSR and its mask, ST(0) = pi at 32, ST(1) = 1 at 48;
        // bytes from 416 on are left alone.
        let (_, exit, m) = try run([0xD9, 0xE8, 0xD9, 0xEB, 0x48, 0x0F, 0xAE, 0x06], memory: [UInt8](repeating: 0xAA, count: 512))
        #expect(exit == .hlt(length: 1))
        #expect(bytes(m, 0..<8) == [0x7F, 0x03, 0x00, 0x30, 0xC0, 0x00, 0x00, 0x00])
        #expect(bytes(m, 8..<16) == X87Samples.bytes(TestMachine.codeBase + 2, 8))
        #expect(bytes(m, 24..<32) == [0x80, 0x1F, 0, 0, 0xFF, 0xFF, 0, 0])
        #expect(bytes(m, 32..<48) == X87Samples.bytes(0xC90F_DAA2_2168_C235, 8) + [0x00, 0x40, 0, 0, 0, 0, 0, 0])
        #expect(bytes(m, 48..<58) == X87Samples.bytes(1 << 63, 8) + [0xFF, 0x3F])
        #expect(bytes(m, 416..<512) == [UInt8](repeating: 0xAA, count: 96))
    }

    @Test func restoreRoundTrip() throws {
        // fld1; fldpi; fxsave [rsi]; fninit; fxrstor [rsi]: the stack is back.
        let (s, _, _) = try run([0xD9, 0xE8, 0xD9, 0xEB, 0x0F, 0xAE, 0x06, 0xDB, 0xE3, 0x0F, 0xAE, 0x0E]) { $0.fpu.xmm[3] = XMMRegister(low: 7, high: 9) }
        #expect(s.fpu.top == 6 && s.fpu.abridgedTags == 0xC0)
        #expect(s.fpu.st(0) == X87Register(significand: 0xC90F_DAA2_2168_C235, signExponent: 0x4000))
        #expect(s.fpu.xmm[3] == XMMRegister(low: 7, high: 9))
    }

    @Test func misalignedImageIsGeneralProtection() throws {
        for code: [UInt8] in [[0x0F, 0xAE, 0x06], [0x48, 0x0F, 0xAE, 0x0E]] {
            let (s, exit, _) = try run(code, offset: 8)
            #expect(exit == .exception(.generalProtection(0)))
            #expect(s.rip == TestMachine.codeBase)
        }
    }

    @Test func deviceNotAvailableAndUndefined() throws {
        // FXSAVE: #NM with CR0.TS or CR0.EM. LDMXCSR/STMXCSR: #NM with TS, #UD with EM or
        // without CR4.OSFXSR.
        for bit in [CR0.taskSwitched, .emulation] {
            let (_, exit, _) = try run([0x0F, 0xAE, 0x06]) { $0.cr0.insert(bit) }
            #expect(exit == .exception(.deviceNotAvailable))
        }
        let (_, ts, _) = try run([0x0F, 0xAE, 0x1E]) { $0.cr0.insert(.taskSwitched) }
        #expect(ts == .exception(.deviceNotAvailable))
        let (_, em, _) = try run([0x0F, 0xAE, 0x1E]) { $0.cr0.insert(.emulation) }
        #expect(em == .exception(.undefinedOpcode))
        let (_, noSSE, _) = try run([0x0F, 0xAE, 0x16], osfxsr: false)
        #expect(noSSE == .exception(.undefinedOpcode))
        // A mandatory-prefix slot: 66 0F AE /0 is not FXSAVE.
        let (_, prefixed, _) = try run([0x66, 0x0F, 0xAE, 0x06])
        #expect(prefixed == .exception(.undefinedOpcode))
    }

    @Test func withoutOSFXSRTheSSEStateIsNotSaved() throws {
        // fxsave [rsi] with CR4.OSFXSR clear: MXCSR, its mask and XMM0-15 stay as they were.
        let (_, _, m) = try run([0x0F, 0xAE, 0x06], memory: [UInt8](repeating: 0xAA, count: 512), osfxsr: false)
        #expect(bytes(m, 24..<32) == [UInt8](repeating: 0xAA, count: 8))
        #expect(bytes(m, 160..<416) == [UInt8](repeating: 0xAA, count: 256))
        #expect(bytes(m, 0..<2) == [0x7F, 0x03])
    }

    @Test func mxcsrReservedBitsAreGeneralProtection() throws {
        // ldmxcsr [rsi] (0F AE 16) with 0x6F80 loads; with bit 16 set it is #GP(0).
        let (s, exit, _) = try run([0x0F, 0xAE, 0x16, 0x0F, 0xAE, 0x5E, 0x10], memory: [0x80, 0x6F, 0, 0])
        #expect(exit == .hlt(length: 1))
        #expect(s.fpu.mxcsr == 0x6F80)
        let (t, bad, _) = try run([0x0F, 0xAE, 0x16], memory: [0x80, 0x1F, 0x01, 0])
        #expect(bad == .exception(.generalProtection(0)))
        #expect(t.fpu.mxcsr == 0x1F80)
        // FXRSTOR of an image whose MXCSR has a reserved bit: #GP(0), nothing loaded.
        var image = FPUState().fxsaveImage()
        image[0] = 0x7B
        image[26] = 1
        let (u, exit2, _) = try run([0x48, 0x0F, 0xAE, 0x0E], memory: image)
        #expect(exit2 == .exception(.generalProtection(0)))
        #expect(u.fpu.controlWord == 0x037F && u.fpu.mxcsr == 0x1F80)
    }

    @Test func restoreRecomputesTheErrorSummary() throws {
        // An image with ZE set and unmasked but ES clear: after FXRSTOR ES and B are set, and
        // the next waiting instruction (FWAIT) raises #MF with CR0.NE.
        var f = FPUState()
        f.controlWord = 0x037B
        f.statusWord = 0x0004
        let (s, exit, _) = try run([0x48, 0x0F, 0xAE, 0x0E, 0x9B], memory: f.fxsaveImage()) { $0.cr0.insert(.numericError) }
        #expect(exit == .exception(X86Exception(vector: 16)))
        #expect(s.fpu.statusWord == 0x8084)
    }
}
