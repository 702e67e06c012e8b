import Foundation
import KiteControl
import Logging
import Synchronization
import Toolstack
import XenABI
import XenControl

/// kited's side of the control API: every `ControlRequest` becomes calls on the host, and
/// nothing else reaches it. Keeps what the host does not: each domain's create request
/// (restart policies create it again), its restart count, and the outcome of its last stop
/// for `shutdown -w`. Thread-safe: each connection calls `handle` on its own thread; a
/// domain's stop handler runs on that domain's monitor thread.
///
/// Lock order: `records` and `throttles` are never held while calling into the host.
public final class ControlDispatcher: Sendable {
    public let host: PVHost
    public let ring: LogRing
    let logger: Logger
    let startTime = Date()
    let socketPath: String
    let readFile: @Sendable (String) -> [UInt8]?

    /// What kited knows of one domain beyond the host's view.
    struct Record: Sendable {
        let guest: PVGuest
        var spec: DomainCreateSpec
        var restarts: Int
        let settlement: Settlement
    }

    /// Signalled once the stop policy of one domain has run, with what it did.
    final class Settlement: Sendable {
        let group = DispatchGroup()
        private let report = Mutex<DomainStopReport?>(nil)
        init() { group.enter() }
        func settle(_ r: DomainStopReport) {
            report.withLock { $0 = r }
            group.leave()
        }
        func wait(timeout: Double) -> DomainStopReport? {
            _ = group.wait(timeout: .now() + timeout)
            return report.withLock { $0 }
        }
    }

    let records = Mutex<[DomainID: Record]>([:])
    let throttles = Mutex<[String: RestartThrottle]>([:])
    /// Creates and stop policies under way; `close` waits for them so that no domain is
    /// created while (or after) the host shuts down.
    let activity = DispatchGroup()
    let closing = Mutex(false)

