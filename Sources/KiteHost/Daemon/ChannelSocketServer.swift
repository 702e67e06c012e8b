import Foundation
import KiteControl
import Logging

/// A channel with `connection=socket`: kited listens on the configured Unix socket and
/// joins the channel to one client at a time (the next waits in the backlog), as QEMU's
/// socket chardev does for xl. A client first gets what the guest wrote so far, then the
/// live stream; what it writes goes to the guest. The socket goes away when the guest stops.
final class ChannelSocketServer: Sendable {
    let path: String
    private let listener: ControlSocket

    /// Listens at `path`; a socket file there that nobody answers on (left by a killed
    /// kited) is replaced, anything else is an error.
    init(path: String) throws(ControlError) {
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK, !ControlSocket.isLive(path: path) else {
                throw ControlError(.invalidArgument, "\(path) exists (and is not a stale socket)")
            }
            unlink(path)
        }
        self.path = path
        listener = try ControlSocket.listen(path: path)
    }

    /// Serves `channel` of `guest` until the guest stops.
    func start(guest: PVGuest, channel: PVChannel, logger: Logger) {
        let t = Thread { [self] in
            while let client = listener.accept() {
                logger.info("channel \(channel.name): client attached on \(path)")
                ConsoleRelay(socket: client, guest: guest, endpoint: .channel(channel)).run(early: [])
                logger.info("channel \(channel.name): client detached")
            }
        }
        t.name = "kited channel \(channel.name) d\(guest.id.rawValue)"
        t.start()
        guest.onStop { [self] _, _ in stop() }
    }

    /// Stops listening and removes the socket file. Runs among the guest's stop handlers,
    /// so it does not wait for the accept thread: its relay ends with the guest by itself.
    func stop() {
        listener.close()
        unlink(path)
    }
}

extension ControlDispatcher {
    /// The sockets of `g`'s socket channels; on failure the ones made are closed and the
    /// error names the channel.
    func serveChannelSockets(of g: PVGuest) throws(ControlError) {
        var started: [ChannelSocketServer] = []
        for channel in g.channels {
            guard let path = channel.socketPath else { continue }
            let server: ChannelSocketServer
            do { server = try ChannelSocketServer(path: path) } catch {
                for s in started { s.stop() }
                throw ControlError(.invalidArgument, "channel \(channel.name): cannot listen on \(path): \(error.message)")
            }
            server.start(guest: g, channel: channel, logger: logger.forDomain(g.id))
            started.append(server)
        }
    }
}
