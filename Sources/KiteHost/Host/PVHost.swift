import Foundation
import GuestMemory
import Synchronization
import Toolstack
import X86Interpreter
import XenABI
import XenBackends
import XenControl
import XenCore
import XenStore

/// Kite as domain 0 of one host: one machine (a `Hypervisor` with its memory), one
/// xenstore, and every PV domain running on them with its dom0 backends. `kited` keeps
/// one for its lifetime; `kite run` makes one for its single domain.
public final class PVHost: Sendable {
    public let hypervisor: Hypervisor
    /// The host's xenstored: every guest's ring, the toolstack's and backends' requests.
    public let store: XenStoreDaemon
    /// Guest RAM the host can hand out, in MiB.
    public let memoryMiB: UInt64
    /// Where each guest's console output is also written (`guest-<name>.log`, and
    /// `guest-<name>-<channel>.log` per channel); nil: nowhere.
    public let consoleLogDirectory: String?
    let grants: any GrantMapper
    /// The host's networks: virtual switches by name and the user-mode network (slirp).
    public let networks = NetworkHub()
    let events: any EventChannelAccess
    private let logSink: @Sendable (DomainID?, PVHostLogLevel, String) -> Void

    private struct Registry {
        var nextID: UInt16 = 1
        var guests: [DomainID: PVGuest] = [:]
        /// Names being created (not yet in `guests`), so two creates cannot share one.
        var reservedNames: Set<String> = []
        var closed = false
    }
    private let registry = Mutex(Registry())

    /// Domain ids stop below DOMID_FIRST_RESERVED (0x7FF0).
    static let lastDomainID: UInt16 = 0x7FEF

    /// A host with `memoryMiB` of guest RAM. `log` receives the hypervisor's and the
    /// backends' messages with the domain they concern (nil: the host) and their level. With
    /// `consoleLogDirectory`, every guest's console output is appended to
    /// `<directory>/guest-<name>.log` (xenconsoled's naming), each channel's to
    /// `<directory>/guest-<name>-<channel>.log`.
    public init(
        memoryMiB: UInt64, consoleLogDirectory: String? = nil,
        log: @escaping @Sendable (DomainID?, PVHostLogLevel, String) -> Void = { _, _, _ in }
    ) throws(LaunchError) {
        self.memoryMiB = memoryMiB
        self.consoleLogDirectory = consoleLogDirectory
        self.logSink = log
        // Machine memory: guest RAM plus the m2p (8 bytes per frame), Kite's own tables and
        // shared frames, and what Xen would allocate from its heap. Reserved lazily.
        let machineBytes = (memoryMiB << 20) + max(16 << 20, (memoryMiB << 20) / 16)
        do { hypervisor = try Hypervisor(machineBytes: machineBytes, engines: InterpreterFactory()) } catch {
            throw .hypervisor("\(error)")
        }
        grants = hypervisor.makeGrantMapper()
        events = hypervisor.events.host
        store = XenStoreDaemon(grants: grants, events: events, log: { log(nil, .warning, "xenstore: \($0)") })
    }

    func log(_ domain: DomainID?, _ level: PVHostLogLevel, _ message: String) { logSink(domain, level, message) }

    // MARK: - Domains

    public var guests: [PVGuest] { registry.withLock { $0.guests.values.sorted { $0.id < $1.id } } }

    public func guest(_ id: DomainID) -> PVGuest? { registry.withLock { $0.guests[id] } }

    public func guest(named name: String) -> PVGuest? { guests.first { $0.name == name } }

    /// A domain named by name or by number, as xl accepts them.
    public func guest(matching nameOrID: String) -> PVGuest? {
        if let byName = guest(named: nameOrID) { return byName }
        if let number = UInt16(nameOrID) { return guest(DomainID(number)) }
        return nil
    }

    /// Guest RAM not given to a domain, in MiB.
    public var freeMemoryMiB: UInt64 { hypervisor.machine.freeFrameCount >> 8 }

