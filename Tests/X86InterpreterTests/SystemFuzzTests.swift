import Testing
import X86
@testable import X86Interpreter

/// Random sequences made of system instructions (segment loads, far transfers, IRET,
/// descriptor-table and control-register moves, MSRs, I/O, INT n) with registers holding
/// plausible selectors and addresses: whatever the guest does, the host must survive.
@Suite struct SystemFuzzTests {
    /// Opcode heads; the fuzzer appends random ModRM/immediate bytes after each.
    static let heads: [[UInt8]] = [
        [0x8E], [0x8C], [0x0F, 0xA0], [0x0F, 0xA1], [0x0F, 0xA8], [0x0F, 0xA9],  // Sreg moves
        [0xCB], [0x48, 0xCB], [0xCA], [0xCF], [0x48, 0xCF], [0xFF], [0x48, 0xFF],  // far/IRET
        [0x0F, 0x00], [0x0F, 0x01], [0x0F, 0x02], [0x0F, 0x03],  // groups 6/7, LAR, LSL
        [0x0F, 0x20], [0x0F, 0x22], [0x0F, 0x21], [0x0F, 0x23], [0x44, 0x0F, 0x22],  // CR/DR
        [0x0F, 0x30], [0x0F, 0x32], [0x0F, 0x05], [0x48, 0x0F, 0x07], [0x0F, 0x07],  // MSR, SYSCALL
        [0xCD], [0xCC], [0xF1], [0xE4], [0xEC], [0xE6], [0xEE], [0x6C], [0xF3, 0x6E],  // INT, I/O
        [0xFB], [0xFA], [0x9D], [0x0F, 0x31], [0x0F, 0xAE], [0xF3, 0x48, 0x0F, 0xAE],  // misc
    ]

    @Test func systemInstructionSoupNeverCrashesTheHost() throws {
        var rng = SplitMix(seed: 0x5157_E3)
        for round in 0..<250 {
            var code: [UInt8] = []
            while code.count < 96 {
                code += Self.heads[Int(rng.next() % UInt64(Self.heads.count))]
                for _ in 0..<Int(rng.next() % 4) { code.append(UInt8(truncatingIfNeeded: rng.next())) }
            }
            let m = try TestMachine(code: code, cpl: rng.next() & 1 == 0 ? 0 : 3)
            try m.installSystemTables(deliver: rng.next() & 1 == 0)
            m.cpu.intercepts.ioPorts = IOPortBitmap(all: rng.next() & 1 == 0)
            m.cpu.intercepts.softwareInterrupts = rng.next() & 3 == 0
            var s = m.state
            let values: [UInt64] = [
                0, 0x08, 0x10, 0x2B, 0x33, 0x38, 0x4B, 0x53, 0x58, 0x0F, 0x200, 0xFFFF,
                TestMachine.dataBase, TestMachine.stackTop - 0x40, SystemTables.gdt, 0x0000_8000_0000_0000,
                MSR.efer.asU64, MSR.star.asU64, MSR.fsBase.asU64, MSR.kernelGSBase.asU64,
            ]
            for r in GPR.allCases where r != .rsp {
                s[r] = rng.next() & 3 == 0 ? rng.next() : values[Int(rng.next() % UInt64(values.count))]
            }
            if round % 3 == 0 { s.rflags.insert(.interrupt) }
            s.efer.insert(.syscallEnable)
            s.lstar = TestMachine.codeBase + (rng.next() & 63)
            m.state = s
            if round % 5 == 0 { m.cpu.inject(InjectedEvent(vector: UInt8(truncatingIfNeeded: rng.next()), kind: .externalInterrupt)) }
            for _ in 0..<4 {
                if case .budgetExhausted = m.run(budget: 300) { continue }
                var t = m.state
                t.rip = TestMachine.codeBase + (rng.next() % UInt64(code.count))
                m.state = t
            }
        }
    }
}

extension UInt32 {
    var asU64: UInt64 { UInt64(self) }
}
