import Foundation
import KiteControl
import KiteHost
import Testing
import XenABI

/// kited as a server: malformed and oversized requests get error replies on a connection
/// that stays usable, only one kited serves a socket, a stale socket is cleared, and every
/// refusal carries its code.
@Suite(.serialized)
struct DaemonProtocolTests {
    /// Sends raw lines on one connection and reads one reply line per request.
    func exchange(_ t: TestDaemon, _ lines: [[UInt8]]) throws -> [Result<ControlReply, ControlError>] {
        let s = try ControlSocket.connect(path: t.socketPath)
        defer { s.close() }
        let reader = ControlLineReader(socket: s, limit: ControlFraming.maximumReplyBytes)
        return lines.map { line in
            s.write(line)
            guard case .line(let reply) = reader.next() else { return .failure(ControlError(.protocolError, "no reply")) }
            return ControlFraming.response(from: reply)
        }
    }

    func code(_ r: Result<ControlReply, ControlError>) -> ControlError.Code? {
        if case .failure(let e) = r { return e.code }
        return nil
    }

    @Test func malformedAndOversizedRequestsGetErrorRepliesAndTheConnectionGoesOn() throws {
        let t = try TestDaemon()
        let huge = Array(repeating: UInt8(ascii: "x"), count: ControlFraming.maximumRequestBytes + 10) + [0x0A]
        let replies = try exchange(t, [
            Array("this is not json\n".utf8),
            Array("{\"op\":\"fly\"}\n".utf8),
            Array("{\"op\":\"pause\"}\n".utf8),
            huge,
            Array([0xFF, 0xFE, 0x00, 0x0A]),
            Array("{\"op\":\"list\"}\n".utf8),
        ])
        #expect(replies.map(code) == [.malformedRequest, .unknownOperation, .malformedRequest, .requestTooLarge, .malformedRequest, nil])
        #expect(try replies[5].get() == .domains([]))
        // Blank lines are ignored; the daemon still answers.
        #expect(try exchange(t, [Array("\n  \n{\"op\":\"host-info\"}\n".utf8)]).count == 1)
    }

