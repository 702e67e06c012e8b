import Foundation
import KiteHost
import Testing
import XenABI
import XenControl
import XenStore

/// The multi-domain host: several PV test kernels on one machine and one xenstore, and the
/// toolstack verbs on them.
@Suite(.serialized)
struct PVHostTests {
    static let buildDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Guests/build/pv")

    /// A test kernel of Guests/pv, built by scripts/build-guests.sh.
    static func kernel(_ name: String) throws -> [UInt8] {
        let path = buildDirectory.appendingPathComponent(name + ".elf").path
        return [UInt8](try #require(FileManager.default.contents(atPath: path), "run scripts/build-guests.sh first"))
    }

    static func spec(_ kernel: String, name: String? = nil, paused: Bool = false) throws -> PVDomainSpec {
        PVDomainSpec(
            kernel: try Self.kernel(kernel), kernelName: buildDirectory.appendingPathComponent(kernel + ".elf").path, memoryMiB: 16, name: name, startPaused: paused,
            maxInstructions: 200_000_000)
    }

    static func text(_ guest: PVGuest) -> String { String(decoding: guest.console.contents, as: UTF8.self) }

    @Test func twoDomainsRunSideBySideAndGiveBackEveryFrame() throws {
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let free = host.freeMemoryMiB
        let a = try host.create(Self.spec("hello"))
        let b = try host.create(Self.spec("xen_version"))
        #expect(a.id == DomainID(1) && b.id == DomainID(2))
        #expect(a.name == "hello" && b.name == "xen_version")
        #expect(host.guest(matching: "2") === b && host.guest(matching: "hello") === a)
        for guest in [a, b] {
            let outcome = try #require(guest.waitForStop(timeout: 60))
            #expect(outcome.reason == .poweroff)
            #expect(guest.state == .shutdown(.poweroff, code: 0))
            #expect(Self.text(guest).contains("Test result: SUCCESS"), "\(Self.text(guest))")
        }
        // Shut down, not destroyed: the domains keep their memory until the toolstack acts.
        #expect(host.guests.count == 2)
        #expect(a.destroy().leakedFrames == 0)
        #expect(b.destroy().leakedFrames == 0)
        #expect(a.state == .destroyed)
        #expect(host.guests.isEmpty)
        #expect(host.freeMemoryMiB == free)
    }

    @Test func namesAreUniqueAndValid() throws {
        let host = try PVHost(memoryMiB: 64)
        defer { host.shutdown() }
        let a = try host.create(Self.spec("hello", name: "web", paused: true))
        #expect(throws: LaunchError.self) { try host.create(Self.spec("hello", name: "web")) }
        #expect(throws: LaunchError.self) { try host.create(Self.spec("hello", name: "123")) }
        #expect(throws: LaunchError.self) { try host.create(Self.spec("hello", name: "a/b")) }
        let b = try host.create(Self.spec("hello", name: "db", paused: true))
        #expect(throws: LaunchError.self) { try host.rename(b, to: "web") }
        try host.rename(a, to: "frontend")
        #expect(host.guest(named: "frontend") === a)
        let stored = try host.store.inspect { (s) throws(XenError) in try s.readString("/local/domain/\(a.id.rawValue)/name") }
        #expect(stored == "frontend")
        _ = try host.create(Self.spec("hello", name: "web", paused: true))
    }

    @Test func aPausedDomainRunsOnlyAfterUnpause() throws {
        let host = try PVHost(memoryMiB: 32)
        defer { host.shutdown() }
        let guest = try host.create(Self.spec("hello", paused: true))
        #expect(guest.state == .paused)
        #expect(guest.waitForStop(timeout: 0.5) == nil)
        #expect(guest.instructions == 0)
        #expect(throws: LaunchError.self) { try guest.pause() }
        try guest.unpause()
        let outcome = try #require(guest.waitForStop(timeout: 60))
        #expect(outcome.reason == .poweroff)
        #expect(throws: LaunchError.self) { try guest.unpause() }
    }

    @Test func destroyingARunningOrPausedDomainReturnsItsMemory() throws {
        let host = try PVHost(memoryMiB: 32)
        defer { host.shutdown() }
        let free = host.freeMemoryMiB
        let guest = try host.create(Self.spec("hello", paused: true))
        #expect(host.freeMemoryMiB < free)
        let outcome = guest.destroy()
        #expect(outcome.wasDestroyed && outcome.reason == nil)
        #expect(outcome.leakedFrames == 0)
        #expect(guest.state == .destroyed)
        #expect(host.freeMemoryMiB == free)
        // Idempotent.
        #expect(guest.destroy().leakedFrames == 0)
        // The xenstore entries went with it.
        let gone = try host.store.inspect { (s) throws(XenError) in
            (try? s.readString("/local/domain/\(guest.id.rawValue)/name")) == nil
        }
        #expect(gone)
    }

    @Test func aShutdownRequestIsWrittenWhereTheGuestWatches() throws {
        let host = try PVHost(memoryMiB: 32)
        defer { host.shutdown() }
        let guest = try host.create(Self.spec("hello", paused: true))
        try guest.requestShutdown(.reboot)
        let word = try host.store.inspect { (s) throws(XenError) in
            try s.readString("/local/domain/\(guest.id.rawValue)/control/shutdown")
        }
        #expect(word == "reboot")
        #expect(throws: LaunchError.self) { try guest.requestShutdown(.crash) }
    }

    @Test func tooLittleMemoryIsRefusedAndNothingLeaks() throws {
        let host = try PVHost(memoryMiB: 24)
        defer { host.shutdown() }
        let free = host.freeMemoryMiB
        var spec = try Self.spec("hello")
        spec.memoryMiB = 4096
        #expect(throws: LaunchError.self) { try host.create(spec) }
        #expect(host.guests.isEmpty && host.freeMemoryMiB == free)
        spec.memoryMiB = 16
        spec.kernel = Array("not a kernel".utf8)
        #expect(throws: LaunchError.self) { try host.create(spec) }
        #expect(host.guests.isEmpty && host.freeMemoryMiB == free)
    }

    @Test func consoleOutputIsAlsoLoggedToAFilePerGuest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kite-console-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let host = try PVHost(memoryMiB: 32, consoleLogDirectory: directory)
        defer { host.shutdown() }
        let guest = try host.create(Self.spec("hello", name: "logged"))
        _ = guest.waitForStop(timeout: 60)
        guest.destroy()
        let log = try String(contentsOfFile: directory + "/guest-logged.log", encoding: .utf8)
        #expect(log.contains("Test result: SUCCESS"))
    }

    @Test func consoleHistoryReplaysWhatALateSubscriberMissed() throws {
        let host = try PVHost(memoryMiB: 32)
        defer { host.shutdown() }
        let guest = try host.create(Self.spec("hello"))
        _ = guest.waitForStop(timeout: 60)
        let seen = LockedBox([UInt8]())
        let token = guest.console.subscribe(replay: true) { bytes in seen.append(bytes) }
        guest.console.unsubscribe(token)
        #expect(String(decoding: seen.value, as: UTF8.self).contains("Test result: SUCCESS"))
    }
}

/// A tiny lock box for test closures.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func append<S: Sequence>(_ items: S) where Value == [S.Element] {
        lock.lock(); stored.append(contentsOf: items); lock.unlock()
    }
}
