import Foundation
import KiteControl
import Logging
import Synchronization
import XenABI
import XenBackends

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// kited: one `PVHost` for every domain of this machine, the control API served on a Unix
/// socket, structured logs (every line names its domain) and the log ring `kite dmesg`
/// reads. The `kited` executable runs one; tests run one in-process on a temporary socket.
///
/// Only one kited serves a socket: `start` takes an exclusive lock on `<socket>.lock`,
/// refuses when another process holds it or something answers on the socket, and removes
/// a stale socket file left by a kited that died. Next to the control socket kited serves
/// the host's xenstore (`xenstored.sock`, the xenstored wire protocol) for `kite xenstore`.
public final class KiteDaemon: Sendable {
    /// Control connections served at once; one more is refused with `busy`.
    public static let maximumConnections = 128

    public struct Configuration: Sendable {
        public var socketPath: String
        /// Guest RAM the host hands out, in MiB.
        public var memoryMiB: UInt64
        public var logLevel: Logger.Level
        /// Where log lines go besides the ring (kited: standard error; tests: nowhere).
        public var echo: (@Sendable (String) -> Void)?
        public var ringCapacity: Int

        public init(
            socketPath: String = KiteRuntimeDirectory.current().controlSocket, memoryMiB: UInt64 = 1024,
            logLevel: Logger.Level = .info, echo: (@Sendable (String) -> Void)? = KiteDaemon.standardError,
            ringCapacity: Int = 4096
        ) {
            self.socketPath = socketPath
            self.memoryMiB = memoryMiB
            self.logLevel = logLevel
            self.echo = echo
            self.ringCapacity = ringCapacity
        }
    }

    /// Why kited could not start; the message says what to do.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    public let configuration: Configuration
    public let host: PVHost
    public let dispatcher: ControlDispatcher
    public let ring: LogRing
    public let logger: Logger
    private let server: ControlServer
    private let xenstore: XenStoreSocketServer?
    private let lockFD: Int32
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    private init(
        configuration: Configuration, host: PVHost, dispatcher: ControlDispatcher, ring: LogRing, logger: Logger,
        server: ControlServer, xenstore: XenStoreSocketServer?, lockFD: Int32
    ) {
        self.configuration = configuration
        self.host = host
        self.dispatcher = dispatcher
        self.ring = ring
        self.logger = logger
        self.server = server
        self.xenstore = xenstore
        self.lockFD = lockFD
    }

    /// Takes the socket and starts serving.
    public static func start(_ c: Configuration) throws(StartError) -> KiteDaemon {
        let directory = (c.socketPath as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StartError(description: "cannot create \(directory): \(error.localizedDescription)")
        }
        let lockPath = c.socketPath + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw StartError(description: "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            let other = (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(lock)
            throw StartError(description: "another kited\(other.isEmpty ? "" : " (pid \(other))") already serves \(c.socketPath)")
        }
        _ = ftruncate(lock, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(lock, $0.baseAddress, $0.count, 0) }

        let ring = LogRing(capacity: c.ringCapacity)
        let logger = KiteLogHandler.logger(label: "kited", ring: ring, echo: c.echo, level: c.logLevel)
        func fail(_ m: String) -> StartError {
            close(lock)
            return StartError(description: m)
        }
        if FileManager.default.fileExists(atPath: c.socketPath) {
            if ControlSocket.isLive(path: c.socketPath) {
                throw fail("something already answers on \(c.socketPath); stop it or choose another KITE_RUN_DIR")
            }
            unlink(c.socketPath)
            logger.notice("removed a stale socket \(c.socketPath) (a kited that did not stop cleanly)")
        }
        let hostLogger = KiteLogHandler.logger(label: "kited.host", ring: ring, echo: c.echo, level: c.logLevel)
        let host: PVHost
        do {
            host = try PVHost(memoryMiB: c.memoryMiB) { domain, level, message in
                let l = domain.map { hostLogger.forDomain($0) } ?? hostLogger
                switch level {
                case .debug: l.debug("\(message)")
                case .info: l.info("\(message)")
                case .warning: l.warning("\(message)")
                }
            }
        } catch {
            throw fail("cannot create the host (\(c.memoryMiB) MiB): \(error)")
        }
        let listener: ControlSocket
        do { listener = try ControlSocket.listen(path: c.socketPath) } catch {
            host.shutdown()
            throw fail(error.message)
        }
        let dispatcher = ControlDispatcher(host: host, ring: ring, logger: logger, socketPath: c.socketPath)
        let server = ControlServer(listener: listener, dispatcher: dispatcher, logger: logger)
        // The xenstore socket is a convenience for `kite xenstore`: without it kited still runs.
        let storePath = KiteRuntimeDirectory(path: directory).xenstoreSocket
        var xenstore: XenStoreSocketServer?
        do {
            xenstore = try XenStoreSocketServer.start(daemon: host.store, path: storePath) { hostLogger.notice("xenstore socket: \($0)") }
        } catch {
            logger.warning("cannot serve xenstore on \(storePath): \(error); `kite xenstore` will not reach this kited")
        }
        let daemon = KiteDaemon(
            configuration: c, host: host, dispatcher: dispatcher, ring: ring, logger: logger, server: server,
            xenstore: xenstore, lockFD: lock)
        server.start()
        logger.info(
            "kited \(KiteControl.version) serving \(c.socketPath)\(xenstore == nil ? "" : " and \(storePath)")",
            metadata: ["pid": "\(getpid())", "memory": "\(c.memoryMiB)"])
        return daemon
    }

    /// Stops serving, destroys every domain, removes the socket. Idempotent.
    public func stop() {
        let first = stopped.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        guard first else { return }
        logger.info("stopping: destroying \(host.guests.count) domain(s)")
        server.stop()
        xenstore?.stop()
        dispatcher.close()
        host.shutdown()
        unlink(configuration.socketPath)
        close(lockFD)
        logger.info("stopped")
        finished.signal()
    }

    /// Blocks until `stop`.
    public func wait() {
        finished.wait()
        finished.signal()
    }
}
