import CSlirp
import Glibc
import Synchronization

/// The part of the user-mode network that lives on its thread: the `Slirp` instance, its
/// timers and its poll set. libslirp is not thread-safe, so every slirp_* call happens
/// here; other threads talk to it through `UserNetworkShared` (a bounded inbound queue and
/// a command list) and wake it through a pipe.
///
/// libslirp calls back through C function pointers with the engine as the opaque
/// pointer (`Unmanaged`, unretained: the thread's loop keeps the engine alive until
/// slirp_cleanup has returned). No globals.
final class UserNetworkEngine {
    private struct Timer {
        var id: SlirpTimerId
        var callbackOpaque: UnsafeMutableRawPointer?
        /// Legacy timer_new callback (nil for timer_new_opaque timers).
        var callback: SlirpTimerCb?
        /// Expiry in milliseconds of `clockNanoseconds`; nil while disarmed.
        var expiry: Int64?
    }

    let shared: UserNetworkShared
    private(set) var slirp: OpaquePointer?
    private var timers: [Int: Timer] = [:]
    private var nextTimer = 1
    private var pollSet: [pollfd] = []
    /// Strings slirp keeps pointers to (vhostname); freed after slirp_cleanup.
    private var retainedStrings: [UnsafeMutablePointer<CChar>] = []
    /// The callback table: libslirp keeps the pointer (not a copy), so it lives as long
    /// as the Slirp instance.
    private let callbacks: UnsafeMutablePointer<SlirpCb> = {
        let table = UnsafeMutablePointer<SlirpCb>.allocate(capacity: 1)
        table.initialize(to: SlirpCb())
        return table
    }()

    init(shared: UserNetworkShared) {
        self.shared = shared
    }

    deinit {
        callbacks.deinitialize(count: 1)
        callbacks.deallocate()
    }

    static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    static func address(_ text: String) throws(UserNetworkError) -> in_addr {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { throw .badAddress(text) }
        return address
    }