    public init(
        host: PVHost, ring: LogRing, logger: Logger, socketPath: String,
        readFile: @escaping @Sendable (String) -> [UInt8]? = { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
    ) {
        self.host = host
        self.ring = ring
        self.logger = logger
        self.socketPath = socketPath
        self.readFile = readFile
    }

    /// No more creates or restarts; returns once those under way are done. kited calls it
    /// before shutting the host down.
    public func close() {
        closing.withLock { $0 = true }
        activity.wait()
    }

    /// Carries out `request`. `isCancelled` tells a waiting request (shutdown -w) that its
    /// client went away.
    public func handle(_ request: ControlRequest, isCancelled: @escaping @Sendable () -> Bool = { false }) -> ControlResponse {
        do throws(ControlError) {
            return .ok(try perform(request, isCancelled: isCancelled))
        } catch {
            if error.code != .noSuchDomain {
                // The line names the domain the request named, when it still exists.
                let named = request.domain.flatMap { (r: DomainRef) -> PVGuest? in try? guest(r) }
                let log = named.map { logger.forDomain($0.id) } ?? logger
                log.notice("\(request.operation) refused: \(error.message)", metadata: ["code": "\(error.code.rawValue)"])
            }
            return ControlResponse(.failure(error))
        }
    }

    private func perform(_ request: ControlRequest, isCancelled: @escaping @Sendable () -> Bool) throws(ControlError) -> ControlReply {
        switch request {
        case .hostInfo: return .host(hostInfo())
        case .list: return .domains(summaries())
        case .domainInfo(let d): return .domain(summary(try guest(d)), warnings: [])
        case .create(let spec): return try create(spec)
        case .destroy(let d): return try destroy(try guest(d))
        case .shutdown(let d, let wait, let timeout):
            return try requestShutdown(try guest(d), .poweroff, wait: wait, timeout: timeout, isCancelled: isCancelled)
        case .reboot(let d, let wait, let timeout):
            return try requestShutdown(try guest(d), .reboot, wait: wait, timeout: timeout, isCancelled: isCancelled)
        case .pause(let d):
            let g = try guest(d)
            do { try g.pause() } catch { throw Self.controlError(error) }
            logger.forDomain(g.id).info("paused")
            return .done
        case .unpause(let d):
            let g = try guest(d)
            do { try g.unpause() } catch { throw Self.controlError(error) }
            logger.forDomain(g.id).info("unpaused")
            return .done
        case .rename(let d, let name): return try rename(try guest(d), to: name)
        case .vcpuList(let d): return .vcpus(try vcpus(d.map { (r) throws(ControlError) in try guest(r) }))
        case .vcpuSet(let d, let count): return try vcpuSet(try guest(d), count)
        case .memSet(let d, let mib): return try memSet(try guest(d), mib)
        case .memMax(let d, let mib): return try memMax(try guest(d), mib)
        case .dmesg(let clear):
            let entries = ring.entries
            if clear { ring.clear() }
            return .log(entries)
        case .console(let d, let number):
            let g = try guest(d)
            _ = try consoleEndpoint(g, number)
            return .consoleAttached(summary(g))
        case .blockList(let d): return blockList(try guest(d))
        case .blockAttach(let d, let spec): return try blockAttach(try guest(d), spec)
        case .blockDetach(let d, let device, let force): return try blockDetach(try guest(d), device, force: force)
        case .networkList(let d): return networkList(try guest(d))
        case .networkAttach(let d, let spec): return try networkAttach(try guest(d), spec)
        case .networkDetach(let d, let device, let force): return try networkDetach(try guest(d), device, force: force)
        }
    }

    /// The domain a request names.
    public func guest(_ ref: DomainRef) throws(ControlError) -> PVGuest {
        switch ref {
        case .id(let id):
            if let g = host.guest(id), g.state != .destroyed { return g }
            throw ControlError(.noSuchDomain, "no domain with id \(id.rawValue)")
        case .name(let n):
            if let g = host.guest(named: n), g.state != .destroyed { return g }
            throw ControlError(.noSuchDomain, "no domain named \"\(n)\"")
        }
    }

    /// Console `number` of a guest: 0 the primary, 1, 2, ... its channels.
    func consoleEndpoint(_ g: PVGuest, _ number: Int) throws(ControlError) -> ConsoleEndpoint {
        if number == 0 { return .primary(of: g) }
        guard let channel = g.channels.first(where: { $0.number == number }) else {
            let known = g.channels.isEmpty ? "it has only console 0 (no channels)"
                : "its consoles are 0 to \(g.channels.count) (channels: \(g.channels.map(\.name).joined(separator: ", ")))"
            throw ControlError(.invalidArgument, "\(g.name) has no console \(number); \(known)")
        }
        return .channel(channel)
    }

    static func controlError(_ e: LaunchError) -> ControlError {
        switch e {
        case .configuration(let m): ControlError(m.contains("already exists") ? .nameInUse : .invalidArgument, m)
        case .state(let m): ControlError(m.contains("shutting down") ? .shuttingDown : .invalidState, m)
        case .kernel(let m), .hypervisor(let m): ControlError(.launchFailed, m)
        }
    }

    // MARK: - Renaming, vCPUs and memory

    private func rename(_ g: PVGuest, to name: String) throws(ControlError) -> ControlReply {
        if let problem = XLDomainConfig.problem(withName: name) { throw ControlError(.invalidArgument, "\(name): \(problem)") }
        let old = g.name
        do { try host.rename(g, to: name) } catch { throw Self.controlError(error) }
        records.withLock { $0[g.id]?.spec.name = name }
        logger.forDomain(g.id).info("renamed \"\(old)\" to \"\(name)\"")
        return .done
    }

    private func vcpuSet(_ g: PVGuest, _ count: Int) throws(ControlError) -> ControlReply {
        do { try g.setAvailableVCPUs(count) } catch { throw Self.controlError(error) }
        logger.forDomain(g.id).info("vCPUs available: \(count) of \(g.vcpuCount)")
        return .done
    }

    private func memSet(_ g: PVGuest, _ mib: UInt64) throws(ControlError) -> ControlReply {
        do { try g.setMemoryTarget(mib: mib) } catch { throw Self.controlError(error) }
        logger.forDomain(g.id).info("memory target: \(mib) MiB")
        return .done
    }

    private func memMax(_ g: PVGuest, _ mib: UInt64) throws(ControlError) -> ControlReply {
        do { try g.setMaximumMemory(mib: mib) } catch { throw Self.controlError(error) }
        logger.forDomain(g.id).info("maximum memory: \(mib) MiB")
        return .done
    }
}
