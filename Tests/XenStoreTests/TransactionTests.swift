import Testing
import XenABI
@testable import XenStore

@Suite struct TransactionTests {
    @Test func idsStartAtOneAndIncrease() {
        var h = StoreHarness()
        let local = h.server.openConnection()
        #expect(h.startTransaction(local) == 1)
        #expect(h.startTransaction(local) == 2)
        #expect(h.startTransaction(h.dom0) == 1)   // per connection
    }

    @Test func changesAreInvisibleUntilCommit() {
        var h = StoreHarness()
        h.write(h.dom0, "/t/a", "old")
        let tx = h.startTransaction(h.dom0)
        h.write(h.dom0, "/t/a", "new", tx: tx)
        h.write(h.dom0, "/t/b/c", "made", tx: tx)
        #expect(h.read(h.dom0, "/t/a", tx: tx) == "new")
        #expect(h.read(h.dom0, "/t/a") == "old")
        #expect(h.read(h.dom0, "/t/b/c") == "ERR:ENOENT")
        #expect(h.ok(h.dom0, .directory, ["/t"], tx: tx) == ["a", "b"])
        #expect(h.ok(h.dom0, .transactionEnd, ["T"], tx: tx) == ["OK"])
        #expect(h.read(h.dom0, "/t/a") == "new")
        #expect(h.read(h.dom0, "/t/b/c") == "made")
        #expect(h.ok(h.dom0, .directory, ["/t"]) == ["a", "b"])
    }

    @Test func abortDiscards() {
        var h = StoreHarness()
        let tx = h.startTransaction(h.dom0)
        h.write(h.dom0, "/gone", "x", tx: tx)
        #expect(h.ok(h.dom0, .transactionEnd, ["F"], tx: tx) == ["OK"])
        #expect(h.read(h.dom0, "/gone") == "ERR:ENOENT")
        #expect(h.error(h.dom0, .read, ["/gone"], tx: tx) == "ENOENT")   // the id is gone
    }

    @Test func removalInsideATransaction() {
        var h = StoreHarness()
        h.write(h.dom0, "/rm/a/b", "1")
        let tx = h.startTransaction(h.dom0)
        #expect(h.ok(h.dom0, .remove, ["/rm/a"], tx: tx) == ["OK"])
        #expect(h.read(h.dom0, "/rm/a/b", tx: tx) == "ERR:ENOENT")
        #expect(h.read(h.dom0, "/rm/a/b") == "1")
        #expect(h.ok(h.dom0, .transactionEnd, ["T"], tx: tx) == ["OK"])
        #expect(h.read(h.dom0, "/rm/a/b") == "ERR:ENOENT")
        #expect(h.ok(h.dom0, .directory, ["/rm"]) == [])
    }

    @Test func aConflictingWriteMakesCommitFailWithEAGAIN() {
        var h = StoreHarness()
        let other = h.server.openConnection()
        h.write(h.dom0, "/c/a", "1")
        let tx = h.startTransaction(h.dom0)
        #expect(h.read(h.dom0, "/c/a", tx: tx) == "1")
        h.write(h.dom0, "/c/b", "x", tx: tx)
        h.write(other, "/c/a", "2")
        #expect(h.error(h.dom0, .transactionEnd, ["T"], tx: tx) == "EAGAIN")
        #expect(h.read(h.dom0, "/c/b") == "ERR:ENOENT")
        // The transaction is over either way.
        #expect(h.error(h.dom0, .transactionEnd, ["T"], tx: tx) == "ENOENT")
    }

    @Test func creatingANodeTheTransactionSawMissingConflicts() {
        var h = StoreHarness()
        let tx = h.startTransaction(h.dom0)
        #expect(h.read(h.dom0, "/n/x", tx: tx) == "ERR:ENOENT")
        h.write(h.dom0, "/n/x", "outside")
        #expect(h.error(h.dom0, .transactionEnd, ["T"], tx: tx) == "EAGAIN")
    }

    @Test func deletingAReadNodeConflicts() {
        var h = StoreHarness()
        h.write(h.dom0, "/d/x", "1")
        let tx = h.startTransaction(h.dom0)
        _ = h.read(h.dom0, "/d/x", tx: tx)
        h.send(h.dom0, .remove, ["/d/x"])
        #expect(h.error(h.dom0, .transactionEnd, ["T"], tx: tx) == "EAGAIN")
    }

    @Test func unrelatedChangesDoNotConflict() {
        var h = StoreHarness()
        h.write(h.dom0, "/u/a", "1")
        h.write(h.dom0, "/v", "1")
        let tx = h.startTransaction(h.dom0)
        h.write(h.dom0, "/u/a", "2", tx: tx)
        h.write(h.dom0, "/v", "2")
        #expect(h.ok(h.dom0, .transactionEnd, ["T"], tx: tx) == ["OK"])
        #expect(h.read(h.dom0, "/u/a") == "2")
    }

    @Test func twoInterferingTransactionsOneWins() {
        var h = StoreHarness()
        let second = h.server.openConnection()
        h.write(h.dom0, "/i/a", "a")
        h.write(h.dom0, "/i/b", "b")
        let t1 = h.startTransaction(h.dom0)
        let t2 = h.startTransaction(second)
        _ = h.read(h.dom0, "/i/a", tx: t1)
        _ = h.read(second, "/i/b", tx: t2)
        h.write(h.dom0, "/i/b", "1", tx: t1)
        h.write(second, "/i/a", "2", tx: t2)
        #expect(h.ok(h.dom0, .transactionEnd, ["T"], tx: t1) == ["OK"])
        #expect(h.error(second, .transactionEnd, ["T"], tx: t2) == "EAGAIN")
        #expect(h.read(h.dom0, "/i/a") == "a")
        #expect(h.read(h.dom0, "/i/b") == "1")
    }

