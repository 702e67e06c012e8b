import Dispatch
import Glibc
import Synchronization

/// Counters of the user-mode network ("inbound": from guests into slirp).
public struct UserNetworkStatistics: Hashable, Sendable {
    public var inboundFrames: UInt64 = 0
    public var inboundBytes: UInt64 = 0
    /// Frames refused because slirp's thread is behind (bounded queue full).
    public var inboundDropped: UInt64 = 0
    /// Unicast frames for some other MAC than slirp's (flooded to the uplink port).
    public var inboundIgnored: UInt64 = 0
    public var outboundFrames: UInt64 = 0
    public var outboundBytes: UInt64 = 0
    /// Frames slirp produced that nobody took (no uplink, or it refused them).
    public var outboundDropped: UInt64 = 0
    /// libslirp's guest_error reports (a guest misbehaving on the network).
    public var guestErrors: UInt64 = 0
    public var lastGuestError: String? = nil
    public init() {}
}

/// The host's user-mode network: libslirp's TCP/IP stack giving guests NAT to the
/// outside, DHCP, DNS and host port forwards, without root or a TAP device (QEMU's
/// `-netdev user`). It is a `NetFrameSink` (frames from guests go in with `deliver`); the
/// frames it produces go to `uplink` — normally a `VirtualSwitch` port, so several vifs can
/// share it.
///
/// Slirp runs on its own thread (a poll() loop over slirp's sockets, a wake-up pipe and
/// slirp's timers); every libslirp call happens there. `close` stops the thread and frees
/// slirp (its sockets and forwards close).
public final class UserNetwork: NetFrameSink, Sendable {
    public let configuration: UserNetworkConfiguration
    private let shared: UserNetworkShared
    private let thread = Mutex<pthread_t?>(nil)

    /// Starts slirp with `configuration` (its port forwards included) on a new thread.
    public init(configuration: UserNetworkConfiguration = UserNetworkConfiguration(),
                uplink: (any NetFrameSink)? = nil) throws(UserNetworkError) {
        self.configuration = configuration
        shared = try UserNetworkShared(configuration: configuration, uplink: uplink)
        let started = DispatchSemaphore(value: 0)
        let outcome = Mutex<UserNetworkError?>(nil)
        let shared = self.shared
        let body: @Sendable () -> Void = {
            let engine = UserNetworkEngine(shared: shared)
            do throws(UserNetworkError) {
                try engine.start(configuration)
            } catch {
                outcome.withLock { $0 = error }
                started.signal()
                engine.run()
                return
            }
            started.signal()
            engine.run()
        }
        var handle = pthread_t()
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let created = pthread_create(&handle, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(argument).takeRetainedValue().body()
            return nil
        }, box)
        guard created == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw .creationFailed
        }
        thread.withLock { $0 = handle }
        started.wait()
        if let error = outcome.withLock({ $0 }) {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Where slirp's frames go from now on (nil: dropped).
    public func setUplink(_ sink: (any NetFrameSink)?) { shared.setUplink(sink) }

    public var statistics: UserNetworkStatistics { shared.statistics }

    /// Hands a guest's frame to slirp (never blocks). Unicast frames for another MAC than
    /// slirp's own (52:55:…) are ignored: a switch floods unknown destinations here too.
    @discardableResult
    public func deliver(_ frame: NetFrame) -> Bool { shared.enqueue(frame) }

    /// Adds a host port forward; throws when the host port cannot be bound.
    public func addPortForward(_ forward: UserNetworkPortForward) throws(UserNetworkError) {
        try shared.perform { engine throws(UserNetworkError) in try engine.addForward(forward) }
    }

    public func removePortForward(_ forward: UserNetworkPortForward) throws(UserNetworkError) {
        try shared.perform { engine throws(UserNetworkError) in try engine.removeForward(forward) }
    }

    /// Stops slirp's thread and frees slirp (its sockets close). Idempotent; do not call
    /// from the uplink (it runs on slirp's thread).
    public func close() {
        shared.stop()
        if let handle = thread.withLock({ t -> pthread_t? in defer { t = nil }; return t }) {
            pthread_join(handle, nil)
        }
        shared.closeDescriptors()
    }
}

