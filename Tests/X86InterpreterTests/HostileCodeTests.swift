import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// Guest code is hostile: nothing it executes may crash or hang the host.
@Suite struct HostileCodeTests {
    @Test func prefixStormIsGeneralProtection() throws {
        // Fifteen 0x66 prefixes and a NOP: 16 bytes, over the architectural limit.
        let (s, exit, _) = try execute(Array(repeating: 0x66, count: 15) + [0x90])
        #expect(exit == .exception(.generalProtection(0)))
        #expect(s.rip == TestMachine.codeBase)
        // Fourteen prefixes and a NOP is exactly 15 bytes and legal.
        let (_, ok, _) = try execute(Array(repeating: 0x66, count: 14) + [0x90])
        #expect(ok == .hlt(length: 1))
    }

    @Test func instructionStraddlingIntoUnmappedPageFaultsOnTheSecondPage() throws {
        // Place "mov eax, imm32" so its immediate runs past the end of the mapped code region.
        let m = try TestMachine(code: [])
        let start = TestMachine.codeBase + 0x10000 - 3
        m.memory.write([0xB8, 0x01, 0x02], at: MachineAddress(start))
        var s = m.state
        s.rip = start
        m.state = s
        let exit = m.run()
        let expectedCode: PageFaultErrorCode = [.instructionFetch]
        #expect(exit == .exception(.pageFault(address: TestMachine.codeBase + 0x10000, code: expectedCode)))
        #expect(m.state.rip == start)
    }

    @Test func randomBytesNeverCrashTheHost() throws {
        var rng = SplitMix(seed: 0x5EED)
        for _ in 0..<300 {
            let code = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for cpl: UInt8 in [0, 3] {
                let m = try TestMachine(code: code, cpl: cpl)
                var s = m.state
                for r in GPR.allCases where r != .rsp { s[r] = rng.next() }
                m.state = s
                // Several runs: exits are fine, the host surviving is the point.
                for _ in 0..<4 {
                    if case .budgetExhausted = m.run(budget: 500) { continue }
                    var t = m.state
                    t.rip = TestMachine.codeBase + (rng.next() & 63)
                    m.state = t
                }
            }
        }
    }
}

/// A small deterministic generator for tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
