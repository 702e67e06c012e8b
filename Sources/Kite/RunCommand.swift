import ArgumentParser
import BareMetal
import Foundation
import X86Interpreter

/// `kite run`: boots a freestanding flat image on a bare machine driven by the interpreter.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a freestanding 64-bit flat binary on Kite's CPU.",
        discussion: """
            The image is loaded and entered at 0x100000 in 64-bit mode at CPL 0, with identity page tables over all of memory and RSP at the top of memory. The guest prints by writing bytes to I/O port 0xE9 and ends the run by writing its exit code to port 0xF4 (or by executing HLT, which counts as exit code 0).

            The console goes to standard output, a one-line summary to standard error. kite exits with the guest's exit code (255 if it is larger), or 125 when the guest crashed, hit the instruction limit or did something bare metal does not support.
            """
    )

    /// The exit status when the guest did not finish by itself.
    static let guestFailedStatus: Int32 = 125
    static let defaultImage = "Guests/build/demo.bin"

    @Option(name: .long, help: ArgumentHelp(
        "Flat binary to run (default: \(RunCommand.defaultImage), found from the current directory or above).",
        valueName: "path"))
    var image: String?

    @Option(name: .long, help: ArgumentHelp("Machine memory in MiB (4 to 65536).", valueName: "MiB"))
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
    }

    func run() throws {
        let path = try resolveImagePath()
        guard let data = FileManager.default.contents(atPath: path) else {
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

    private func resolveImagePath() throws -> String {
        if let image {
            guard FileManager.default.fileExists(atPath: image) else {
                throw RunError("no such image: \(image)")
            }
            return image
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        while true {
            let candidate = dir.appendingPathComponent(Self.defaultImage).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        throw RunError(
            "the demo guest \(Self.defaultImage) is not built; run scripts/build-guests.sh "
                + "from the repository root, or pass --image <path>")
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