    /// Creates the Slirp instance (on the engine's thread) and the configured forwards.
    func start(_ configuration: UserNetworkConfiguration) throws(UserNetworkError) {
        var config = SlirpConfig()
        config.version = 4
        config.restricted = configuration.restricted ? 1 : 0
        config.in_enabled = true
        config.vnetwork = try Self.address(configuration.network)
        config.vnetmask = try Self.address(configuration.netmask)
        config.vhost = try Self.address(configuration.host)
        config.vdhcp_start = try Self.address(configuration.dhcpStart)
        config.vnameserver = try Self.address(configuration.nameserver)
        config.in6_enabled = false
        config.if_mtu = configuration.mtu
        config.if_mru = configuration.mtu
        config.disable_host_loopback = configuration.disableHostLoopback
        if let hostname = configuration.hostname, let copy = strdup(hostname) {
            retainedStrings.append(copy)
            config.vhostname = UnsafePointer(copy)
        }
        var callbacks = SlirpCb()
        callbacks.send_packet = { buffer, length, opaque in
            guard let opaque, let buffer, length <= UInt(Int.max) else { return -1 }
            let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
            engine.shared.emit(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            return Int(length)
        }
        callbacks.guest_error = { message, opaque in
            guard let opaque else { return }
            let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
            engine.shared.noteGuestError(message.map { String(cString: $0) } ?? "")
        }
        callbacks.clock_get_ns = { _ in UserNetworkEngine.monotonicNanoseconds() }
        callbacks.timer_new = { callback, callbackOpaque, opaque in
            guard let opaque else { return nil }
            let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
            return engine.newTimer(Timer(id: SLIRP_TIMER_RA, callbackOpaque: callbackOpaque, callback: callback))
        }
        callbacks.timer_new_opaque = { id, callbackOpaque, opaque in
            guard let opaque else { return nil }
            let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
            return engine.newTimer(Timer(id: id, callbackOpaque: callbackOpaque, callback: nil))
        }
        callbacks.timer_free = { timer, opaque in
            guard let opaque, let timer else { return }
            Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue().timers.removeValue(forKey: Int(bitPattern: timer))
        }
        callbacks.timer_mod = { timer, expiry, opaque in
            guard let opaque, let timer else { return }
            let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
            engine.timers[Int(bitPattern: timer)]?.expiry = expiry
        }
        callbacks.register_poll_fd = { _, _ in }
        callbacks.unregister_poll_fd = { _, _ in }
        callbacks.notify = { opaque in
            guard let opaque else { return }
            Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue().shared.wake()
        }
        self.callbacks.pointee = callbacks
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        slirp = slirp_new(&config, self.callbacks, opaque)
        guard slirp != nil else { throw .creationFailed }
        for forward in configuration.portForwards { try addForward(forward) }
    }

    private func newTimer(_ timer: Timer) -> UnsafeMutableRawPointer? {
        let key = nextTimer
        nextTimer += 1
        timers[key] = timer
        return UnsafeMutableRawPointer(bitPattern: key)
    }

    func addForward(_ forward: UserNetworkPortForward) throws(UserNetworkError) {
        guard let slirp else { throw .closed }
        let host = try Self.address(forward.hostAddress)
        let guest = try Self.address(forward.guestAddress)
        guard slirp_add_hostfwd(slirp, forward.transport == .udp ? 1 : 0, host, Int32(forward.hostPort), guest,
                                Int32(forward.guestPort)) == 0 else { throw .portForward(forward) }
    }

    func removeForward(_ forward: UserNetworkPortForward) throws(UserNetworkError) {
        guard let slirp else { throw .closed }
        let host = try Self.address(forward.hostAddress)
        guard slirp_remove_hostfwd(slirp, forward.transport == .udp ? 1 : 0, host, Int32(forward.hostPort)) == 0 else {
            throw .portForward(forward)
        }
    }

    /// The thread's loop: commands, inbound frames, poll (with slirp's and the timers'
    /// timeout), slirp's socket work, due timers — until `shared` says stop. Then
    /// slirp_cleanup, still on this thread.
    func run() {
        while let slirp {
            for command in shared.takeCommands() { command(self) }
            if shared.isStopping { break }
            for var frame in shared.takeInbound() {
                frame.completeChecksum()
                frame.bytes.withUnsafeBufferPointer { bytes in
                    guard let base = bytes.baseAddress, bytes.count <= Int(Int32.max) else { return }
                    slirp_input(slirp, base, Int32(bytes.count))
                }
            }
            pollSet.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: shared.wakeReadFD, events: Int16(POLLIN), revents: 0))
            var timeout: UInt32 = 1000
            if let next = timers.values.compactMap(\.expiry).min() {
                let now = Self.monotonicNanoseconds() / 1_000_000
                timeout = UInt32(clamping: max(0, min(Int64(timeout), next &- now)))
            }
            let opaque = Unmanaged.passUnretained(self).toOpaque()
            slirp_pollfds_fill(slirp, &timeout, { fd, events, opaque in
                guard let opaque else { return -1 }
                let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
                var mask: Int16 = 0
                if events & Int32(SLIRP_POLL_IN) != 0 { mask |= Int16(POLLIN) }
                if events & Int32(SLIRP_POLL_OUT) != 0 { mask |= Int16(POLLOUT) }
                if events & Int32(SLIRP_POLL_PRI) != 0 { mask |= Int16(POLLPRI) }
                engine.pollSet.append(pollfd(fd: fd, events: mask, revents: 0))
                return Int32(engine.pollSet.count - 1)
            }, opaque)
            let ready = poll(&pollSet, nfds_t(pollSet.count), Int32(clamping: timeout))
            shared.drainWake()
            slirp_pollfds_poll(slirp, ready < 0 ? 1 : 0, { index, opaque in
                guard let opaque else { return 0 }
                let engine = Unmanaged<UserNetworkEngine>.fromOpaque(opaque).takeUnretainedValue()
                guard index >= 0, Int(index) < engine.pollSet.count else { return 0 }
                let r = Int32(engine.pollSet[Int(index)].revents)
                var events: Int32 = 0
                if r & Int32(POLLIN) != 0 { events |= Int32(SLIRP_POLL_IN) }
                if r & Int32(POLLOUT) != 0 { events |= Int32(SLIRP_POLL_OUT) }
                if r & Int32(POLLPRI) != 0 { events |= Int32(SLIRP_POLL_PRI) }
                if r & Int32(POLLERR) != 0 { events |= Int32(SLIRP_POLL_ERR) }
                if r & Int32(POLLHUP) != 0 { events |= Int32(SLIRP_POLL_HUP) }
                return events
            }, opaque)
            fireTimers()
        }
        if let slirp { slirp_cleanup(slirp) }
        slirp = nil
        timers.removeAll()
        for string in retainedStrings { free(string) }
        retainedStrings.removeAll()
        // Commands that raced with the stop find no slirp (they fail with .closed).
        for command in shared.takeCommands() { command(self) }
    }

    private func fireTimers() {
        guard let slirp else { return }
        let now = Self.monotonicNanoseconds() / 1_000_000
        let due = timers.filter { ($0.value.expiry ?? Int64.max) <= now }
        for (key, timer) in due.sorted(by: { $0.key < $1.key }) {
            // Disarm first: the callback may re-arm it (timer_mod).
            timers[key]?.expiry = nil
            if let callback = timer.callback {
                callback(timer.callbackOpaque)
            } else {
                slirp_handle_timer(slirp, timer.id, timer.callbackOpaque)
            }
        }
    }
}
