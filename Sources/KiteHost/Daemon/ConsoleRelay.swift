import Foundation
import KiteControl
import Synchronization
import XenABI

/// One console of a guest (the primary one or a channel): what it wrote, and where typed
/// bytes go (returns how many the guest took; 0 while it has no room or no ring).
struct ConsoleEndpoint: Sendable {
    let history: ConsoleHistory
    let send: @Sendable ([UInt8]) -> Int

    static func primary(of guest: PVGuest) -> ConsoleEndpoint {
        let input = guest.consoleInput
        return ConsoleEndpoint(history: guest.console, send: { input.send($0) })
    }

    static func channel(_ channel: PVChannel) -> ConsoleEndpoint {
        ConsoleEndpoint(history: channel.history, send: { channel.send($0) })
    }
}

/// One attached console: the guest's output (its history first, then live) to the client's
/// socket, the client's bytes to the guest's console input. The guest's console thread
/// only appends to a bounded buffer here; a writer thread of the relay's own does the
/// socket writes, so a slow client never stalls the guest. When the buffer is full the
/// oldest output is dropped and the client is told how much. The relay ends when the
/// client leaves or the guest stops.
final class ConsoleRelay: Sendable {
    static let bufferLimit = 1 << 20

    private let socket: ControlSocket
    private let guest: PVGuest
    private let endpoint: ConsoleEndpoint
    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
        var finished = false
    }
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    init(socket: ControlSocket, guest: PVGuest, endpoint: ConsoleEndpoint) {
        self.socket = socket
        self.guest = guest
        self.endpoint = endpoint
    }

    /// Runs until the client detaches or the guest stops; then closes the socket.
    func run(early: [UInt8]) {
        let token = endpoint.history.subscribe(replay: true) { [weak self] bytes in self?.enqueue(bytes) }
        // Weak: the guest keeps its stop handlers for its life; a detached relay must go.
        guest.onStop { [weak self] _, _ in self?.finish() }
        let readerDone = DispatchSemaphore(value: 0)
        let reader = Thread { [self] in
            forwardInput(early)
            // The client left (or detached): stop writing.
            finish()
            readerDone.signal()
        }
        reader.name = "kited console input d\(guest.id.rawValue)"
        reader.start()
        writeLoop()
        endpoint.history.unsubscribe(token)
        socket.close()
        readerDone.wait()
    }

    private func enqueue(_ bytes: ArraySlice<UInt8>) {
        state.withLock { s in
            guard !s.finished else { return }
            s.pending += bytes
            if s.pending.count > Self.bufferLimit {
                let excess = s.pending.count - Self.bufferLimit
                s.pending.removeFirst(excess)
                s.dropped += excess
            }
        }
        wake.signal()
    }

    private func finish() {
        state.withLock { $0.finished = true }
        wake.signal()
    }

    private func writeLoop() {
        while true {
            wake.wait()
            let (bytes, dropped, finished) = state.withLock { s -> ([UInt8], Int, Bool) in
                defer {
                    s.pending.removeAll(keepingCapacity: true)
                    s.dropped = 0
                }
                return (s.pending, s.dropped, s.finished)
            }
            if dropped > 0 && !socket.write(Array("\r\n[kited: \(dropped) bytes of console output dropped]\r\n".utf8)) { return }
            if !bytes.isEmpty && !socket.write(bytes) { return }
            if finished { return }
        }
    }

    /// Client bytes to the guest, with flow control: the console ring takes what it has
    /// room for; the rest waits for the guest to read.
    private func forwardInput(_ early: [UInt8]) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        var pending = early
        while true {
            while !pending.isEmpty {
                let taken = endpoint.send(pending)
                if taken > 0 {
                    pending.removeFirst(taken)
                } else {
                    guard guest.state == .running || guest.state == .paused, !state.withLock({ $0.finished }) else { return }
                    usleep(10_000)
                }
            }
            let n = socket.read(into: &chunk)
            guard n > 0 else { return }
            pending = Array(chunk[..<n])
        }
    }
}
