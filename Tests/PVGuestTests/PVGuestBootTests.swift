import Foundation
import KiteHost
import Synchronization
import Testing
import XenControl

/// Boots every XTF-style PV64 test kernel of Guests/pv under Kite (built by
/// scripts/build-guests.sh into Guests/build/pv) and checks its verdict line, the shutdown
/// and that the destroyed domain returned every frame.
@Suite struct PVGuestBootTests {
    static let buildDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Guests/build/pv")

    /// Every test kernel (the bench- kernels are for kite-bench).
    static let kernels: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: buildDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".elf") && !$0.hasPrefix("bench-") }.map { String($0.dropLast(4)) }.sorted()
    }()

    /// Kernels that test what Kite does not do yet, with the reason. They must still fail:
    /// when one passes, the gap is closed and it leaves this list.
    static let knownGaps: [String: String] = [:]

    final class Console: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    }

    @Test func theKernelsAreBuilt() {
        #expect(Self.kernels.count >= 10, "run scripts/build-guests.sh first")
    }

    @Test(arguments: kernels)
    func kernelPasses(_ name: String) throws {
        let path = Self.buildDirectory.appendingPathComponent(name + ".elf").path
        let kernel = try #require(FileManager.default.contents(atPath: path))
        let console = Console()
        let launcher = PVDomainLauncher(
            kernel: [UInt8](kernel), kernelName: name, memoryMiB: 64, vcpus: 2, maxInstructions: 200_000_000
        ) { bytes in console.bytes.withLock { $0 += bytes } }
        let outcome = try launcher.launch()
        let verdict = console.text.split(separator: "\n").last { $0.hasPrefix("Test result:") }
        if let gap = Self.knownGaps[name] {
            #expect(verdict == "Test result: FAILURE", "\(name) passes now (\(gap)): remove it from knownGaps")
        } else {
            #expect(verdict == "Test result: SUCCESS" || verdict == "Test result: SKIP", "\(name):\n\(console.text)")
        }
        #expect(outcome.reason == .poweroff, "\(name): \(String(describing: outcome.crashReason))")
        #expect(outcome.leakedFrames == 0)
    }
}
