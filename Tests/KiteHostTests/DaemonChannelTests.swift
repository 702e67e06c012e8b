import Foundation
import KiteControl
import KiteHost
import Testing

/// Channels through kited: xl.cfg's channel=[...] with connection=socket, the socket joined
/// to the guest's secondary console, `console -n 1` attached to the same channel, and the
/// errors for a console that does not exist and a socket path that cannot be used.
@Suite struct DaemonChannelTests {
    static let channelKernel = TestDaemon.repository.appendingPathComponent("Guests/build/pv/channel.elf").path

    func config(_ t: TestDaemon, socket: String) -> String {
        """
        name = "chan"
        kernel = "\(Self.channelKernel)"
        memory = 16
        channel = [ "name=org.kite.test,connection=socket,path=\(socket)" ]
        """
    }

    @Test func aSocketChannelTalksToTheGuestAndGoesWithIt() throws {
        try #require(FileManager.default.fileExists(atPath: Self.channelKernel), "run scripts/build-guests.sh first")
        let t = try TestDaemon()
        let socketPath = t.directory + "/chan.sock"
        let created = try t.create(config(t, socket: "chan.sock"), paused: true)
        #expect(created.state == .paused)
        #expect(t.error(.console(.name("chan"), number: 2))?.code == .invalidArgument)

        // `kite console -n 1` and a client of the socket, both before the guest runs.
        let attached = try t.client.attachConsole(.name("chan"), number: 1)
        let attachedOutput = Bytes()
        let attachedDone = DispatchSemaphore(value: 0)
        Thread {
            _ = attached.run(input: nil) { attachedOutput.append($0) }
            attachedDone.signal()
        }.start()
        let client = try ControlSocket.connect(path: socketPath)
        defer { client.close() }
        let socketOutput = Bytes()
        Thread {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = client.read(into: &chunk)
                if n <= 0 { return }
                socketOutput.append(chunk[..<n])
            }
        }.start()

        _ = try t.client.send(.unpause(.name("chan")))
        #expect(t.eventually(timeout: 30) { socketOutput.text.contains("channel hello from the guest\n") }, "\(socketOutput.text)")
        #expect(client.write(Array("ping 7\n".utf8)))
        // on_poweroff = destroy: the domain goes, and with it the socket.
        #expect(t.eventually(timeout: 60) { try t.list().isEmpty })
        #expect(socketOutput.text == "channel hello from the guest\npong: ping 7\n", "\(socketOutput.text)")
        #expect(attachedDone.wait(timeout: .now() + 30) == .success)
        #expect(attachedOutput.text == socketOutput.text)
        #expect(t.eventually(timeout: 10) { !FileManager.default.fileExists(atPath: socketPath) })
    }

    @Test func aSocketPathThatIsTakenStopsTheCreate() throws {
        try #require(FileManager.default.fileExists(atPath: Self.channelKernel), "run scripts/build-guests.sh first")
        let t = try TestDaemon()
        let taken = t.write("taken", "not a socket")
        do {
            _ = try t.create(config(t, socket: taken))
            Issue.record("create succeeded with a socket path that is a file")
        } catch let error as ControlError {
            #expect(error.code == .invalidArgument && error.message.contains("channel org.kite.test"), "\(error.message)")
        }
        #expect(try t.list().isEmpty)
        #expect(try String(contentsOfFile: taken, encoding: .utf8) == "not a socket")
    }
}