    @Test func watchesFireOnlyAtCommit() {
        var h = StoreHarness()
        let watcher = h.server.openConnection()
        h.send(watcher, .watch, ["/wt", "t"])
        let tx = h.startTransaction(h.dom0)
        #expect(StoreHarness.events(h.write(h.dom0, "/wt/a", "1", tx: tx)).isEmpty)
        #expect(StoreHarness.events(h.write(h.dom0, "/wt/a", "2", tx: tx)).isEmpty)
        #expect(StoreHarness.events(h.write(h.dom0, "/wt/b", "1", tx: tx)).isEmpty)
        let commit = h.send(h.dom0, .transactionEnd, ["T"], tx: tx)
        #expect(StoreHarness.events(commit, for: watcher).sorted() == ["/wt/a", "/wt/b"])
        if case .reply? = commit.last {} else { Issue.record("events precede the reply") }
        let tx2 = h.startTransaction(h.dom0)
        h.write(h.dom0, "/wt/c", "1", tx: tx2)
        #expect(StoreHarness.events(h.send(h.dom0, .transactionEnd, ["F"], tx: tx2)).isEmpty)
    }

    @Test func removalInATransactionFiresAtCommit() {
        var h = StoreHarness()
        let watcher = h.server.openConnection()
        h.write(h.dom0, "/tw/a/b", "1")
        h.send(watcher, .watch, ["/tw", "parent"])
        h.send(watcher, .watch, ["/tw/a/b", "leaf"])
        let tx = h.startTransaction(h.dom0)
        #expect(StoreHarness.events(h.send(h.dom0, .remove, ["/tw/a"], tx: tx)).isEmpty)
        let commit = h.send(h.dom0, .transactionEnd, ["T"], tx: tx)
        let events = StoreHarness.events(commit).map { "\($0.2):\($0.1)" }
        #expect(Set(events) == ["parent:/tw/a", "leaf:/tw/a/b"])
        #expect(events.count == 2)
    }

    @Test func endArgumentsAndNesting() {
        var h = StoreHarness()
        let tx = h.startTransaction(h.dom0)
        #expect(h.error(h.dom0, .transactionEnd, ["X"], tx: tx) == "EINVAL")
        #expect(h.error(h.dom0, .transactionEnd, ["T", "F"], tx: tx) == "EINVAL")
        #expect(h.error(h.dom0, .transactionEnd, ["T"]) == "ENOENT")              // tx_id 0
        #expect(h.error(h.dom0, .transactionStart, [""], tx: tx) == "EBUSY")
        #expect(h.error(h.dom0, .transactionStart, [""], tx: 99) == "ENOENT")
        #expect(h.error(h.dom0, .transactionEnd, ["F"], tx: tx) == nil)
    }

    @Test func transactionQuotaIsENOSPCAndPerConnection() {
        var quotas = XenStoreQuotas()
        quotas.transactionsPerDomain = 2
        var h = StoreHarness(quotas: quotas)
        let guest = h.introduce(3)
        // As in xenstored, quota + 1 transactions fit (it tests `count > quota`).
        for _ in 0..<3 { #expect(h.error(guest, .transactionStart, [""]) == nil) }
        #expect(h.error(guest, .transactionStart, [""]) == "ENOSPC")
        for _ in 0..<5 { #expect(h.error(h.dom0, .transactionStart, [""]) == nil) }
        #expect(h.error(guest, .transactionEnd, ["F"], tx: 1) == nil)
        #expect(h.error(guest, .transactionStart, [""]) == nil)
    }

    @Test func touchingTooManyNodesFailsTheTransaction() {
        var quotas = XenStoreQuotas()
        quotas.nodesPerTransaction = 4
        var h = StoreHarness(quotas: quotas)
        let guest = h.introduce(3)
        h.write(h.dom0, "/local/domain/3/data", "")
        _ = h.setPerms(h.dom0, "/local/domain/3/data", ["n3"])
        let tx = h.startTransaction(guest)
        var errors: [String?] = []
        for index in 0..<4 { errors.append(h.writeError(guest, "data/k\(index)", "v", tx: tx)) }
        #expect(errors.contains("ENOSPC"))
        // A failed transaction cannot commit; xenstored answers ENOMEM.
        #expect(h.error(guest, .transactionEnd, ["T"], tx: tx) == "ENOMEM")
        #expect(h.read(h.dom0, "/local/domain/3/data/k0") == "ERR:ENOENT")
    }

    @Test func generationsDetectConflictsInNodesReadForPermissionChecks() {
        var h = StoreHarness()
        h.write(h.dom0, "/parent", "")
        let tx = h.startTransaction(h.dom0)
        // Creating /parent/new reads /parent; a concurrent change of /parent conflicts.
        h.write(h.dom0, "/parent/new", "1", tx: tx)
        h.write(h.dom0, "/parent/other", "1")
        #expect(h.error(h.dom0, .transactionEnd, ["T"], tx: tx) == "EAGAIN")
    }
}
