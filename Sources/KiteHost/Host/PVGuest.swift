import Foundation
import Synchronization
import XenABI
import XenControl
import XenCore

/// One PV domain running on a `PVHost`: its domain, vCPU threads and dom0 services, with
/// the toolstack's verbs (pause, shutdown request, destroy) and what `xl list` shows.
/// Thread-safe; every verb may be called from any thread except the guest's own vCPUs.
public final class PVGuest: Sendable {
    public let id: DomainID
    public let uuid: UUID
    /// The spec it was created from (restart policies create it again).
    public let spec: PVDomainSpec
    /// Everything the guest wrote to its consoles (console_io and the console ring).
    public let console: ConsoleHistory
    public let startTime: Date

    let domain: Domain
    let services: PVDomainServices
    private let runner: DomainRunner
    unowned let host: PVHost

    private struct Life {
        var name: String
        var outcome: PVGuestOutcome?
        /// Running time frozen when the vCPUs stopped (their runstate is left as it was).
        var stoppedCPUSeconds: Double?
        var destroyRequested = false
        var destroyed = false
        var stopHandlers: [@Sendable (PVGuest, PVGuestOutcome) -> Void] = []
    }
    private let life: Mutex<Life>
    private let stopped = DispatchGroup()
    /// Serialises destroy against itself.
    private let destroyLock = NSLock()

    init(id: DomainID, name: String, uuid: UUID, spec: PVDomainSpec, console: ConsoleHistory, domain: Domain,
         services: PVDomainServices, host: PVHost) {
        self.id = id
        self.uuid = uuid
        self.spec = spec
        self.console = console
        self.domain = domain
        self.services = services
        self.host = host
        self.runner = DomainRunner(domain: domain)
        self.startTime = Date()
        self.life = Mutex(Life(name: name))
    }

    /// Starts the vCPU threads and the thread that notices when they all stop.
    func start() {
        stopped.enter()
        let started = DispatchTime.now().uptimeNanoseconds
        runner.start(maxInstructions: spec.maxInstructions ?? .max)
        let monitor = Thread { [self] in
            let stops = runner.wait()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            finishRun(hitLimit: stops.contains(.instructionLimit), seconds: seconds)
        }
        monitor.name = "kite d\(id.rawValue) monitor"
        monitor.start()
    }

    private func finishRun(hitLimit: Bool, seconds: Double) {
        let shutdown = domain.shutdownState
        let instructions = domain.vcpus.reduce(UInt64(0)) { $0 &+ $1.engine.retiredInstructions }
        let reports = domain.vcpus.map { v -> String in
            let (running, blocked) = v.runstateTimes
            let s = v.engine.state
            let head = "vCPU \(v.id.rawValue): rip 0x\(String(s.rip, radix: 16)) (\(v.isKernelMode ? "kernel" : "user")), "
                + "\(running / 1_000_000) ms running, \(blocked / 1_000_000) ms blocked, \(v.engine.retiredInstructions) instructions"
            return ([head] + v.exitStatistics.lines.map { "  " + $0 }).joined(separator: "\n")
        }
        let cpuSeconds = Double(domain.runningNanoseconds) / 1e9
        let (outcome, handlers) = life.withLock { l in
            l.stoppedCPUSeconds = cpuSeconds
            let destroyed = l.destroyRequested
            let o = PVGuestOutcome(
                reason: hitLimit || destroyed ? nil : shutdown?.reason, code: destroyed ? nil : shutdown?.code,
                crashReason: hitLimit || destroyed ? nil : domain.crashReason, instructions: instructions,
                seconds: seconds, hitInstructionLimit: hitLimit, wasDestroyed: destroyed, leakedFrames: 0,
                consoleRingBytes: services.console.statistics.outputBytes, vcpuReports: reports)
            l.outcome = o
            return (o, l.stopHandlers)
        }
        // xenstored fires @releaseDomain once the domain is shut down.
        services.store.domainShutdown(id)
        host.log(id, .info, stopMessage(outcome))
        stopped.leave()
        for handler in handlers { handler(self, outcome) }
    }

    private func stopMessage(_ o: PVGuestOutcome) -> String {
        if o.wasDestroyed { return "destroyed while running" }
        if o.hitInstructionLimit { return "stopped: instruction limit reached" }
        if let why = o.crashReason { return "crashed: \(why)" }
        if let reason = o.reason { return "shut down: \(reason) (code \(o.code ?? 0))" }
        return "stopped"
    }

    // MARK: - What the toolstack shows

    public var name: String { life.withLock { $0.name } }

    public var state: PVGuestState {
        let (outcome, destroyed) = life.withLock { ($0.outcome, $0.destroyed) }
        if destroyed { return .destroyed }
        if let outcome {
            if let reason = outcome.reason { return .shutdown(reason, code: outcome.code ?? reason.rawValue) }
            return .shutdown(.crash, code: ShutdownReason.crash.rawValue)
        }
        return domain.isPaused ? .paused : .running
    }

    /// The outcome once the vCPUs stopped; nil while it runs.
    public var outcome: PVGuestOutcome? { life.withLock { $0.outcome } }

