import Foundation
import KiteControl
import KiteHost
import Testing
import XenABI
import XenStore

/// The daemon workflow end to end, the way `kite` drives it: create the demo guest from an
/// xl.cfg, see it in list, attach to its console, pause and unpause it, shut it down, and
/// see its on_poweroff action applied.
@Suite(.serialized)
struct DaemonLifecycleTests {
    @Test func createListConsolePauseUnpauseAndPreserveOnPoweroff() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let created = try t.create(demoConfig(extra: "on_poweroff = 'preserve'"), paused: true)
        #expect(created.name == "demo" && created.state == .paused && created.config.onPoweroff == .preserve)

        // list: the table and JSON.
        var rows = try t.list()
        #expect(rows.map(\.name) == ["demo"] && rows[0].id == created.id)
        #expect(ControlFormatting.list(rows).contains("--p---"))
        #expect(rows[0].memoryMiB == 16 && rows[0].vcpus == 1)

        // The console, attached while paused; its output is collected until it closes.
        let console = try t.client.attachConsole(.name("demo"))
        #expect(console.domain.id == created.id)
        let output = Bytes()
        let closed = DispatchSemaphore(value: 0)
        let outcome = Bytes()
        Thread {
            let o = console.run(input: nil) { output.append($0) }
            outcome.append(ArraySlice(Array("\(o)".utf8)))
            closed.signal()
        }.start()

        // pause is refused while paused; unpause runs it; pause and unpause again.
        #expect(t.error(.pause(.name("demo")))?.code == .invalidState)
        _ = try t.client.send(.unpause(.name("demo")))
        // The demo guest powers itself off; on_poweroff = preserve keeps it.
        #expect(t.eventually { try t.list().first?.state == .shutdown })
        #expect(closed.wait(timeout: .now() + 30) == .success)
        #expect(outcome.text == "closed")
        #expect(output.text.contains("Hello from a paravirtualized guest."), "\(output.text)")
        #expect(output.text.contains("Goodbye: shutting down with SHUTDOWN_poweroff."))

        rows = try t.list()
        #expect(rows[0].state == .shutdown && rows[0].shutdownReason == "poweroff" && rows[0].shutdownCode == 0)
        #expect(ControlFormatting.list(rows).contains("---s--"))
        #expect(rows[0].instructions > 0)
        #expect(t.error(.unpause(.id(created.id)))?.code == .invalidState)

        // Early output is kept: a console attached after the end replays it, then closes.
        let late = try t.client.attachConsole(.id(created.id))
        let replay = Bytes()
        #expect(late.run(input: nil) { replay.append($0) } == .closed)
        #expect(replay.text.contains("Hello from a paravirtualized guest."))

        // dmesg: the hypervisor's and toolstack's lines, each naming its domain.
        guard case .log(let log) = try t.client.send(.dmesg(clear: false)) else { Issue.record("no log"); return }
        let mine = log.filter { $0.domain == created.id }
        #expect(mine.contains { $0.message.contains("applying preserve") })
        #expect(mine.contains { $0.message == "unpaused" })
        #expect(t.logLines.all.contains { $0.contains("domid=\(created.id.rawValue)") && $0.contains("applying preserve") })
        #expect(t.logLines.all.allSatisfy { $0.contains(" domid=") })

