import X86

/// One fixed guest program for the CPU benchmark: 64-bit machine code that runs from
/// `BenchMachine.codeBase` to a HLT, the registers it starts with, and a check of what it
/// computed (a benchmark that computes garbage measures nothing).
struct Workload {
    let name: String
    let code: [UInt8]
    /// Registers set before each run; all others start at zero.
    let registers: [(GPR, UInt64)]
    /// Whether the program works on `BenchMachine`'s buffer, which is zeroed before each run.
    let usesBuffer: Bool
    /// The values some registers must hold at the HLT.
    let expected: [(GPR, UInt64)]

    /// Describes every register that differs from `expected`, or nil when all match.
    func mismatch(in state: CPUState) -> String? {
        let wrong = expected.filter { state[$0.0] != $0.1 }
        guard !wrong.isEmpty else { return nil }
        return wrong.map { "\($0.0)=0x\(String(state[$0.0], radix: 16)) (expected 0x\(String($0.1, radix: 16)))" }
            .joined(separator: ", ")
    }

    /// All workloads, in the order they are run and printed.
    static let all: [Workload] = [.registerLoop, .memoryRMW, .callReturn]
}
