import Foundation

/// A host disassembler run over an object file of test bytes: llvm-objdump (the toolchain's)
/// or GNU objdump (binutils), found on the host and driven through `Process`.
struct ExternalDisassembler {
    enum Flavor {
        case llvm
        /// GNU objdump in Intel64 mode (`-M intel64`): Intel's reading where AMD and Intel
        /// differ, as for 66h on near branches in 64-bit mode.
        case gnu
    }

    /// One decoded instruction: its length (distance to the next one) and its text, with
    /// prefixes the tool printed as separate lines folded in.
    struct Instruction {
        let length: Int
        let text: String
    }

    enum Failure: Error, CustomStringConvertible {
        case tool(String, status: Int32, output: String)
        var description: String {
            switch self {
            case .tool(let t, let status, let output): "\(t) exited with status \(status): \(output)"
            }
        }
    }

    let path: String
    let flavor: Flavor

    /// llvm-objdump, preferring the one beside `clang` (same LLVM version).
    static func llvm(besideClang clang: String) -> ExternalDisassembler? {
        find("llvm-objdump", preferring: (clang as NSString).deletingLastPathComponent).map { .init(path: $0, flavor: .llvm) }
    }

    /// GNU objdump if binutils are installed (llvm-objdump also answers to `objdump` in some
    /// toolchains, so the version banner decides).
    static func gnu() -> ExternalDisassembler? {
        for name in ["objdump", "x86_64-linux-gnu-objdump"] {
            guard let p = find(name), let banner = try? run(p, ["--version"]), banner.contains("GNU objdump") else { continue }
            return .init(path: p, flavor: .gnu)
        }
        return nil
    }

    /// The first executable `name` in `preferring`, then PATH, /opt/swift/usr/bin, /usr/bin.
    static func find(_ name: String, preferring: String? = nil) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = [preferring].compactMap { $0 } + path.split(separator: ":").map(String.init)
            + ["/opt/swift/usr/bin", "/usr/bin"]
        for dir in dirs where !dir.isEmpty {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether the tool's text says it could not decode the bytes.
    func isUndecodable(_ text: String) -> Bool {
        switch flavor {
        case .llvm: text.contains("<unknown>")
        case .gnu: text.contains("(bad)") || text.contains("?") || text.hasPrefix(".byte")
        }
    }

    /// Disassembles `object`; returns instructions keyed by offset in `.text`. `end` is the
    /// size of the section (the length of the last instruction).
    func instructions(in object: URL, end: Int) throws -> [Int: Instruction] {
        let args: [String] = switch flavor {
        case .llvm: ["-d", "-z", "--no-show-raw-insn", "-M", "intel", object.path]
        case .gnu: ["-d", "-z", "--no-show-raw-insn", "-M", "intel,intel64", object.path]
        }
        let listing = try Self.run(path, args)
        var lines: [(offset: Int, text: String)] = []
        for line in listing.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let address = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard !address.isEmpty, let offset = Int(address, radix: 16) else { continue }
            lines.append((offset, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var result: [Int: Instruction] = [:]
        for i in lines.indices {
            // Both tools print some prefixes (LOCK, XACQUIRE, an ignored REX, ...) as lines
            // of their own: fold them into the instruction they belong to.
            var j = i
            var text = lines[i].text
            while Self.isPrefixOnly(text), j + 1 < lines.count, lines[j + 1].offset - lines[i].offset < 15 {
                j += 1
                text += " " + lines[j].text
            }
            let next = j + 1 < lines.count ? lines[j + 1].offset : end
            result[lines[i].offset] = Instruction(length: next - lines[i].offset, text: text)
        }
        return result
    }

    private static let prefixWords: Set<String> = [
        "lock", "xacquire", "xrelease", "rep", "repe", "repz", "repne", "repnz", "data16", "data32",
        "addr16", "addr32", "cs", "ds", "es", "ss", "fs", "gs", "rex", "rex64", "bnd", "notrack",
    ]

    private static func isPrefixOnly(_ text: String) -> Bool {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return !words.isEmpty && words.allSatisfy { prefixWords.contains(String($0)) || $0.hasPrefix("rex.") }
    }

    /// Runs a tool; returns its standard output or throws with its standard error.
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe()
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("kite-tool-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: err) }
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        // Read before waiting: a listing is larger than a pipe's buffer.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let message = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            throw Failure.tool(tool, status: p.terminationStatus, output: String(message.prefix(2000)))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Assembles `cases` as data in `.text`, each at the start of its own `slotBytes` slot
    /// padded with INT3, into an object file in `directory`.
    static func assemble(_ cases: [[UInt8]], slotBytes: Int, clang: String, in directory: URL) throws -> URL {
        let source = directory.appendingPathComponent("cases.s")
        let object = directory.appendingPathComponent("cases.o")
        var asm = ".text\n"
        for bytes in cases {
            let padded = bytes + Array(repeating: 0xCC, count: max(0, slotBytes - bytes.count))
            asm += ".byte " + padded.map { "0x" + String($0, radix: 16) }.joined(separator: ",") + "\n"
        }
        try asm.write(to: source, atomically: true, encoding: .utf8)
        _ = try run(clang, ["-c", "-x", "assembler", "-target", "x86_64-unknown-linux-gnu", source.path, "-o", object.path])
        return object
    }
}
