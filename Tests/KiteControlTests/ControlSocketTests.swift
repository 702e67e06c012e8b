import Foundation
import Testing

@testable import KiteControl

/// Unix sockets and line framing: lines split across reads, oversized lines skipped to
/// their end, and a client that finds nobody listening told how to start kited.
@Suite struct ControlSocketTests {
    static func temporarySocket() -> String {
        "/tmp/kite-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    @Test func linesSplitAcrossWritesAndOversizedLinesAreSkipped() throws {
        let path = Self.temporarySocket()
        let listener = try ControlSocket.listen(path: path)
        defer {
            listener.close()
            unlink(path)
        }
        // isLive's probe is a connection too: accepted first, it reads as closed at once.
        #expect(ControlSocket.isLive(path: path))
        let probe = try #require(listener.accept())
        #expect(ControlLineReader(socket: probe, limit: 16).next() == .end)
        let client = try ControlSocket.connect(path: path)
        let server = try #require(listener.accept())
        let reader = ControlLineReader(socket: server, limit: 16)
        client.write(Array("{\"op\":".utf8))
        client.write(Array("\"list\"}\nshort\n".utf8))
        client.write(Array(repeating: UInt8(ascii: "x"), count: 100) + [0x0A])
        client.write(Array("after\nraw bytes".utf8))
        #expect(reader.next() == .line(Array("{\"op\":\"list\"}".utf8)))
        #expect(reader.next() == .line(Array("short".utf8)))
        #expect(reader.next() == .tooLong)
        #expect(reader.next() == .line(Array("after".utf8)))
        client.shutdownWrite()
        #expect(reader.next() == .end)
        #expect(reader.takeBuffered() == Array("raw bytes".utf8))
        // A write to a peer that left fails instead of raising SIGPIPE.
        server.close()
        client.close()
        #expect(!client.write([1, 2, 3]))
    }

    @Test func nobodyListeningIsDaemonNotRunning() {
        let path = Self.temporarySocket()
        let e = #expect(throws: ControlError.self) { try ControlClient(socketPath: path).send(.list) }
        #expect(e?.code == .daemonNotRunning)
        #expect(e?.message.contains("kited is not running (nothing listens on \(path)). Start it with `kited &`") == true)
        #expect(!ControlSocket.isLive(path: path))
        let long = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: ControlError.self) { try ControlSocket.listen(path: long) }
    }

    @Test func closeWakesABlockedAccept() throws {
        let path = Self.temporarySocket()
        let listener = try ControlSocket.listen(path: path)
        defer { unlink(path) }
        let returned = DispatchSemaphore(value: 0)
        Thread {
            _ = listener.accept()
            returned.signal()
        }.start()
        usleep(50_000)
        listener.close()
        #expect(returned.wait(timeout: .now() + 5) == .success)
    }
}
