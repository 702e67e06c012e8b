import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `kite-difftest`: generates random instruction sequences, runs each on the host CPU and in
/// Kite's interpreter, and compares registers, flags, the end address and memory.
struct KiteDiffTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kite-difftest",
        abstract: "Differential test of Kite's x86-64 interpreter against the host CPU (x86-64 Linux).",
        discussion: """
            Each case is 1-6 snippets of random instructions with a random initial state, run \
            natively and in the engine at CPL 3. Cases are deterministic in --seed and their \
            index: rerun one with --start INDEX --count 1 --verbose.
            """)

    @Option(help: "Seed of the case generator.")
    var seed: UInt64 = 1

    @Option(help: "Number of cases to run.")
    var count: Int = 1000

    @Option(help: "Index of the first case (to replay a reported case).")
    var start: Int = 0

    @Option(name: .customLong("class"), help: "Only generate these instruction classes (comma-separated; see --list-classes).")
    var classFilter: String?

    @Flag(help: "Print every case, passed or not, before running it.")
    var verbose = false

    @Flag(help: "Also compare status flags the SDM leaves undefined.")
    var strictFlags = false

    @Option(help: "Print at most this many failures in full (all are counted; default: all).")
    var maxPrinted: Int?

    @Flag(help: "List the instruction classes and exit.")
    var listClasses = false

    @Flag(help: "Run every case on one engine instance (tests that host-side writes to code invalidate decoded blocks).")
    var reuseEngine = false

    @Flag(help: "Only check the native harness on cases with known results.")
    var selfTest = false

    func validate() throws {
        guard count >= 0, start >= 0, start <= Int.max - count else { throw ValidationError("--count and --start must be non-negative and not overflow") }
        if let f = classFilter {
            let known = Set(InstructionClass.all.map(\.name))
            for n in f.split(separator: ",").map(String.init) where !known.contains(n) {
                throw ValidationError("unknown class '\(n)'; known: \(InstructionClass.all.map(\.name).joined(separator: " "))")
            }
        }
    }

    func run() throws {
        #if !arch(x86_64)
            throw ValidationError("kite-difftest runs only on an x86-64 host")
        #endif
        let native: NativeRunner
        do { native = try NativeRunner() } catch { throw ValidationError("\(error)") }
        CrashGuard.install()
        let problems = NativeSelfTest.run(native)
        if selfTest || !problems.isEmpty {
            problems.forEach { print("native harness: \($0)") }
            print(problems.isEmpty ? "native harness: all checks passed" : "native harness is broken: no case was run")
            if !problems.isEmpty { throw ExitCode(2) }
            return
        }
        let features = CPUFeatures(native: native)
        if listClasses {
            for c in InstructionClass.all {
                print(c.name + (c.isAvailable(features) ? "" : "  (not on this host)"))
            }
            return
        }
        let wanted = classFilter.map { Set($0.split(separator: ",").map(String.init)) }
        let classes = InstructionClass.all.filter { (wanted?.contains($0.name) ?? true) && $0.isAvailable(features) }
        guard !classes.isEmpty else { throw ValidationError("the selected classes need features this host lacks (\(features.summary))") }
        print("kite-difftest: seed \(seed), cases \(start)..<\(start + count), region \(hex(native.layout.region)), host \(features.summary)")

        let engine = EngineRunner(layout: native.layout, reuse: reuseEngine)
        var passed = 0, failed = 0, printed = 0, hostUnsteady = 0
        var perClass: [String: (cases: Int, failed: Int)] = [:]
        var unplaced: [String: Int] = [:]
        for index in start..<(start + count) {
            var gen = CaseGenerator(seed: seed, index: index, layout: native.layout, features: features,
                                    earliestStart: native.earliestTestStart, testLimit: native.testLimit)
            let c = gen.generateCase(index: index, classes: classes)
            let code = c.code
            for name in c.unplaced { unplaced[name, default: 0] += 1 }
            if verbose {
                print("case \(index) [\(c.classNames.joined(separator: ", "))]")
                Comparison.listing(c, layout: native.layout).forEach { print($0) }
                fflush(nil)
            }
            let image: [UInt8]
            do {
                image = try native.codeImage(test: code, at: c.start)
            } catch {
                print("case \(index): cannot assemble the harness (\(error))")
                failed += 1
                continue
            }
            let runNative = {
                native.run(image: image, registers: c.registers, rflags: c.rflags, buffer: c.buffer, stack: c.stack, fpu: c.fpu)
            }
            var nativeResult = runNative()
            let engineResult = engine.run(codeImage: image, testStart: c.start, testEnd: c.end, registers: c.registers,
                                          rflags: c.rflags, buffer: c.buffer, stack: c.stack, fpu: c.fpu)
            var diffs = Comparison.differences(c, native: nativeResult, engine: engineResult, layout: native.layout,
                                               strict: strictFlags)
            if !diffs.isEmpty {
                // The host is the reference only if it is deterministic: run the case again
                // before blaming the engine, and say so when the host changed its mind.
                let again = runNative()
                if again != nativeResult {
                    hostUnsteady += 1
                    print("case \(index): the host CPU gave different results for the same case"
                          + (nativeResult.abnormalExit.map { " (first run: \($0))" } ?? "") + "; comparing with the second run")
                    nativeResult = again
                    diffs = Comparison.differences(c, native: nativeResult, engine: engineResult, layout: native.layout,
                                                   strict: strictFlags)
                }
            }
            for name in Set(c.classNames) { perClass[name, default: (0, 0)].cases += 1 }
            if diffs.isEmpty {
                passed += 1
                if verbose { print("  passed") }
                continue
            }
            failed += 1
            for name in Set(c.classNames) { perClass[name, default: (0, 0)].failed += 1 }
            guard printed < (maxPrinted ?? Int.max) else { continue }
            printed += 1
            print("FAIL case \(index) [\(c.classNames.joined(separator: ", "))]")
            if !verbose { Comparison.listing(c, layout: native.layout).forEach { print($0) } }
            diffs.forEach { print("  ! " + $0) }
        }
        if failed > 0 {
            print("failures by class (cases with the class: failed/total):")
            for (name, s) in perClass.sorted(by: { $0.key < $1.key }) where s.failed > 0 {
                print("  \(Comparison.pad(name, 11)) \(s.failed)/\(s.cases)")
            }
        }
        for (name, n) in unplaced.sorted(by: { $0.key < $1.key }) {
            print("warning: class \(name) produced no encodable snippet \(n) times (a generator bug)")
        }
        if hostUnsteady > 0 {
            print("warning: the host CPU was not deterministic on \(hostUnsteady) case(s); see the lines above")
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}

KiteDiffTest.main()
