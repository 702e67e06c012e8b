import Foundation
import KiteControl
import Logging
import Synchronization

/// Serves the control API on a listening socket: a thread accepts, each connection gets a
/// thread that reads request lines, hands them to the dispatcher and writes one reply line
/// each. A malformed or oversized line gets an error reply and the connection goes on; a
/// `console` request turns the connection into the console stream. At most
/// `maximumConnections` are served at once (a thread each): one more gets a `busy` error
/// line and is closed, so a client that opens sockets without end costs kited nothing more.
final class ControlServer: Sendable {
    static let maximumConnections = KiteDaemon.maximumConnections

    let listener: ControlSocket
    let dispatcher: ControlDispatcher
    let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: ControlSocket]>([:])
    private let done = DispatchGroup()

    init(listener: ControlSocket, dispatcher: ControlDispatcher, logger: Logger) {
        self.listener = listener
        self.dispatcher = dispatcher
        self.logger = logger
    }

    func start() {
        done.enter()
        let t = Thread { [self] in
            defer { done.leave() }
            while let c = listener.accept() {
                let id = ObjectIdentifier(c)
                let admitted = connections.withLock { all -> Bool in
                    guard all.count < Self.maximumConnections else { return false }
                    all[id] = c
                    return true
                }
                guard admitted else {
                    logger.warning("refused a connection: \(Self.maximumConnections) are open")
                    c.write(ControlFraming.line(ControlResponse.error(.busy, "kited serves at most \(Self.maximumConnections) connections at once; try again")))
                    c.close()
                    continue
                }
                done.enter()
                let worker = Thread { [self] in
                    serve(c)
                    connections.withLock { _ = $0.removeValue(forKey: id) }
                    c.close()
                    done.leave()
                }
                worker.name = "kited connection"
                worker.start()
            }
        }
        t.name = "kited accept"
        t.start()
    }

    /// Stops accepting, ends every connection (attached consoles included) and waits for
    /// their threads.
    func stop() {
        listener.close()
        for c in connections.withLock({ Array($0.values) }) { c.close() }
        done.wait()
    }

    private func serve(_ socket: ControlSocket) {
        let reader = ControlLineReader(socket: socket, limit: ControlFraming.maximumRequestBytes)
        while true {
            let response: ControlResponse
            switch reader.next() {
            case .end:
                return
            case .tooLong:
                response = .error(.requestTooLarge, "the request is longer than \(ControlFraming.maximumRequestBytes) bytes")
            case .line(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                switch ControlFraming.request(from: bytes) {
                case .failure(let e):
                    logger.notice("bad request: \(e.message)", metadata: ["code": "\(e.code.rawValue)"])
                    response = ControlResponse(.failure(e))
                case .success(.console(let ref, let number)):
                    attachConsole(ref, number: number, socket: socket, reader: reader)
                    return
                case .success(let request):
                    response = dispatcher.handle(request) { socket.peerClosed }
                }
            }
            guard socket.write(ControlFraming.line(response)) else { return }
        }
    }

    private func attachConsole(_ ref: DomainRef, number: Int, socket: ControlSocket, reader: ControlLineReader) {
        let guest: PVGuest
        let endpoint: ConsoleEndpoint
        do {
            guest = try dispatcher.guest(ref)
            endpoint = try dispatcher.consoleEndpoint(guest, number)
        } catch {
            socket.write(ControlFraming.line(ControlResponse(.failure(error))))
            return
        }
        guard socket.write(ControlFraming.line(ControlResponse.ok(.consoleAttached(dispatcher.summary(guest))))) else { return }
        let log = logger.forDomain(guest.id)
        let which = number == 0 ? "console" : "console \(number)"
        log.info("\(which) attached")
        ConsoleRelay(socket: socket, guest: guest, endpoint: endpoint).run(early: reader.takeBuffered())
        log.info("\(which) detached")
    }
}
