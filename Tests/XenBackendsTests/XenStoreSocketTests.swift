import Foundation
import Testing
import XenABI
import XenBackends
import XenStore

/// The xenstore socket for host tools, with a real Unix socket in a temporary directory.
@Suite struct XenStoreSocketTests {
    final class Served {
        let directory = SocketDirectory()
        let rig = XenbusRig()
        let server: XenStoreSocketServer

        init(limits: XenStoreSocketServer.Limits = .init()) throws {
            server = try XenStoreSocketServer.start(daemon: rig.daemon, path: directory.socket, limits: limits,
                                                    log: { [logs = rig.logs] in logs.append($0) })
        }

        deinit {
            server.stop()
            rig.close()
        }
    }

    @Test func aClientReadsWritesListsAndRemoves() throws {
        let s = try Served()
        let client = try XenStoreSocketClient(path: s.directory.socket)
        try client.write("/tool/kite/answer", Array("42".utf8))
        #expect(try client.read("/tool/kite/answer") == Array("42".utf8))
        #expect(try client.directory("/tool") == ["xenstored", "kite"])
        #expect(try client.permissions("/tool/kite") == ["n0"])
        #expect(s.rig.read("/tool/kite/answer") == "42")
        try client.remove("/tool/kite")
        #expect(throws: XenStoreToolError.refused(operation: "read", path: "/tool/kite/answer", .ENOENT)) {
            try client.read("/tool/kite/answer")
        }
        #expect(s.server.connectionCount == 1)
        client.close()
    }

    @Test func theSocketSeesGuestsAndTheirDevicesAsDom0() throws {
        let s = try Served()
        let guest = try s.rig.guest(DomainID(3))
        #expect(guest.write("data/secret", "x") == "OK")
        let client = try XenStoreSocketClient(path: s.directory.socket)
        #expect(try client.read("/local/domain/3/data/secret") == Array("x".utf8))
        #expect(try client.read("/local/domain/3/name") == Array("guest3".utf8))
        #expect(try client.permissions("/local/domain/3") == ["n0", "r3"])
    }

    @Test func watchesDeliverEventsFromOtherClients() throws {
        let s = try Served()
        let watcher = try XenStoreSocketClient(path: s.directory.socket)
        try watcher.watch("/tool/w", token: "t1")
        func next() throws -> String {
            let event = try watcher.nextEvent()
            return event.path + " " + event.token
        }
        #expect(try next() == "/tool/w t1")   // fired at once
        try s.rig.client.write("/tool/w/a", "1")
        let other = try XenStoreSocketClient(path: s.directory.socket)
        try other.write("/tool/w/b", Array("2".utf8))
        #expect(try next() == "/tool/w/a t1")
        #expect(try next() == "/tool/w/b t1")
    }

    /// xenstored's order: WATCH's own event follows its OK; events a request causes
    /// precede its reply.
    @Test func repliesAndEventsKeepTheStoresOrder() throws {
        let s = try Served()
        let raw = try #require(RawSocket(path: s.directory.socket))
        raw.send(XenStoreMessage(type: .watch, requestID: 1, strings: ["/tool", "t"]))
        #expect(raw.receive()?.type == .watch)
        #expect(raw.receive()?.strings == ["/tool", "t"])
        raw.send(XenStoreMessage(type: .write, requestID: 2, payload: Array("/tool/x\0v".utf8)))
        let first = raw.receive(), second = raw.receive()
        #expect(first?.type == .watchEvent)
        #expect(first?.strings == ["/tool/x", "t"])
        #expect(second?.type == .write)
        #expect(second?.requestID == 2)
    }

    @Test func nobodyServingIsAClearError() throws {
        let directory = SocketDirectory()
        #expect(throws: XenStoreSocketError.notServing(directory.socket)) {
            _ = try XenStoreSocketClient(path: directory.socket)
        }
        #expect(XenStoreSocketError.notServing("/x/y.sock").description
            == "no Kite process is serving xenstore at /x/y.sock; start a domain with kite run or kited")
    }

    @Test func aStaleSocketIsReplacedALiveOneOrAFileIsNot() throws {
        let s = try Served()
        let rig = XenbusRig()
        #expect(throws: XenStoreSocketError.alreadyServed(s.directory.socket)) {
            _ = try XenStoreSocketServer.start(daemon: rig.daemon, path: s.directory.socket)
        }
        s.server.stop()
        #expect(!FileManager.default.fileExists(atPath: s.directory.socket))
        // A socket file nobody listens on (left by a Kite that died) is taken over.
        let stale = s.directory.path + "/stale.sock"
        try bindAndAbandon(stale)
        #expect(FileManager.default.fileExists(atPath: stale))
        let revived = try XenStoreSocketServer.start(daemon: rig.daemon, path: stale)
        #expect(try XenStoreSocketClient(path: stale).read("/tool/xenstored") == [])
        revived.stop()
        let file = s.directory.path + "/plain"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        #expect(throws: XenStoreSocketError.notASocket(file)) {
            _ = try XenStoreSocketServer.start(daemon: rig.daemon, path: file)
        }
        let long = "/tmp/" + String(repeating: "d", count: 120)
        #expect(throws: XenStoreSocketError.pathTooLong(long)) {
            _ = try XenStoreSocketServer.start(daemon: rig.daemon, path: long)
        }
        rig.close()
    }

    @Test func anOversizedMessageClosesOnlyThatConnection() throws {
        let s = try Served()
        let good = try XenStoreSocketClient(path: s.directory.socket)
        let bad = try #require(RawSocket(path: s.directory.socket))
        // A header announcing 4097 payload bytes (XENSTORE_PAYLOAD_MAX + 1).
        bad.send(XenStoreHeader(type: .read, requestID: 1, transactionID: 0, length: 4097).bytes)
        #expect(bad.isClosedByPeer())
        #expect(try good.read("/tool/xenstored") == [])
        #expect(s.rig.logs.all.contains { $0.contains("broke the protocol") })
    }

    @Test func malformedRequestsGetErrorsAndTheConnectionStays() throws {
        let s = try Served()
        let raw = try #require(RawSocket(path: s.directory.socket))
        raw.send(XenStoreMessage(type: XenStoreMessageType(rawValue: 999), requestID: 7, payload: [1, 2, 3]))
        let unknown = raw.receive()
        #expect(unknown?.type == .error)
        #expect(unknown?.requestID == 7)
        #expect(unknown?.strings == ["ENOSYS"])
        raw.send(XenStoreMessage(type: .read, requestID: 8, payload: Array("no-nul".utf8)))
        #expect(raw.receive()?.strings == ["EINVAL"])
        raw.send(XenStoreMessage(type: .read, requestID: 9, transactionID: 77, strings: ["/tool"]))
        #expect(raw.receive()?.strings == ["ENOENT"])
        // A request split over many writes, then two in one write.
        let split = XenStoreMessage(type: .read, requestID: 10, strings: ["/tool/xenstored"]).encoded
        for byte in split { raw.send([byte]) }
        #expect(raw.receive()?.requestID == 10)
        raw.send(XenStoreMessage(type: .read, requestID: 11, strings: ["/tool"]).encoded
                 + XenStoreMessage(type: .directory, requestID: 12, strings: ["/tool"]).encoded)
        #expect(raw.receive()?.requestID == 11)
        #expect(raw.receive()?.strings == ["xenstored"])
    }

    @Test func aClientThatStopsMidMessageIsForgotten() throws {
        let s = try Served()
        do {
            let raw = try #require(RawSocket(path: s.directory.socket))
            raw.send(Array(XenStoreMessage(type: .read, strings: ["/tool"]).encoded.prefix(10)))
            let watcher = try #require(RawSocket(path: s.directory.socket))
            watcher.send(XenStoreMessage(type: .watch, requestID: 1, strings: ["/", "all"]))
            #expect(watcher.receive()?.type == .watch)
        }
        try waitUntil { s.server.connectionCount == 0 }
        #expect(s.rig.daemon.localConnectionCount == 1)  // the rig's own client
    }

    @Test func requestsWithoutReadingAreThrottledNotLost() throws {
        let s = try Served()
        try s.rig.client.write("/tool/big", String(repeating: "b", count: 4000))
        let raw = try #require(RawSocket(path: s.directory.socket))
        let count = 1500
        var requests: [UInt8] = []
        for id in 1...count { requests += XenStoreMessage(type: .read, requestID: UInt32(id), strings: ["/tool/big"]).encoded }
        #expect(raw.send(requests))
        for id in 1...count {
            let reply = raw.receive()
            #expect(reply?.requestID == UInt32(id))
            if reply?.payload.count != 4000 { break }
        }
    }

    @Test func aClientDrownedInEventsIsDisconnected() throws {
        let s = try Served(limits: .init(pendingOutputBytes: 16 << 10))
        let raw = try #require(RawSocket(path: s.directory.socket))
        raw.send(XenStoreMessage(type: .watch, requestID: 1, strings: ["/tool", String(repeating: "t", count: 200)]))
        #expect(raw.receive()?.type == .watch)
        // Never read again; make events until the server gives up on the client.
        for index in 0..<20000 {
            try s.rig.client.write("/tool/n\(index % 50)", String(index))
            if index % 500 == 0 && s.server.connectionCount == 0 { break }
        }
        try waitUntil { s.server.connectionCount == 0 }
        #expect(s.rig.logs.all.contains { $0.contains("does not read") })
    }

    @Test func tooManyClientsAreRefused() throws {
        let s = try Served(limits: .init(connections: 2))
        let a = try XenStoreSocketClient(path: s.directory.socket)
        let b = try XenStoreSocketClient(path: s.directory.socket)
        #expect(try a.read("/tool/xenstored") == [])
        #expect(try b.read("/tool/xenstored") == [])
        let third = try #require(RawSocket(path: s.directory.socket))
        #expect(third.isClosedByPeer())
        #expect(try a.read("/tool/xenstored") == [])
    }

    @Test func droppingTheServerWithoutStopClosesItsClients() throws {
        let directory = SocketDirectory()
        let rig = XenbusRig()
        var server: XenStoreSocketServer? = try XenStoreSocketServer.start(daemon: rig.daemon, path: directory.socket)
        let raw = try #require(RawSocket(path: directory.socket))
        raw.send(XenStoreMessage(type: .read, requestID: 1, strings: ["/tool/xenstored"]))
        #expect(raw.receive()?.requestID == 1)
        #expect(server?.connectionCount == 1)
        server = nil
        #expect(raw.isClosedByPeer())
        #expect(!FileManager.default.fileExists(atPath: directory.socket))
        try waitUntil { rig.daemon.localConnectionCount == 1 }
        rig.close()
    }

    @Test func stoppingDisconnectsClientsAndRemovesTheSocket() throws {
        let s = try Served()
        let client = try XenStoreSocketClient(path: s.directory.socket)
        #expect(try client.read("/tool/xenstored") == [])
        s.server.stop()
        #expect(!FileManager.default.fileExists(atPath: s.directory.socket))
        #expect(throws: XenStoreToolError.socket(.connectionLost(s.directory.socket))) {
            try client.read("/tool/xenstored")
        }
        s.server.stop()
    }
}

/// Leaves a socket file nobody listens on, as a process that died does.
func bindAndAbandon(_ path: String) throws {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
    }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    try #require(bound == 0)
}

/// Polls `condition` for up to five seconds.
func waitUntil(_ condition: () -> Bool) throws {
    for _ in 0..<500 {
        if condition() { return }
        usleep(10_000)
    }
    Issue.record("condition not met within 5 s")
}
