import Dispatch
import GuestMemory
import Testing
import X86
@testable import X86Interpreter

/// LOCKed instructions and XCHG with memory must be atomic across vCPUs on host threads.
@Suite struct AtomicityTests {
    /// Two vCPUs on two host threads each increment one shared counter `iterations` times.
    func race(_ increment: [UInt8], iterations: UInt32) throws -> UInt64 {
        // mov ecx, iterations; (loop:) <increment [rbx]>; dec ecx; jnz loop; hlt
        let body = increment + [0xFF, 0xC9]
        let back = UInt8(truncatingIfNeeded: -(body.count + 2))
        let n = withUnsafeBytes(of: iterations.littleEndian, Array.init)
        let code: [UInt8] = [0xB9] + n + body + [0x75, back, 0xF4]
        let m = try TestMachine(code: code)
        let second = Interpreter(memory: m.memory, translation: IdentityTranslation(memory: m.memory))
        var s = m.state
        s[.rbx] = TestMachine.dataBase
        m.state = s
        s[.rsp] = TestMachine.stackTop - 0x1000
        second.state = s
        // Each engine runs on exactly one thread; only guest RAM is shared.
        nonisolated(unsafe) let cpus = [m.cpu, second]
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            while case .budgetExhausted = cpus[i].run(budget: 1 << 20) {}
        }
        return m.load64(TestMachine.dataBase) ?? 0
    }

    @Test func lockIncIsAtomic() throws {
        // lock inc qword [rbx] (F0 48 FF 03)
        #expect(try race([0xF0, 0x48, 0xFF, 0x03], iterations: 200_000) == 400_000)
    }

    @Test func lockAddOnADwordIsAtomic() throws {
        // lock add dword [rbx], 1 at offset 0 (F0 83 03 01)
        #expect(try race([0xF0, 0x83, 0x03, 0x01], iterations: 200_000) == 400_000)
    }
}
