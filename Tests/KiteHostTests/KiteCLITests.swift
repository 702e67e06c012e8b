import Foundation
import KiteControl
import KiteHost
import Testing

/// The `kite` binary next to the test bundle, if it was built.
enum KiteExecutable {
    static let path: String? = {
        let exe = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        for dir in [exe.deletingLastPathComponent(), exe.deletingLastPathComponent().deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("kite").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()
}

/// The `kite` executable itself against an in-process kited, when it was built next to the
/// test bundle (`swift build` builds it; `swift build --product KitePackageTests` does not,
/// and then these tests are skipped).
@Suite(.serialized, .enabled(if: KiteExecutable.path != nil, "build the kite executable first (swift build)"))
struct KiteCLITests {
    static var kite: String? { KiteExecutable.path }

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs `kite args` with KITE_RUN_DIR set to `directory`.
    static func run(_ args: [String], directory: String, stdin: String? = nil) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(kite))
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["KITE_RUN_DIR"] = directory
        p.environment = env
        p.currentDirectoryURL = TestDaemon.repository
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    @Test func withoutKitedEveryVerbSaysHowToStartIt() throws {
        let r = try Self.run(["list"], directory: "/tmp/kite-nobody-\(getpid())")
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("kite: kited is not running"), "\(r.err)")
        #expect(r.err.contains("kited &"))
    }

    @Test func theXlWorkflow() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let d = t.directory
        // create -p from the bundled example (paths relative to the repository root).
        var r = try Self.run(["create", "-p", "examples/pv-demo.cfg", "name=cli-demo"], directory: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("Parsing config from examples/pv-demo.cfg"))
        #expect(r.err.contains("created domain cli-demo (id 1), paused"))
        r = try Self.run(["list"], directory: d)
        #expect(r.out.hasPrefix("Name                                        ID   Mem VCPUs\tState\tTime(s)\n"))
        #expect(r.out.contains("cli-demo") && r.out.contains("--p---"))
        r = try Self.run(["list", "-l"], directory: d)
        let rows = try JSONDecoder().decode([DomainSummary].self, from: Data(r.out.utf8))
        #expect(rows.first?.name == "cli-demo" && rows.first?.config.onPoweroff == .preserve)
        #expect(try Self.run(["domid", "cli-demo"], directory: d).out == "1\n")
        #expect(try Self.run(["domname", "1"], directory: d).out == "cli-demo\n")
        // kited serves the host's xenstore next to its control socket.
        #expect(try Self.run(["xenstore", "read", "/local/domain/1/name"], directory: d).out == "cli-demo\n")
        r = try Self.run(["mem-set", "cli-demo", "32m"], directory: d)
        #expect(r.status == 1 && r.err == "kite: mem-set: 32 MiB is outside 1 to 16 MiB (maxmem; raise it with mem-max)\n")
        #expect(try Self.run(["mem-set", "cli-demo", "12m"], directory: d).status == 0)
        #expect(try Self.run(["xenstore", "read", "/local/domain/1/memory/target"], directory: d).out == "12288\n")

