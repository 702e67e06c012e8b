import ArgumentParser
import X86

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `kite-bench cpu`: guest MIPS of the interpreter on fixed workloads.
///
/// Each workload runs once untimed (decoding, TLB and page-table A/D setup), then repeatedly
/// until `--seconds` of engine time have passed. Only time inside `run(budget:)` counts;
/// every run's result is checked.
struct CPUBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpu",
        abstract: "Million guest instructions per second of the interpreter on fixed workloads.")

    @Option(help: "Minimum measured time per workload, in seconds.")
    var seconds: Double = 2

    @Option(name: .customLong("only"), help: "Run only the named workload (repeatable).")
    var only: [String] = []

    @Option(help: "Exactly this many timed runs per measurement instead of --seconds (for repeatable instruction counts under callgrind).")
    var runs: Int?

    @Option(help: "Measure each workload this many times and print the median (each measurement on standard error).")
    var `repeat`: Int = 1

    @Flag(help: "Count the engine thread's CPU time instead of wall-clock time (on a shared machine, time spent descheduled then does not count).")
    var cpuTime = false

    @Flag(help: "Also print instructions, runs and time per workload on standard error.")
    var verbose = false

    /// Instructions per `run(budget:)` call, as a hypervisor's time slice would be.
    static let slice = 1 << 24

    func validate() throws {
        guard seconds > 0, seconds.isFinite else { throw ValidationError("--seconds must be positive") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1") }
        if let runs, runs < 1 { throw ValidationError("--runs must be at least 1") }
        let names = Set(Workload.all.map(\.name))
        for n in only where !names.contains(n) {
            throw ValidationError("unknown workload '\(n)'; known: \(Workload.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let machine: BenchMachine
        do { machine = try BenchMachine() } catch { throw ValidationError("\(error)") }
        for workload in Workload.all where only.isEmpty || only.contains(workload.name) {
            do { try machine.load(workload) } catch { throw ValidationError("\(error)") }
            // Warm-up run, untimed but checked.
            _ = try runOnce(workload, on: machine)
            var results: [Double] = []
            for _ in 0..<`repeat` {
                let mips = try measure(workload, on: machine)
                results.append(mips)
                if `repeat` > 1 { printError("  \(workload.name): \(formatted(mips)) MIPS") }
            }
            let median = results.sorted()[results.count / 2]
            writeLine("BENCH \(workload.name) mips=\(formatted(median))", to: 1)
        }
    }

    /// One measurement: runs until `--seconds` of engine time (or exactly `--runs` runs).
    private func measure(_ workload: Workload, on machine: BenchMachine) throws -> Double {
        var instructions: UInt64 = 0
        var elapsed = Duration.zero
        var count = 0
        while runs.map({ count < $0 }) ?? (elapsed < .seconds(seconds)) {
            let (n, t) = try runOnce(workload, on: machine)
            instructions += n
            elapsed += t
            count += 1
        }
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if verbose {
            printError("  \(workload.name): \(instructions) instructions in \(count) runs, \(formatted(secs)) s")
        }
        return Double(instructions) / secs / 1e6
    }

    /// Runs `workload` from the start to its HLT; returns instructions retired and the time
    /// spent in the engine. Exits with status 1 on a wrong exit or wrong result.
    private func runOnce(_ workload: Workload, on machine: BenchMachine) throws -> (UInt64, Duration) {
        machine.start(workload)
        let cpu = machine.cpu
        let before = cpu.retiredInstructions
        let clock = ContinuousClock()
        let t0 = clock.now
        let cpu0 = threadCPUTime()
        var exit = cpu.run(budget: Self.slice)
        while exit == .budgetExhausted { exit = cpu.run(budget: Self.slice) }
        let elapsed = cpuTime ? threadCPUTime() - cpu0 : clock.now - t0
        let retired = cpu.retiredInstructions - before
        let state = cpu.state
        guard exit == .hlt(length: 1) else {
            printError("error: \(workload.name): unexpected exit \(exit) at rip 0x\(String(state.rip, radix: 16)) after \(retired) instructions")
            throw ExitCode(1)
        }
        if let wrong = workload.mismatch(in: state) {
            printError("error: \(workload.name) computed a wrong result: \(wrong)")
            throw ExitCode(1)
        }
        return (retired, elapsed)
    }

    private func formatted(_ x: Double) -> String {
        let hundredths = (x * 100).rounded()
        guard hundredths.isFinite, abs(hundredths) < 1e15 else { return "\(x)" }
        let v = Int64(hundredths)
        let frac = abs(v % 100)
        return "\(v / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// CPU time consumed by the calling thread so far.
func threadCPUTime() -> Duration {
    var t = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 else { return .zero }
    return .seconds(t.tv_sec) + .nanoseconds(t.tv_nsec)
}

/// Writes a line to standard error.
func printError(_ line: String) { writeLine(line, to: 2) }

/// Writes a line straight to a file descriptor, unbuffered, so that results and
/// diagnostics appear in order and as soon as each workload finishes.
func writeLine(_ line: String, to fd: Int32) {
    var text = line + "\n"
    text.withUTF8 { buf in
        guard let base = buf.baseAddress else { return }
        var done = 0
        while done < buf.count {
            let n = write(fd, base + done, buf.count - done)
            guard n > 0 else { return }
            done += n
        }
    }
}
