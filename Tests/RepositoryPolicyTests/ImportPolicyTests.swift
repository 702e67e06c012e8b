import Foundation
import Testing

/// The architecture's table of allowed imports between Kite's own targets
/// (docs/architecture.md). SwiftPM does not enforce it; this test does.
let allowedImports: [String: Set<String>] = [
    "CHostAtomics": [],
    "XenABI": [],
    "GuestMemory": ["CHostAtomics"],
    "X86": ["GuestMemory"],
    "X86Interpreter": ["X86", "GuestMemory"],
    "BareMetal": ["X86", "GuestMemory"],
    "XenControl": ["XenABI", "GuestMemory"],
    "XenCore": ["XenABI", "GuestMemory", "X86", "XenControl"],
    "XenStore": ["XenABI", "XenControl"],
    "XenBackends": ["XenABI", "GuestMemory", "XenControl", "XenStore", "CSlirp"],
    "CDecompress": [],
    "CSlirp": [],
    "KiteControl": ["XenABI"],
    "Toolstack": ["XenABI", "GuestMemory", "XenControl", "XenStore", "CDecompress"],
]

/// Executables wire concrete parts together and may import every project target.
let wiringTargets: Set<String> = ["Kite", "Kited", "KiteDiffTest", "KiteBench", "KiteHost"]

/// Targets whose code runs in the engine and must not pull in Foundation.
let foundationFree: Set<String> = ["GuestMemory", "X86", "X86Interpreter"]

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func swiftFiles(under folder: URL) -> [URL] {
    guard let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
    return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
}

func imports(in file: URL) -> [String] {
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        let words = line.split(separator: " ").map(String.init)
        // `import X`, `@testable import X`, `public import X`, `import struct X.Y`
        guard let i = words.firstIndex(of: "import"), i + 1 < words.count else { return nil }
        guard words[..<i].allSatisfy({ $0.hasPrefix("@") || ["public", "internal", "package", "private", "fileprivate"].contains($0) }) else { return nil }
        var name = words[i + 1]
        if ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains(name), i + 2 < words.count {
            name = words[i + 2]
        }
        return String(name.split(separator: ".").first ?? "")
    }
}

@Suite struct ImportPolicyTests {
    @Test func everyTargetIsInTheTable() throws {
        let sources = repositoryRoot.appendingPathComponent("Sources")
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }
        #expect(!targets.isEmpty)
        for t in targets {
            #expect(allowedImports[t] != nil || wiringTargets.contains(t), "target \(t) is missing from the architecture table")
        }
    }

    @Test func importsFollowTheArchitecture() throws {
        let sources = repositoryRoot.appendingPathComponent("Sources")
        let projectTargets = Set(allowedImports.keys).union(wiringTargets)
        var checked = 0
        for (target, allowed) in allowedImports {
            for file in swiftFiles(under: sources.appendingPathComponent(target)) {
                for module in imports(in: file) {
                    checked += 1
                    if projectTargets.contains(module) {
                        #expect(allowed.contains(module), "\(target) may not import \(module) (\(file.lastPathComponent))")
                    }
                    if foundationFree.contains(target) {
                        #expect(module != "Foundation", "\(target) must not import Foundation (\(file.lastPathComponent))")
                    }
                }
            }
        }
        #expect(checked > 0)
    }

    @Test func sourceFilesStaySmall() throws {
        for file in swiftFiles(under: repositoryRoot.appendingPathComponent("Sources")) {
            let lines = (try String(contentsOf: file, encoding: .utf8)).split(separator: "\n", omittingEmptySubsequences: false).count
            #expect(lines <= 800, "\(file.lastPathComponent) has \(lines) lines; split it by concern")
        }
    }

    @Test func theParserSeesImports() {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("kite-policy-\(getpid()).swift")
        try? "import X86\n@testable import GuestMemory\nimport struct Foo.Bar\n// import Nope\n".write(to: tmp, atomically: true, encoding: .utf8)
        #expect(imports(in: tmp) == ["X86", "GuestMemory", "Foo"])
        try? FileManager.default.removeItem(at: tmp)
    }
}