    @Test func connectionsBeyondTheLimitAreToldSoAndClosed() throws {
        let t = try TestDaemon()
        // Idle connections: each holds a serving thread in kited.
        var open: [ControlSocket] = []
        defer { open.forEach { $0.close() } }
        for _ in 0..<KiteDaemon.maximumConnections { open.append(try ControlSocket.connect(path: t.socketPath)) }
        // The server admits them one by one: wait until a further one is refused.
        var refused: ControlError?
        #expect(t.eventually(timeout: 30) {
            let extra = try ControlSocket.connect(path: t.socketPath)
            defer { extra.close() }
            let reader = ControlLineReader(socket: extra, limit: ControlFraming.maximumReplyBytes)
            extra.write(Array("{\"op\":\"list\"}\n".utf8))
            guard case .line(let reply) = reader.next(), case .failure(let e) = ControlFraming.response(from: reply) else { return false }
            refused = e
            return true
        })
        #expect(refused?.code == .busy, "\(String(describing: refused))")
        // An admitted connection still works, and closing one makes room again.
        let first = open.removeFirst()
        first.close()
        #expect(t.eventually(timeout: 30) { try t.list().isEmpty })
    }

    @Test func onlyOneKitedServesASocketAndAStaleSocketIsCleared() throws {
        let t = try TestDaemon()
        let second = #expect(throws: KiteDaemon.StartError.self) {
            try KiteDaemon.start(.init(socketPath: t.socketPath, memoryMiB: 16, echo: nil))
        }
        #expect(second?.description == "another kited (pid \(getpid())) already serves \(t.socketPath)")
        #expect(ControlSocket.isLive(path: t.socketPath))

        // A socket file nobody listens on (a kited that was killed) is removed at start.
        let dir = "/tmp/kite-stale-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/kited.sock"
        let dead = try ControlSocket.listen(path: path)
        dead.close()
        #expect(FileManager.default.fileExists(atPath: path) && !ControlSocket.isLive(path: path))
        let lines = Lines()
        let d = try KiteDaemon.start(.init(socketPath: path, memoryMiB: 16, echo: { lines.append($0) }))
        #expect(ControlSocket.isLive(path: path))
        #expect(lines.all.contains { $0.contains("removed a stale socket") })
        d.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
        d.stop()
    }

    @Test func refusalsCarryTheirCodes() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let kernel = TestDaemon.demoKernel
        #expect(t.error(.pause(.name("ghost")))?.code == .noSuchDomain)
        #expect(t.error(.pause(.id(DomainID(42))))?.message == "no domain with id 42")
        #expect(t.error(.create(DomainCreateSpec(name: "123", kernel: kernel)))?.code == .invalidArgument)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: "relative.elf")))?.code == .invalidArgument)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: "/no/such/kernel")))?.code == .cannotReadFile)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: "/etc/hostname")))?.code == .launchFailed)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: kernel, memoryMiB: 4096)))?.code == .launchFailed)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: kernel, vcpus: 40)))?.code == .invalidArgument)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: kernel, disks: ["/img,qcow2,xvda"])))?.code == .notSupported)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: kernel, disks: ["/img,,floppy"])))?.message
            == "disk 0: vdev floppy is not a Xen virtual disk name (xvda, xvdb1, sda, hdc, d0p1 or a number) in `/img,,floppy'")
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: kernel, vifs: ["mac=zz"])))?.code == .invalidArgument)
        #expect(t.error(.create(DomainCreateSpec(name: "a", kernel: kernel, uuid: "nope")))?.code == .invalidArgument)

        let d = try t.create(demoConfig(name: "web"), paused: true)
        #expect(t.error(.create(try t.createSpec(demoConfig(name: "web"))))?.code == .nameInUse)
        // Names and ids everywhere; rename; domid/domname through domain-info.
        _ = try t.client.send(.rename(.id(d.id), to: "frontend"))
        guard case .domain(let renamed, _) = try t.client.send(.domainInfo(.name("frontend"))) else { Issue.record("no reply"); return }
        #expect(renamed.id == d.id && renamed.config.name == "frontend")
        #expect(t.error(.rename(.name("frontend"), to: "a b"))?.code == .invalidArgument)
        #expect(t.error(.domainInfo(.name("web")))?.code == .noSuchDomain)
        // vcpu-set, mem-set and mem-max within their bounds (the guest has maxvcpus 1 and
        // maxmem 16); beyond them the error says which bound.
        #expect(try t.client.send(.vcpuSet(.name("frontend"), count: 1)) == .done)
        #expect(t.error(.vcpuSet(.name("frontend"), count: 2))?.message == "vcpu-set: 2 is outside 1 to 1 (the domain's maxvcpus)")
        #expect(t.error(.vcpuSet(.name("frontend"), count: 0))?.code == .invalidArgument)
        #expect(try t.client.send(.memSet(.name("frontend"), mib: 8)) == .done)
        #expect(t.error(.memSet(.name("frontend"), mib: 17))?.message == "mem-set: 17 MiB is outside 1 to 16 MiB (maxmem; raise it with mem-max)")
        #expect(t.error(.memMax(.name("frontend"), mib: 4))?.code == .invalidArgument)
        #expect(try t.client.send(.memMax(.name("frontend"), mib: 64)) == .done)
        #expect(try t.client.send(.memSet(.name("frontend"), mib: 17)) == .done)
        guard case .vcpus(let v) = try t.client.send(.vcpuList(.name("frontend"))) else { Issue.record("no vcpus"); return }
        #expect(v.count == 1 && v[0].domainName == "frontend" && v[0].state == "paused")
        guard case .host(let h) = try t.client.send(.hostInfo) else { Issue.record("no host"); return }
        #expect(h.domains == 1 && h.totalMemoryMiB == 64 && h.daemonPID == getpid() && h.xenVersion.hasPrefix("4."))
        // Warnings come back with create.
        guard case .domain(_, let warnings) = try t.client.send(.create(try t.createSpec(demoConfig(name: "w", extra: "maxmem = 32\nmaxvcpus = 2"), paused: true))) else {
            Issue.record("no reply")
            return
        }
        #expect(warnings.isEmpty, "\(warnings)")
    }
}