        _ = try t.client.send(.destroy(.name("demo")))
        #expect(try t.list().isEmpty)
        #expect(t.error(.destroy(.name("demo")))?.code == .noSuchDomain)
    }

    @Test func pauseAndUnpauseARunningDomain() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        // A guest bounded to run long enough to be paused: it spins in its timer loop.
        let d = try t.create(demoConfig(extra: "on_poweroff = 'preserve'"), paused: true)
        _ = try t.client.send(.unpause(.id(d.id)))
        // It may already have finished on a fast host; only a running one can be paused.
        if case .some(.running) = try? t.list().first?.state, t.error(.pause(.id(d.id))) == nil {
            #expect(try t.list().first?.state == .paused)
            let before = try t.list()[0].instructions
            usleep(100_000)
            #expect(try t.list()[0].instructions == before)
            _ = try t.client.send(.unpause(.id(d.id)))
        }
        #expect(t.eventually { try t.list().first?.state == .shutdown })
    }

    @Test func onPoweroffDestroyIsTheDefault() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let free = t.daemon.host.freeMemoryMiB
        let d = try t.create(demoConfig())
        #expect(d.config.onPoweroff == .destroy)
        #expect(t.eventually { try t.list().isEmpty })
        #expect(t.daemon.ring.entries.contains { $0.domain == d.id && $0.message.contains("applying destroy") })
        #expect(t.daemon.host.freeMemoryMiB == free)
    }

    @Test func onPoweroffRestartRecreatesTheDomainUntilThrottled() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let first = try t.create(demoConfig(extra: "on_poweroff = 'restart'"))
        // Each incarnation powers off at once: kited restarts it (new ids) until the
        // throttle preserves it.
        #expect(t.eventually(timeout: 120) { try t.list().first.map { $0.state == .shutdown && $0.restarts == 5 } ?? false })
        let last = try #require(try t.list().first)
        #expect(last.name == "demo" && last.id != first.id && last.uuid == first.uuid)
        #expect(t.daemon.ring.entries.contains { $0.message.contains("preserving it instead") })
        _ = try t.client.send(.destroy(.name("demo")))
    }

    @Test func renameRestartKeepsTheStoppedDomainUnderANewName() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        _ = try t.create(demoConfig(extra: "on_poweroff = 'rename-restart'"))
        // The first incarnation is kept as demo-<time>; the new one is named demo.
        #expect(t.eventually { try t.list().contains { $0.name.hasPrefix("demo-") && $0.state == .shutdown } })
        let kept = try t.list().filter { $0.name.hasPrefix("demo-") }
        #expect(kept.allSatisfy { $0.name.range(of: #"^demo-\d{8}T\d{4}Z(-\d+)?$"#, options: .regularExpression) != nil })
        for d in try t.list() { _ = try? t.client.send(.destroy(.id(d.id))) }
        // Restarts may have raced the destroys: clear up until nothing is left.
        #expect(t.eventually { for d in try t.list() { _ = try? t.client.send(.destroy(.id(d.id))) }; return try t.list().isEmpty })
    }

    @Test func shutdownAndRebootAreWrittenWhereTheGuestWatches() throws {
        try TestDaemon.requireDemo()
        let t = try TestDaemon()
        let d = try t.create(demoConfig(), paused: true)
        _ = try t.client.send(.shutdown(.name("demo"), wait: false, timeout: nil))
        let path = "/local/domain/\(d.id.rawValue)/control/shutdown"
        #expect(try t.daemon.host.store.inspect { (s) throws(XenError) in try s.readString(path) } == "poweroff")
        // The paused guest cannot act on it: -w gives up at the timeout.
        let e = t.error(.shutdown(.name("demo"), wait: true, timeout: 0.3))
        #expect(e?.code == .timeout)
        _ = try t.client.send(.reboot(.id(d.id), wait: false, timeout: nil))
        #expect(try t.daemon.host.store.inspect { (s) throws(XenError) in try s.readString(path) } == "reboot")
        #expect(t.daemon.ring.entries.contains { $0.domain == d.id && $0.message.contains("may ignore it") })
        // -w: once it runs, the demo powers off by itself and the reply says so.
        let waiter = Bytes()
        let done = DispatchSemaphore(value: 0)
        let client = t.client
        Thread {
            if case .stopped(let r)? = try? client.send(.shutdown(.name("demo"), wait: true, timeout: 60)) {
                waiter.append(ArraySlice(Array("\(r.reason ?? "-") \(r.action?.rawValue ?? "-")".utf8)))
            }
            done.signal()
        }.start()
        usleep(100_000)
        _ = try t.client.send(.unpause(.name("demo")))
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(waiter.text == "poweroff destroy")
        #expect(t.eventually { try t.list().isEmpty })
    }
}
