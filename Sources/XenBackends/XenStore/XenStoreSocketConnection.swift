import Dispatch
import Synchronization
import XenABI
import XenStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One host client on the xenstore socket: bytes in through `XenStoreMessageAssembler`,
/// each complete request handed to the store on a privileged local connection, replies and
/// watch events out in the store's order. Everything runs on the server's serial queue.
///
/// Limits (a host tool is trusted with the store, not with Kite's memory): a header whose
/// `len` exceeds XENSTORE_PAYLOAD_MAX closes the connection, as xenstored does; reading
/// pauses while more than `readPauseThreshold` bytes wait to be written (so requests alone
/// cannot pile up output); a client that lets `outputLimit` bytes of events pile up is
/// disconnected. Closing affects
/// this connection only.
final class XenStoreSocketConnection: Sendable {
    static let readChunk = XenStoreHeader.size + XenStoreLimits.payloadMax

    private struct State {
        var assembler = XenStoreMessageAssembler()
        var output: [UInt8] = []
        var outputOffset = 0
        var readSource: SendableSource<any DispatchSourceRead>?
        var writeSource: SendableSource<any DispatchSourceWrite>?
        var writing = false
        var readPaused = false
        var closed = false
        var local: XenStoreLocalConnection?
    }

    let fd: Int32
    let serial: UInt64
    private let queue: DispatchQueue
    private let outputLimit: Int
    private let readPauseThreshold: Int
    private let state = Mutex(State())
    private let log: @Sendable (String) -> Void
    private let onClose: @Sendable (UInt64) -> Void

    init(fd: Int32, serial: UInt64, queue: DispatchQueue, outputLimit: Int, log: @escaping @Sendable (String) -> Void,
         onClose: @escaping @Sendable (UInt64) -> Void) {
        self.fd = fd
        self.serial = serial
        self.queue = queue
        self.outputLimit = outputLimit
        readPauseThreshold = min(64 << 10, outputLimit / 4)
        self.log = log
        self.onClose = onClose
    }

    deinit { close() }

    /// Opens the store connection and starts reading. On the server's queue.
    func start(daemon: XenStoreDaemon) {
        let local = daemon.openLocalConnection(options: .init(byteLimit: outputLimit)) { [weak self] in
            guard let self else { return }
            self.queue.async { self.drainMailbox() }
        }
        let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        let write = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        read.setEventHandler { [weak self] in self?.readAvailable() }
        write.setEventHandler { [weak self] in self?.flush() }
        // Both sources watch the descriptor: it closes after the second cancel handler.
        let closer = DescriptorCloser(fd: fd, users: 2)
        read.setCancelHandler { closer.release() }
        write.setCancelHandler { closer.release() }
        state.withLock { s in
            s.local = local
            s.readSource = SendableSource(read)
            s.writeSource = SendableSource(write)
        }
        read.resume()
    }

    /// Stops everything; the descriptor closes once both sources are cancelled. Idempotent.
    func close() {
        let (read, write, writing, local) = state.withLock { s -> (SendableSource<any DispatchSourceRead>?, SendableSource<any DispatchSourceWrite>?, Bool, XenStoreLocalConnection?) in
            guard !s.closed else { return (nil, nil, false, nil) }
            s.closed = true
            defer {
                s.readSource = nil
                s.writeSource = nil
                s.local = nil
                s.output = []
            }
            return (s.readSource, s.writeSource, s.writing, s.local)
        }
        guard let read = read?.source, let write = write?.source else { return }
        local?.close()
        if state.withLock({ $0.readPaused }) { read.resume() }
        read.cancel()
        write.cancel()
        // A source must be running for its cancel handler to run (and to be released).
        if !writing { write.resume() }
        onClose(serial)
    }

    private func readAvailable() {
        var buffer = [UInt8](repeating: 0, count: Self.readChunk)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            close()
            return
        }
        if count == 0 {
            close()
            return
        }
        let fed: Result<[XenStoreMessage], XenStoreStreamError> = state.withLock { s in
            do throws(XenStoreStreamError) {
                return .success(try s.assembler.feed(Array(buffer[0..<count])))
            } catch {
                return .failure(error)
            }
        }
        switch fed {
        case .failure(let error):
            log("xenstore socket: closing a client that broke the protocol (\(error))")
            close()
        case .success(let messages):
            guard let local = state.withLock({ $0.local }) else { return }
            for message in messages { local.send(message) }
        }
    }

    /// Moves what the store sent into the output buffer and writes it.
    private func drainMailbox() {
        guard let local = state.withLock({ $0.local }) else { return }
        if local.overflowed {
            log("xenstore socket: closing a client that does not read its replies and events")
            close()
            return
        }
        let messages = local.takeMessages()
        guard !messages.isEmpty else { return }
        let tooMuch = state.withLock { s -> Bool in
            for message in messages { s.output += message.encoded }
            return s.output.count - s.outputOffset > outputLimit
        }
        if tooMuch {
            log("xenstore socket: closing a client that does not read its replies and events")
            close()
            return
        }
        flush()
    }

    /// Writes as much output as the socket takes; arms the write source for the rest and
    /// pauses reading while a large backlog waits.
    private func flush() {
        enum Outcome { case done, blocked, failed }
        let outcome = state.withLock { s -> Outcome in
            guard !s.closed else { return .done }
            while s.outputOffset < s.output.count {
                let written = s.output[s.outputOffset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, sendFlags) }
                if written < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK { break }
                    return .failed
                }
                s.outputOffset += written
            }
            let waiting = s.output.count - s.outputOffset
            if waiting == 0 {
                s.output = []
                s.outputOffset = 0
            } else if s.outputOffset > waiting {
                s.output.removeFirst(s.outputOffset)
                s.outputOffset = 0
            }
            if waiting > 0 && !s.writing {
                s.writing = true
                s.writeSource?.source.resume()
            } else if waiting == 0 && s.writing {
                s.writing = false
                s.writeSource?.source.suspend()
            }
            if waiting > readPauseThreshold && !s.readPaused {
                s.readPaused = true
                s.readSource?.source.suspend()
            } else if waiting <= readPauseThreshold && s.readPaused {
                s.readPaused = false
                s.readSource?.source.resume()
            }
            return waiting == 0 ? .done : .blocked
        }
        if outcome == .failed { close() }
    }
}

/// Closes a descriptor once its last user released it.
private final class DescriptorCloser: Sendable {
    private let fd: Int32
    private let users: Atomic<Int>

    init(fd: Int32, users: Int) {
        self.fd = fd
        self.users = Atomic(users)
    }

    func release() {
        if users.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { UnixSocket.closeDescriptor(fd) }
    }
}

#if canImport(Glibc)
private let sendFlags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)
#else
private let sendFlags = Int32(MSG_DONTWAIT)
#endif
