import Dispatch
import Synchronization
import Testing
import XenABI
import XenBackends
import XenStore

/// The in-process dom0 client backends use.
@Suite struct XenStoreClientTests {
    final class Seen: Sendable {
        let paths = Mutex<[String]>([])
        let onQueue = Mutex<[Bool]>([])
        func add(_ path: String, onQueue queued: Bool) {
            paths.withLock { $0.append(path) }
            onQueue.withLock { $0.append(queued) }
        }
        var all: [String] { paths.withLock { $0 } }
    }

    @Test func readsWritesAndPermissions() throws {
        let rig = XenbusRig()
        let client = rig.client
        try client.write("/tool/a/b", "1")
        #expect(try client.read("/tool/a/b") == "1")
        #expect(try client.readIfPresent("/tool/a/missing") == nil)
        #expect(try client.directory("/tool/a") == ["b"])
        try client.mkdir("/tool/a/c")
        try client.setPermissions("/tool/a/c", XenStorePermissions(owner: .controlDomain, grants: [(DomainID(0), .read)]))
        #expect(try client.permissions("/tool/a/c") == ["n0", "r0"])
        try client.remove("/tool/a")
        #expect(throws: XenError.ENOENT) { try client.read("/tool/a/b") }
        #expect(throws: XenError.EINVAL) { try client.read("no//path") }
        rig.close()
    }

    @Test func aConflictingTransactionFailsWithEAGAINAndTheHelperRetries() throws {
        let rig = XenbusRig()
        let a = rig.client
        let b = XenStoreClient(daemon: rig.daemon)
        try a.write("/tool/counter", "0")
        let t = try a.startTransaction()
        let seen = try a.read("/tool/counter", in: t)
        try b.write("/tool/counter", "5")   // another client changes what t read
        try a.write("/tool/counter", String(Int(seen)! + 1), in: t)
        #expect(throws: XenError.EAGAIN) { try a.endTransaction(t, commit: true) }
        #expect(try a.read("/tool/counter") == "5")

        var attempts = 0
        try a.transaction { (t) throws(XenError) in
            attempts += 1
            let value = Int(try a.read("/tool/counter", in: t)) ?? 0
            if attempts == 1 { try b.write("/tool/counter", "10") }
            try a.write("/tool/counter", String(value + 1), in: t)
        }
        #expect(attempts == 2)
        #expect(try a.read("/tool/counter") == "11")
        // An error inside the body aborts: nothing is written.
        #expect(throws: XenError.EACCES) {
            try a.transaction { (t) throws(XenError) in
                try a.write("/tool/counter", "99", in: t)
                throw .EACCES
            }
        }
        #expect(try a.read("/tool/counter") == "11")
        b.close()
        rig.close()
    }

    @Test func watchHandlersRunOnTheClientsQueueAndMayUseTheStore() throws {
        let rig = XenbusRig()
        let queue = DispatchQueue(label: "test.watch")
        let key = DispatchSpecificKey<Bool>()
        queue.setSpecific(key: key, value: true)
        let client = XenStoreClient(daemon: rig.daemon, queue: queue)
        let seen = Seen()
        try client.write("/tool/w", "")
        let watch = try client.watch("/tool/w") { path in
            // Reading from the handler would deadlock if it ran under the store's lock.
            let value = (try? client.readIfPresent(path)) ?? nil
            seen.add(path + "=" + (value ?? "-"), onQueue: DispatchQueue.getSpecific(key: key) == true)
        }
        client.waitUntilIdle()
        try rig.client.write("/tool/w/x", "1")
        try rig.client.remove("/tool/w/x")
        client.waitUntilIdle()
        #expect(seen.all.first == "/tool/w=")
        #expect(seen.all.contains("/tool/w/x=-"))
        #expect(seen.onQueue.withLock { $0 }.allSatisfy { $0 })
        client.unwatch(watch)
        try rig.client.write("/tool/w/y", "1")
        client.waitUntilIdle()
        #expect(!seen.all.contains { $0.hasPrefix("/tool/w/y") })
        client.close()
        rig.close()
    }

    @Test func eventsWaitingForABusyQueueAreCoalesced() throws {
        let rig = XenbusRig()
        let queue = DispatchQueue(label: "test.busy")
        let client = XenStoreClient(daemon: rig.daemon, queue: queue)
        let seen = Seen()
        try client.write("/tool/s", "0")
        try client.watch("/tool/s") { path in seen.add(path, onQueue: true) }
        client.waitUntilIdle()
        let gate = DispatchSemaphore(value: 0)
        queue.async { gate.wait() }
        for value in 1...500 { try rig.client.write("/tool/s", String(value)) }
        gate.signal()
        client.waitUntilIdle()
        #expect(seen.all.count == 2)   // the first event, then one for the 500 writes
        #expect(try client.read("/tool/s") == "500")
        client.close()
        rig.close()
    }

    @Test func closingEndsWatchesAndTransactions() throws {
        let rig = XenbusRig()
        let client = XenStoreClient(daemon: rig.daemon)
        let seen = Seen()
        try client.watch("/tool") { path in seen.add(path, onQueue: true) }
        let t = try client.startTransaction()
        try client.write("/tool/t", "1", in: t)
        #expect(rig.daemon.localConnectionCount == 2)
        client.close()
        #expect(rig.daemon.localConnectionCount == 1)
        #expect(throws: XenError.EIO) { try client.read("/tool") }
        try rig.client.write("/tool/after", "1")
        #expect(rig.read("/tool/t") == nil)
        rig.close()
    }
}