        // console in the background, unpause, and the console ends when the guest stops.
        let console = Bytes()
        let done = DispatchSemaphore(value: 0)
        Thread {
            if let c = try? Self.run(["console", "cli-demo"], directory: d) {
                console.append(ArraySlice(Array((c.out + "\nstatus \(c.status)\n" + c.err).utf8)))
            }
            done.signal()
        }.start()
        #expect(t.eventually { t.daemon.ring.entries.contains { $0.message == "console attached" } })
        #expect(try Self.run(["unpause", "1"], directory: d).status == 0)
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(console.text.contains("Hello from a paravirtualized guest."), "\(console.text)")
        #expect(console.text.contains("status 0"))
        #expect(console.text.contains("console closed (the domain stopped)"))
        r = try Self.run(["list"], directory: d)
        #expect(r.out.contains("---s--"))
        r = try Self.run(["dmesg"], directory: d)
        #expect(r.out.contains(" d1 kited: stopped (poweroff); applying preserve"))
        #expect(try Self.run(["destroy", "cli-demo"], directory: d).status == 0)
        #expect(try Self.run(["list"], directory: d).out.split(separator: "\n").count == 1)
    }

    @Test func configErrorsNameFileLineAndKey() throws {
        let t = try TestDaemon()
        let bad = t.write("bad.cfg", "name = 'x'\nkernel = 'k'\nmemory = 'lots'\n")
        let r = try Self.run(["create", bad], directory: t.directory)
        #expect(r.status == 1)
        #expect(r.err.contains("kite: \(bad):3: memory: expected a number of MiB, found \"lots\""), "\(r.err)")
        let dry = try Self.run(["create", "-n", "examples/pv-demo.cfg", "memory=32"], directory: t.directory)
        let spec = try JSONDecoder().decode(DomainCreateSpec.self, from: Data(dry.out.utf8))
        #expect(spec.memoryMiB == 32 && spec.kernel == TestDaemon.demoKernel)
    }

    @Test func hotPlugVerbs() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let d = t.directory
        #expect(try Self.run(["create", "-p", "examples/pv-demo.cfg", "name=hp"], directory: d).status == 0)
        let img = t.write("disk.img", String(repeating: "\0", count: 4096))
        var r = try Self.run(["block-attach", "hp", "format=raw,vdev=xvdb,access=rw", "target=\(img)"], directory: d)
        #expect(r.status == 0 && r.out.isEmpty, "\(r.err)")
        r = try Self.run(["block-list", "hp"], directory: d)
        #expect(r.out.hasPrefix("Vdev  BE  handle state evt-ch ring-ref BE-path"), "\(r.out)")
        #expect(r.out.contains("51728 0   1      2     -1     -1       /local/domain/0/backend/vbd/1/51728"), "\(r.out)")
        r = try Self.run(["block-list", "--json", "1"], directory: d)
        let disks = try JSONDecoder().decode([BlockDeviceInfo].self, from: Data(r.out.utf8))
        #expect(disks.map(\.target) == [img])
        r = try Self.run(["block-attach", "hp", "vdev=xvdb,target=\(img)"], directory: d)
        #expect(r.status == 1 && r.err.contains("already has disk xvdb"), "\(r.err)")
        r = try Self.run(["network-attach", "hp", "mac=00:16:3e:12:34:56", "bridge=cli0"], directory: d)
        #expect(r.status == 0, "\(r.err)")
        r = try Self.run(["network-list", "hp"], directory: d)
        #expect(r.out.contains("0   0  00:16:3e:12:34:56     0     2"), "\(r.out)")
        #expect(try Self.run(["block-detach", "hp", "xvdb"], directory: d).status == 0)
        #expect(try Self.run(["network-detach", "--force", "hp", "00:16:3e:12:34:56"], directory: d).status == 0)
        #expect(try Self.run(["block-list", "hp"], directory: d).out.split(separator: "\n").count == 1)
        #expect(try Self.run(["network-list", "hp"], directory: d).out.split(separator: "\n").count == 1)
        r = try Self.run(["network-detach", "hp", "0"], directory: d)
        #expect(r.status == 1 && r.err == "kite: hp has no vif 0\n", "\(r.err)")
        #expect(try Self.run(["destroy", "hp"], directory: d).status == 0)
    }

    @Test func everyCommandHasHelp() throws {
        for verb in ["create", "list", "console", "shutdown", "reboot", "destroy", "pause", "unpause", "rename", "domid", "domname", "info", "vcpu-list", "vcpu-set", "mem-set", "mem-max", "uptime", "top", "dmesg", "run", "block-attach", "block-detach", "block-list", "network-attach", "network-detach", "network-list"] {
            let r = try Self.run([verb, "--help"], directory: "/tmp")
            #expect(r.status == 0 && r.out.contains("USAGE: kite \(verb)"), "\(verb): \(r.out)\(r.err)")
        }
    }
}
