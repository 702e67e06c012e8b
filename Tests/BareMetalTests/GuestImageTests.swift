import BareMetal
import Foundation
import Testing
import X86Interpreter

/// Boots every guest built by scripts/build-guests.sh (Guests/build/*.bin) and expects the
/// Xen Test Framework's verdict on its console and exit code 0. scripts/test.sh builds the
/// guests first; when they are not built these tests are skipped.
@Suite struct GuestImageTests {
    static let buildDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Guests/build")

    static var images: [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(at: buildDirectory, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "bin" }.sorted { $0.path < $1.path }
    }

    @Test(.enabled(if: !images.isEmpty, "guests not built: run scripts/build-guests.sh"), arguments: images)
    func guestSucceeds(_ image: URL) throws {
        let bytes = try [UInt8](Data(contentsOf: image))
        let machine = try BareMetalMachine(
            image: bytes, configuration: BareMetalConfiguration(maxInstructions: 2_000_000_000), engine: InterpreterFactory())
        let r = machine.run()
        #expect(r.outcome == .exited(code: 0), "\(image.lastPathComponent): \(r.outcomeDescription)\n\(r.consoleText)")
        #expect(r.consoleText.contains("Test result: SUCCESS"), "\(image.lastPathComponent) console:\n\(r.consoleText)")
    }

    @Test(.enabled(if: images.contains { $0.lastPathComponent == "demo.bin" }, "demo guest not built"))
    func demoPrintsItsAnswers() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.buildDirectory.appendingPathComponent("demo.bin")))
        let r = try BareMetalMachine(image: bytes, engine: InterpreterFactory()).run()
        #expect(r.consoleText.hasPrefix("Kite bare-metal demo guest\ncpu: KiteKiteKite / Kite software x86-64 CPU\n"))
        #expect(r.consoleText.contains("primes below 10000 (sieve): 1229\n"))
        #expect(r.consoleText.contains("crc32(\"123456789\"): 0xcbf43926\n"))
        #expect(r.consoleText.contains("fib(90): 2880067194370816120\n"))
    }
}
