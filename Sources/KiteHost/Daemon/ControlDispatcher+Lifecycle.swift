import Foundation
import KiteControl
import Logging
import XenABI
import XenControl

extension ControlDispatcher {
    /// `create`: checks the request, reads the kernel, creates the domain on the host and
    /// watches for its stop.
    func create(_ spec: DomainCreateSpec) throws(ControlError) -> ControlReply {
        activity.enter()
        defer { activity.leave() }
        if closing.withLock({ $0 }) { throw ControlError(.shuttingDown, "kited is stopping") }
        let (hostSpec, warnings) = try spec.hostSpec(readFile: readFile)
        let g = try start(hostSpec, spec: spec, restarts: 0)
        let log = logger.forDomain(g.id)
        log.info(
            "created \"\(g.name)\" from \(spec.configFile ?? "a request")",
            metadata: ["memory": "\(spec.memoryMiB)", "vcpus": "\(spec.vcpus)", "kernel": "\(spec.kernel)", "paused": "\(spec.paused)"])
        for w in warnings { log.warning("\(w)") }
        return .domain(summary(g), warnings: warnings)
    }

    /// Creates the domain and registers it before its stop handler can run.
    private func start(_ hostSpec: PVDomainSpec, spec: DomainCreateSpec, restarts: Int) throws(ControlError) -> PVGuest {
        let g: PVGuest
        do { g = try host.create(hostSpec) } catch { throw Self.controlError(error) }
        do { try serveChannelSockets(of: g) } catch {
            g.destroy()
            throw error
        }
        var stored = spec
        stored.uuid = g.uuid.uuidString.lowercased()
        records.withLock { $0[g.id] = Record(guest: g, spec: stored, restarts: restarts, settlement: Settlement()) }
        g.onStop { [weak self] guest, outcome in self?.stopped(guest, outcome) }
        return g
    }

    /// `destroy`: stops the domain at once and returns its memory.
    func destroy(_ g: PVGuest) throws(ControlError) -> ControlReply {
        let outcome = g.destroy()
        records.withLock { _ = $0.removeValue(forKey: g.id) }
        var m: Logger.Metadata = [:]
        if outcome.leakedFrames > 0 { m["leaked_frames"] = "\(outcome.leakedFrames)" }
        logger.forDomain(g.id).info("destroyed \"\(g.name)\"", metadata: m)
        return .done
    }

    /// `shutdown` / `reboot`: asks the guest through xenstore; with `wait`, replies once it
    /// stopped and its on_* action ran.
    func requestShutdown(
        _ g: PVGuest, _ reason: ShutdownReason, wait: Bool, timeout: Double?, isCancelled: @Sendable () -> Bool
    ) throws(ControlError) -> ControlReply {
        let settlement = records.withLock { $0[g.id]?.settlement }
        if case .shutdown(let why, _) = g.state {
            throw ControlError(
                .invalidState, "\(g.name) has already stopped (\(DomainLifecycle.word(why))); `kite destroy \(g.name)` frees it")
        }
        do { try g.requestShutdown(reason) } catch { throw Self.controlError(error) }
        let log = logger.forDomain(g.id)
        if g.supportsShutdownRequests {
            log.info("asked to \(DomainLifecycle.word(reason))")
        } else {
            log.warning("asked to \(DomainLifecycle.word(reason)); the guest has not set control/feature-poweroff and may ignore it")
        }
        guard wait else { return .done }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while g.waitForStop(timeout: 0.2) == nil {
            if isCancelled() { throw ControlError(.timeout, "the client went away") }
            if let deadline, Date() >= deadline {
                throw ControlError(.timeout, "\(g.name) did not stop within \(timeout ?? 0) seconds; the request stays written")
            }
        }
        if let report = settlement?.wait(timeout: 30) { return .stopped(report) }
        let o = g.outcome
        return .stopped(DomainStopReport(
            id: g.id, name: g.name, reason: o?.reason.map(DomainLifecycle.word), code: o?.code, action: nil, restartedAs: nil))
    }

    /// A domain's vCPUs stopped (on its monitor thread): apply its on_* action.
    func stopped(_ g: PVGuest, _ outcome: PVGuestOutcome) {
        activity.enter()
        defer { activity.leave() }
        guard let record = records.withLock({ $0[g.id] }) else { return }
        var (action, why) = DomainLifecycle.action(for: outcome, spec: record.spec)
        // kited is stopping: the host destroys every domain next; nothing is created again.
        if closing.withLock({ $0 }), action == .restart || action == .renameRestart { action = .preserve }
        let log = logger.forDomain(g.id)
        var report = DomainStopReport(
            id: g.id, name: g.name, reason: outcome.reason.map(DomainLifecycle.word), code: outcome.code, action: action,
            restartedAs: nil)
        defer { record.settlement.settle(report) }
        guard let action else { return }
        var m: Logger.Metadata = ["action": "\(action.rawValue)", "instructions": "\(outcome.instructions)"]
        if let c = outcome.code { m["code"] = "\(c)" }
        if let crash = outcome.crashReason { m["crash"] = "\(crash)" }
        log.info("stopped (\(why)); applying \(action.rawValue)", metadata: m)
        switch action {
        case .preserve:
            break
        case .destroy:
            g.destroy()
            records.withLock { _ = $0.removeValue(forKey: g.id) }
        case .restart, .renameRestart:
            let name = record.spec.name
            let allowed = throttles.withLock { $0[name, default: RestartThrottle()].allow(at: Date().timeIntervalSince1970) }
            guard allowed else {
                report.action = .preserve
                log.error("\"\(name)\" restarted \(RestartThrottle.limit) times in \(Int(RestartThrottle.window)) s; preserving it instead")
                return
            }
            if action == .renameRestart {
                let kept = DomainLifecycle.preservedName(name, at: Date()) { self.host.guest(named: $0) != nil }
                do { try host.rename(g, to: kept) } catch {
                    report.action = .preserve
                    log.error("cannot rename \"\(name)\" to \"\(kept)\" for rename-restart: \(error)")
                    return
                }
                records.withLock { $0[g.id]?.spec.name = kept }
                log.info("kept as \"\(kept)\"")
            } else {
                g.destroy()
                records.withLock { _ = $0.removeValue(forKey: g.id) }
            }
            report.restartedAs = restart(record, from: g)
        }
    }

    /// Creates the domain again from its configuration (same name and uuid, running).
    private func restart(_ record: Record, from old: PVGuest) -> DomainID? {
        var spec = record.spec
        spec.paused = false
        var hostSpec = old.spec
        hostSpec.name = spec.name
        hostSpec.startPaused = false
        // rename-restart keeps the old domain with its uuid (a PVGuest's uuid is fixed), so
        // the new one gets a fresh one; xl does it the other way round.
        hostSpec.uuid = host.guest(old.id) == nil ? old.uuid : nil
        if hostSpec.uuid == nil { spec.uuid = nil }
        do {
            let g = try start(hostSpec, spec: spec, restarts: record.restarts + 1)
            logger.forDomain(g.id).info("restarted \"\(g.name)\" (was domain \(old.id.rawValue))", metadata: ["restarts": "\(record.restarts + 1)"])
            return g.id
        } catch {
            logger.forDomain(old.id).error("cannot restart \"\(spec.name)\": \(error.message)")
            return nil
        }
    }
}