    /// `xl create`: builds the domain from `spec`, attaches its xenstore entries and
    /// backends and starts its vCPUs (unless `spec.startPaused`). `console` also receives
    /// the guest's console output as it arrives.
    public func create(_ spec: PVDomainSpec) throws(LaunchError) -> PVGuest {
        let name = spec.effectiveName
        if let problem = XLDomainConfig.problem(withName: name) { throw .configuration("\"\(name)\": \(problem)") }
        guard (1...SharedInfoLayout.legacyMaxVCPUs).contains(spec.vcpus) else {
            throw .configuration("vcpus must be 1 to \(SharedInfoLayout.legacyMaxVCPUs), not \(spec.vcpus)")
        }
        guard spec.memoryMiB >= 4 else { throw .configuration("memory must be at least 4 MiB, not \(spec.memoryMiB)") }
        let id = try reserve(name: name)
        defer { registry.withLock { _ = $0.reservedNames.remove(name) } }
        let guest = try PVGuestBuilder(host: self, spec: spec, id: id, name: name).build()
        // A shutdown that began while this guest was being built has already collected
        // the guests it destroys: this one must not outlive the host.
        let registered = registry.withLock { r -> Bool in
            guard !r.closed else { return false }
            r.guests[id] = guest
            return true
        }
        guard registered else {
            guest.destroyUnstarted()
            throw .state("the host is shutting down")
        }
        if let directory = consoleLogDirectory {
            do {
                let file = try ConsoleLogFile(directory: directory, guestName: name) { [weak self] in self?.log(id, .warning, $0) }
                guest.console.subscribe { file.write($0) }
                for channel in guest.channels {
                    let channelFile = try ConsoleLogFile(directory: directory, guestName: "\(name)-\(channel.name)") { [weak self] in
                        self?.log(id, .warning, $0)
                    }
                    channel.history.subscribe { channelFile.write($0) }
                }
            } catch {
                log(id, .warning, "cannot open a console log in \(directory): \(error.localizedDescription)")
            }
        }
        log(id, .info, "created \"\(name)\": \(spec.memoryMiB) MiB, \(spec.vcpus) vCPU(s), kernel \(spec.kernelName)")
        if spec.startPaused { guest.domain.pause() }
        guest.start()
        return guest
    }

    private func reserve(name: String) throws(LaunchError) -> DomainID {
        let result = registry.withLock { r -> Result<DomainID, LaunchError> in
            if r.closed { return .failure(.state("the host is shutting down")) }
            if r.reservedNames.contains(name) || r.guests.values.contains(where: { $0.name == name }) {
                return .failure(.configuration("a domain named \"\(name)\" already exists"))
            }
            // Xen hands out increasing ids and skips those in use.
            for _ in 0..<Int(Self.lastDomainID) {
                let candidate = DomainID(r.nextID)
                r.nextID = r.nextID >= Self.lastDomainID ? 1 : r.nextID + 1
                if r.guests[candidate] == nil && hypervisor.domain(candidate) == nil {
                    r.reservedNames.insert(name)
                    return .success(candidate)
                }
            }
            return .failure(.hypervisor("no free domain id"))
        }
        return try result.get()
    }

    /// `xl rename`; the xenstore name follows.
    public func rename(_ guest: PVGuest, to newName: String) throws(LaunchError) {
        if let problem = XLDomainConfig.problem(withName: newName) { throw .configuration("\"\(newName)\": \(problem)") }
        let clash = registry.withLock { r in
            r.reservedNames.contains(newName) || r.guests.values.contains { $0.name == newName && $0 !== guest }
        }
        guard !clash else { throw .configuration("a domain named \"\(newName)\" already exists") }
        guest.rename(to: newName)
        let path = "/local/domain/\(guest.id.rawValue)/name"
        try? store.update { (server) throws(XenError) in try server.write(path, newName) }
    }

    func forget(_ guest: PVGuest) {
        _ = registry.withLock { $0.guests.removeValue(forKey: guest.id) }
    }

    /// Destroys every domain and closes the store: the host process is exiting.
    public func shutdown() {
        let all = registry.withLock { r -> [PVGuest] in
            r.closed = true
            return Array(r.guests.values)
        }
        for guest in all { guest.destroy() }
        networks.close()
        store.close()
    }
}
