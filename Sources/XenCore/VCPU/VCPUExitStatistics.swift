import X86
import XenABI

/// What made a vCPU leave guest code, counted for diagnosis (`kite run --verbose` prints
/// it): hypercalls by number (with how many failed with -ENOSYS), exceptions by vector and
/// the other exits. Only the vCPU's own thread writes it; read it after the vCPU stopped.
public struct VCPUExitStatistics: Sendable {
    public static let hypercallSlots = 64
    public var hypercalls = [UInt64](repeating: 0, count: hypercallSlots)
    public var unimplementedHypercalls = [UInt64](repeating: 0, count: hypercallSlots)
    public var exceptions = [UInt64](repeating: 0, count: 32)
    public var softwareInterrupts: UInt64 = 0
    public var userSyscalls: UInt64 = 0
    public var cpuid: UInt64 = 0
    public var rdtsc: UInt64 = 0
    public var emulatedPrivileged: UInt64 = 0
    public var upcalls: UInt64 = 0

    public init() {}

    mutating func countHypercall(_ number: UInt64, unimplemented: Bool) {
        let slot = Int(min(number, UInt64(Self.hypercallSlots - 1)))
        hypercalls[slot] &+= 1
        if unimplemented { unimplementedHypercalls[slot] &+= 1 }
    }

    /// One line per non-zero counter, hypercalls by their Xen name.
    public var lines: [String] {
        var out: [String] = []
        for (n, count) in hypercalls.enumerated() where count > 0 {
            let name = Hypercall(rawValue: UInt64(n)).map { "\($0)" } ?? "#\(n)"
            let failed = unimplementedHypercalls[n]
            out.append("hypercall \(name): \(count)" + (failed > 0 ? " (\(failed) -ENOSYS)" : ""))
        }
        for (v, count) in exceptions.enumerated() where count > 0 { out.append("exception \(v): \(count)") }
        let others: [(String, UInt64)] = [
            ("int n", softwareInterrupts), ("user syscall", userSyscalls), ("cpuid", cpuid), ("rdtsc", rdtsc),
            ("emulated privileged op", emulatedPrivileged), ("event upcall", upcalls),
        ]
        for (name, count) in others where count > 0 { out.append("\(name): \(count)") }
        return out
    }
}