    public var memoryMiB: UInt64 { spec.memoryMiB }
    public var vcpuCount: Int { domain.vcpus.count }
    public var vcpuStatistics: [VCPUStatistics] { domain.vcpuStatistics }
    /// `xl list`'s Time(s): seconds the vCPUs spent running.
    public var cpuSeconds: Double {
        life.withLock { $0.stoppedCPUSeconds } ?? Double(domain.runningNanoseconds) / 1e9
    }
    public var instructions: UInt64 { domain.vcpus.reduce(UInt64(0)) { $0 &+ $1.engine.retiredInstructions } }

    /// Typing into the guest's primary console.
    public var consoleInput: PVConsoleInput { PVConsoleInput(backend: services.console) }

    /// Its named channels: secondary consoles 1, 2, ... in configuration order.
    public var channels: [PVChannel] { services.channels }

    // MARK: - Verbs

    /// Xen: XEN_DOMCTL_pausedomain. Returns once no vCPU runs guest code.
    public func pause() throws(LaunchError) {
        guard state == .running else { throw .state("\(name) is \(state), not running") }
        domain.pause()
    }

    /// Xen: XEN_DOMCTL_unpausedomain.
    public func unpause() throws(LaunchError) {
        guard state == .paused else { throw .state("\(name) is \(state), not paused") }
        domain.unpause()
    }

    /// `xl shutdown` / `xl reboot`: asks the guest through xenstore (control/shutdown), as
    /// libxl does for PV guests; the guest decides. Throws if the guest is not running.
    public func requestShutdown(_ reason: ShutdownReason) throws(LaunchError) {
        let word: String
        switch reason {
        case .poweroff: word = "poweroff"
        case .reboot: word = "reboot"
        case .suspend: word = "suspend"
        default: throw .state("a guest can only be asked to power off, reboot or suspend")
        }
        switch state {
        case .running, .paused: break
        default: throw .state("\(name) is \(state)")
        }
        let path = "/local/domain/\(id.rawValue)/control/shutdown"
        do { try services.store.update { (server) throws(XenError) in try server.write(path, word) } } catch {
            throw .hypervisor("cannot write \(path): \(error)")
        }
    }

    /// Whether the guest's kernel said it acts on control/shutdown (feature-poweroff=1).
    public var supportsShutdownRequests: Bool {
        let path = "/local/domain/\(id.rawValue)/control/feature-poweroff"
        return (try? services.store.inspect { (server) throws(XenError) in try server.readString(path) }) == "1"
    }

    /// Calls `handler` once the vCPUs have stopped (at once if they have), on the
    /// guest's monitor thread.
    public func onStop(_ handler: @escaping @Sendable (PVGuest, PVGuestOutcome) -> Void) {
        let done = life.withLock { l -> PVGuestOutcome? in
            if let o = l.outcome { return o }
            l.stopHandlers.append(handler)
            return nil
        }
        if let done { handler(self, done) }
    }

    /// Blocks until the vCPUs have stopped; nil if `timeout` passed first.
    @discardableResult
    public func waitForStop(timeout: Double? = nil) -> PVGuestOutcome? {
        if let timeout {
            guard stopped.wait(timeout: .now() + timeout) == .success else { return nil }
        } else {
            stopped.wait()
        }
        return outcome
    }

    /// Xen: XEN_DOMCTL_destroydomain — stops the vCPUs if they run, tears the devices
    /// down and returns every frame. Idempotent; returns the final outcome.
    @discardableResult
    public func destroy() -> PVGuestOutcome {
        destroyLock.lock()
        defer { destroyLock.unlock() }
        let alreadyStopped = life.withLock { l -> Bool in
            if l.outcome == nil { l.destroyRequested = true }
            return l.outcome != nil
        }
        if !alreadyStopped {
            // The vCPUs stop at the next check of the shutdown state (a paused domain too).
            domain.crash("destroyed by the toolstack")
        }
        stopped.wait()
        if life.withLock({ $0.destroyed }), let o = outcome { return o }
        services.detach()
        let consoleBytes = services.console.statistics.outputBytes
        let leaked = host.hypervisor.destroy(id)?.remainingFrames.count ?? 0
        let final = life.withLock { l -> PVGuestOutcome in
            l.destroyed = true
            var o = l.outcome ?? PVGuestOutcome(
                reason: nil, code: nil, crashReason: nil, instructions: 0, seconds: 0, hitInstructionLimit: false,
                wasDestroyed: true, leakedFrames: 0, consoleRingBytes: 0)
            o.leakedFrames = leaked
            o.consoleRingBytes = consoleBytes
            l.outcome = o
            return o
        }
        host.forget(self)
        if leaked > 0 { host.log(id, .warning, "destroyed; \(leaked) frames not returned") }
        return final
    }

    /// Undoes a build whose guest never started (the host closed meanwhile).
    func destroyUnstarted() {
        services.detach()
        host.hypervisor.destroy(id)
        life.withLock { $0.destroyed = true }
    }

    func rename(to newName: String) {
        life.withLock { $0.name = newName }
    }
}