/// A closure carried into a new pthread.
private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// What slirp's thread and the rest of the host share: the inbound queue, pending
/// commands, the uplink and the counters behind one lock, and the wake-up pipe.
final class UserNetworkShared: @unchecked Sendable {
    typealias Command = @Sendable (UserNetworkEngine) -> Void

    private struct State {
        var inbound: NetFrameQueue
        var commands: [Command] = []
        var stopping = false
        var uplink: (any NetFrameSink)?
        var statistics = UserNetworkStatistics()
    }

    private let state: Mutex<State>
    let wakeReadFD: Int32
    private let wakeWriteFD: Int32
    private let descriptorsClosed = Atomic<Bool>(false)

    init(configuration: UserNetworkConfiguration, uplink: (any NetFrameSink)?) throws(UserNetworkError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .wakeup(errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeReadFD = fds[0]
        wakeWriteFD = fds[1]
        state = Mutex(State(inbound: NetFrameQueue(maximumFrames: configuration.inboundQueueFrames,
                                                    maximumBytes: configuration.inboundQueueBytes),
                            uplink: uplink))
    }

    var isStopping: Bool { state.withLock { $0.stopping } }
    var statistics: UserNetworkStatistics { state.withLock { $0.statistics } }

    func setUplink(_ sink: (any NetFrameSink)?) { state.withLock { $0.uplink = sink } }

    func wake() {
        guard !descriptorsClosed.load(ordering: .acquiring) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)  // EAGAIN: a wake-up is already pending
    }

    func drainWake() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeReadFD, &buffer, buffer.count) > 0 {}
    }

    func enqueue(_ frame: NetFrame) -> Bool {
        if let destination = frame.destination, !destination.isMulticast, destination.rawValue >> 32 != 0x5255 {
            state.withLock { $0.statistics.inboundIgnored &+= 1 }
            return true
        }
        let (accepted, wasEmpty) = state.withLock { s -> (Bool, Bool) in
            guard !s.stopping else { return (false, false) }
            let wasEmpty = s.inbound.isEmpty
            guard s.inbound.append(frame) else {
                s.statistics.inboundDropped &+= 1
                return (false, false)
            }
            s.statistics.inboundFrames &+= 1
            s.statistics.inboundBytes &+= UInt64(frame.count)
            return (true, wasEmpty)
        }
        if wasEmpty { wake() }
        return accepted
    }

    func takeInbound() -> [NetFrame] {
        state.withLock { s in
            var frames: [NetFrame] = []
            frames.reserveCapacity(s.inbound.count)
            while let frame = s.inbound.removeFirst() { frames.append(frame) }
            return frames
        }
    }

    func takeCommands() -> [Command] {
        state.withLock { s in
            defer { s.commands.removeAll() }
            return s.commands
        }
    }

    /// Runs `body` on slirp's thread and waits for it.
    func perform(_ body: @escaping @Sendable (UserNetworkEngine) throws(UserNetworkError) -> Void) throws(UserNetworkError) {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<UserNetworkError?>(nil)
        let queued = state.withLock { s -> Bool in
            guard !s.stopping else { return false }
            s.commands.append { engine in
                do throws(UserNetworkError) { try body(engine) } catch { outcome.withLock { $0 = error } }
                done.signal()
            }
            return true
        }
        guard queued else { throw .closed }
        wake()
        done.wait()
        if let error = outcome.withLock({ $0 }) { throw error }
    }

    /// A frame slirp produced (called on slirp's thread).
    func emit(_ bytes: UnsafeRawBufferPointer) {
        let frame = NetFrame(bytes: Array(bytes))
        let uplink = state.withLock { $0.uplink }
        let taken = uplink?.deliver(frame) ?? false
        state.withLock { s in
            if taken {
                s.statistics.outboundFrames &+= 1
                s.statistics.outboundBytes &+= UInt64(frame.count)
            } else {
                s.statistics.outboundDropped &+= 1
            }
        }
    }

    func noteGuestError(_ message: String) {
        state.withLock { s in
            s.statistics.guestErrors &+= 1
            s.statistics.lastGuestError = message
        }
    }

    /// Asks the thread to finish; commands still queued are run (and fail with .closed).
    func stop() {
        state.withLock { s in
            s.stopping = true
            s.inbound.removeAll()
        }
        wake()
    }

    func closeDescriptors() {
        guard !descriptorsClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Glibc.close(wakeReadFD)
        Glibc.close(wakeWriteFD)
    }
}
