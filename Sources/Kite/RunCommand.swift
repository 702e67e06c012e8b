import ArgumentParser
import BareMetal
import Foundation
import KiteHost
import X86Interpreter

/// `kite run`: boots a 64-bit PV Xen kernel (`--kernel`) as a domain, or a freestanding flat
/// image (`--image`) on a bare machine, on Kite's own CPU.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a 64-bit PV Xen kernel, or run a freestanding 64-bit flat binary, on Kite's CPU.",
        discussion: """
            With --kernel (or neither option: then the PV demo guest \(RunCommand.defaultKernel)), Kite builds a paravirtualized domain the way Xen's toolstack does (ELF or bzImage with Xen notes; memory, start_info, initial page tables) and boots it; the guest's console (console_io and the PV console ring, hvc0) goes to standard output, standard input goes to the console ring, a summary to standard error, and kite exits with the guest's shutdown reason: 0 poweroff, 1 reboot, 2 suspend, 3 crash, 4 watchdog, 5 soft reset; 125 when the instruction limit stopped it.

            With --image, a freestanding flat binary is loaded and entered at 0x100000 in 64-bit mode at CPL 0, with identity page tables over all of memory and RSP at the top of memory. The guest prints by writing bytes to I/O port 0xE9 and ends the run by writing its exit code to port 0xF4 (or by executing HLT, which counts as exit code 0).

            For --image the console goes to standard output, a one-line summary to standard error, and kite exits with the guest's exit code (255 if it is larger), or 125 when the guest crashed, hit the instruction limit or did something bare metal does not support.
            """
    )

    /// The exit status when the guest did not finish by itself.
    static let guestFailedStatus: Int32 = 125
    /// What `kite run` boots when given neither --kernel nor --image: the PV demo guest.
    static let defaultKernel = "Guests/build/pv-demo.elf"

    @Option(name: .long, help: ArgumentHelp(
        "Freestanding flat binary to run on a bare machine instead of a Xen guest (see Guests/common).",
        valueName: "path"))
    var image: String?

    @Option(name: .long, help: ArgumentHelp(
        "A 64-bit PV Xen kernel (ELF or bzImage) to boot as a domain (default: \(RunCommand.defaultKernel), found from the current directory or above).",
        valueName: "path"))
    var kernel: String?

    @Option(name: .long, help: ArgumentHelp("Initial ramdisk for --kernel.", valueName: "path"))
    var ramdisk: String?

    @Option(name: .long, help: ArgumentHelp("Kernel command line for --kernel (at most 1023 bytes).", valueName: "text"))
    var cmdline: String = ""

    @Option(name: .long, help: ArgumentHelp(
        "A virtual disk for --kernel as an xl disk spec, e.g. 'disk.img,raw,xvda,rw' (repeatable).", valueName: "spec"))
    var disk: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "A network interface for --kernel as an xl vif spec, e.g. 'bridge=slirp' for user-mode NAT (repeatable).",
        valueName: "spec"))
    var vif: [String] = []

    @Option(name: .long, help: ArgumentHelp("Number of vCPUs of the domain (1 to 32).", valueName: "n"))
    var vcpus: Int = 1

    @Flag(name: .long, help: "Print the kernel's Xen notes and the domain layout before booting.")
    var verbose = false

    @Option(name: .long, help: ArgumentHelp("Guest memory in MiB (4 to 65536).", valueName: "MiB"))
    var memory: UInt64 = 64

    @Option(name: .long, help: ArgumentHelp("Stop the guest with an error after this many instructions.", valueName: "N"))
    var maxInstructions: UInt64?

    func validate() throws {
        guard (4...65536).contains(memory) else {
            throw ValidationError("--memory must be between 4 and 65536 MiB")
        }
        if let n = maxInstructions, n == 0 {
            throw ValidationError("--max-instructions must be positive")
        }
        if kernel != nil && image != nil {
            throw ValidationError("--kernel boots a Xen guest and --image a flat binary: give one of them")
        }
        if image != nil && (ramdisk != nil || !cmdline.isEmpty || vcpus != 1 || !disk.isEmpty || !vif.isEmpty) {
            throw ValidationError("--ramdisk, --cmdline, --vcpus, --disk and --vif apply to Xen guests, not to --image")
        }
        guard (1...32).contains(vcpus) else {
            throw ValidationError("--vcpus must be between 1 and 32")
        }
        guard cmdline.utf8.count <= 1023 else {
            throw ValidationError("--cmdline is longer than Xen's 1023 bytes")
        }
    }

    func run() throws {
        guard let image else {
            try runPV(kernel: try kernel ?? Self.findDefault(Self.defaultKernel))
            return
        }
        let path = image
        guard FileManager.default.fileExists(atPath: path), let data = FileManager.default.contents(atPath: path) else {
            throw RunError("cannot read the image \(path)")
        }
        let configuration = BareMetalConfiguration(memoryBytes: memory << 20, maxInstructions: maxInstructions)
        let machine: BareMetalMachine
        do {
            machine = try BareMetalMachine(image: [UInt8](data), configuration: configuration, engine: InterpreterFactory())
        } catch {
            throw RunError("\(path): \(error)")
        }
        var console = ConsoleStream()
        let result = machine.run { console.write($0) }
        console.flush()
        printSummary(result)
        switch result.outcome {
        case .exited(let code): if code != 0 { throw ExitCode(Int32(min(code, 255))) }
        case .halted: break
        case .failed: throw ExitCode(Self.guestFailedStatus)
        }
    }

    private func runPV(kernel: String) throws {
        guard let kernelData = FileManager.default.contents(atPath: kernel) else {
            throw RunError("cannot read the kernel \(kernel)")
        }
        var ramdiskBytes: [UInt8]?
        if let ramdisk {
            guard let data = FileManager.default.contents(atPath: ramdisk) else {
                throw RunError("cannot read the ramdisk \(ramdisk)")
            }
            ramdiskBytes = [UInt8](data)
        }
        let console = ConsoleOutput()
        var launcher = PVDomainLauncher(
            kernel: [UInt8](kernelData), kernelName: kernel, ramdisk: ramdiskBytes, commandLine: cmdline,
            memoryMiB: memory, vcpus: vcpus, maxInstructions: maxInstructions
        ) { console.write($0) }
        do {
            let devices = try PVDomainLauncher.devices(
                disks: disk, vifs: vif, resolvingPathsAgainst: FileManager.default.currentDirectoryPath)
            launcher.disks = devices.disks
            launcher.vifs = devices.vifs
            for w in devices.warnings { FileHandle.standardError.write(Data("kite: warning: \(w)\n".utf8)) }
        } catch { throw RunError(error.description) }
        if verbose {
            launcher.describe = { FileHandle.standardError.write(Data("kite: \($0)\n".utf8)) }
        }
        // The PV console ring (Linux's hvc0) streams to standard output with console_io's
        // output (the launcher's default); standard input is typed into it.
        launcher.consoleInputReady = { $0.feedStandardInput() }
        launcher.serviceLog = { FileHandle.standardError.write(Data("kite: \($0)\n".utf8)) }
        let o: PVDomainLauncher.Outcome
        do { o = try launcher.launch() } catch { throw RunError(error.description) }
        console.flush()
        if verbose {
            for report in o.vcpuReports { FileHandle.standardError.write(Data("kite: \(report)\n".utf8)) }
        }
        var what: String
        switch o.reason {
        case .some(let reason): what = "domain shut down: \(reason)"
        case nil: what = o.hitInstructionLimit ? "stopped at the instruction limit" : "stopped"
        }
        if let code = o.code, code != o.reason?.rawValue { what += " (code \(code))" }
        if let why = o.crashReason { what += " — \(why)" }
        if o.leakedFrames > 0 { what += "; \(o.leakedFrames) frames not returned" }
        let mips = o.seconds > 0 ? Double(o.instructions) / o.seconds / 1e6 : 0
        let line = String(format: "kite: %llu instructions in %.3f s (%.1f MIPS), %@\n", o.instructions, o.seconds, mips, what)
        FileHandle.standardError.write(Data(line.utf8))
        guard let reason = o.reason else { throw ExitCode(Self.guestFailedStatus) }
        if reason != .poweroff { throw ExitCode(Int32(reason.rawValue)) }
    }

    /// `relativePath` under the current directory or the nearest parent that has it.
    static func findDefault(_ relativePath: String) throws -> String {
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while true {
            let candidate = dir.appendingPathComponent(relativePath).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw RunError(
            "the demo guest \(relativePath) is not built; run scripts/build-guests.sh "
                + "from the repository root, or pass --kernel <path>")
    }

    private func printSummary(_ r: BareMetalResult) {
        let line = String(
            format: "kite: %llu instructions in %.3f s (%.1f MIPS), %@%@\n",
            r.instructions, r.seconds, r.mips, r.outcomeDescription,
            r.consoleTruncated ? " (console output beyond 1 MiB not kept)" : "")
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// A failure before the guest ran; ArgumentParser prints the message and exits with 1.
struct RunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
