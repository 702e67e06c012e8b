import GuestMemory
import Synchronization
import X86
import XenABI
import XenControl

/// Why the hypervisor could not create a domain; the message says what to change.
public enum HypervisorError: Error, Equatable, CustomStringConvertible {
    case machineMemory(MachineMemoryError)
    case outOfMemory(requestedPages: UInt64, freePages: UInt64)
    case domainExists(DomainID)
    case badVCPUCount(Int)

    public var description: String {
        switch self {
        case .machineMemory(let e): "machine memory: \(e)"
        case .outOfMemory(let want, let free):
            "the domain needs \(want) pages but only \(free) machine frames are free; give Kite more memory or the guest less"
        case .domainExists(let d): "domain \(d) already exists"
        case .badVCPUCount(let n): "a domain needs 1 to \(SharedInfoLayout.legacyMaxVCPUs) vCPUs, not \(n)"
        }
    }
}

/// What a new PV domain is made of.
public struct DomainConfiguration: Sendable {
    public var id: DomainID
    public var memoryPages: UInt64
    public var vcpus: Int
    public init(id: DomainID, memoryPages: UInt64, vcpus: Int = 1) {
        self.id = id
        self.memoryPages = memoryPages
        self.vcpus = vcpus
    }
}

/// Kite's hypervisor: all machine memory, the PV MMU over it, the domains, and the engine
/// factory their vCPUs run on. Xen: the hypervisor itself with domctl's create/destroy.
/// Lock order: `domains` before any domain or memory lock.
public final class Hypervisor: @unchecked Sendable {
    public let machine: MachineMemory
    public let pageTables: PVPageTables
    /// Cross-domain event channels, and Kite's own end of them as domain 0.
    public let events = EventChannelHub()
    let engines: any VirtualCPUFactory
    private let domains = Mutex<[DomainID: Domain]>([:])

    public init(machineBytes: UInt64, engines: any VirtualCPUFactory) throws(HypervisorError) {
        let ram: PhysicalMemory
        do { ram = try PhysicalMemory(bytes: machineBytes) } catch {
            throw .machineMemory(.outOfFrames)
        }
        do { machine = try MachineMemory(memory: ram) } catch { throw .machineMemory(error) }
        pageTables = PVPageTables(machine: machine)
        self.engines = engines
        // Before a frame changes type or is freed, no vCPU of its domain may keep a stale
        // (writable) translation of it: Xen's flush IPIs.
        machine.setTLBShootdown { [weak self] id in self?.domain(id)?.shootdownTLBs() }
    }

    /// Xen: XEN_DOMCTL_createdomain + max_mem + populate_physmap of all RAM + max_vcpus:
    /// a paused domain whose pseudo-physical frames 0..<memoryPages are all populated.
    public func createDomain(
        _ config: DomainConfiguration, console: @escaping @Sendable (ArraySlice<UInt8>) -> Void
    ) throws(HypervisorError) -> Domain {
        guard (1...SharedInfoLayout.legacyMaxVCPUs).contains(config.vcpus) else { throw .badVCPUCount(config.vcpus) }
        guard config.memoryPages <= machine.freeFrameCount else {
            throw .outOfMemory(requestedPages: config.memoryPages, freePages: machine.freeFrameCount)
        }
        guard domains.withLock({ $0[config.id] }) == nil else { throw .domainExists(config.id) }
        let memory: DomainMemory
        do {
            memory = try DomainMemory(machine: machine, domain: config.id, maximumPages: config.memoryPages)
        } catch {
            throw .machineMemory(error)
        }
        let sharedInfo: MachineFrame
        do {
            sharedInfo = try memory.shareKiteFrame(writable: true)
            var gfn: UInt64 = 0
            while gfn < config.memoryPages {
                _ = try memory.populatePhysmap(gfn: GuestFrame(gfn), order: 0)
                gfn += 1
            }
        } catch {
            _ = memory.release()
            throw .outOfMemory(requestedPages: config.memoryPages, freePages: machine.freeFrameCount)
        }
        let domain = Domain(
            id: config.id, machine: machine.memory, sharedInfoFrame: sharedInfo, memory: memory,
            console: console)
        for _ in 0..<config.vcpus {
            let engine = engines.makeVirtualCPU(memory: machine.memory, translation: IdentityTranslation(memory: machine.memory))
            domain.addVCPU(engine: engine)
        }
        do { try events.register(domain) } catch {
            _ = memory.release()
            throw .domainExists(config.id)
        }
        domains.withLock { $0[config.id] = domain }
        return domain
    }

    public func domain(_ id: DomainID) -> Domain? { domains.withLock { $0[id] } }

    /// Xen: domain_kill — every frame and resource returned. The domain must have stopped.
    @discardableResult
    public func destroy(_ id: DomainID) -> ReleaseReport? {
        guard let domain = domains.withLock({ $0.removeValue(forKey: id) }) else { return nil }
        events.unregister(domain)
        // Xen: gnttab_release_mappings — the grants this domain mapped go first.
        domain.releaseGrantMappings()
        let bases = domain.vcpus.flatMap { [$0.pv.kernelBase, $0.pv.userBase].compactMap { $0 } }
        let descriptorFrames = domain.vcpus.flatMap { $0.pv.gdtFrames + Array($0.pv.ldtShadow.values) }
        let report = domain.memory?.release(vcpuBases: bases, descriptorPages: descriptorFrames)
        if let pages = domain.descriptorPages {
            machine.freeKiteFrame(pages.reserved)
            machine.freeKiteFrame(pages.zero)
        }
        return report
    }
}

extension Domain {
    /// Xen: the builder's last steps — pin the initial top-level table and load it on vCPU 0
    /// with the boot registers (xen-abi §2.6); vCPU 0 comes online.
    public func boot(rip: UInt64, rsp: UInt64, startInfo: UInt64, topLevelTable: MachineFrame, using tables: PVPageTables) throws(XenError) {
        guard let vcpu = vcpus.first else { throw .ESRCH }
        try tables.pinInitialTable(l4: topLevelTable, for: id)
        try tables.acquireBaseTable(topLevelTable, for: id)
        vcpu.setBootState(rip: rip, rsp: rsp, startInfo: startInfo, pageTable: topLevelTable)
        try vcpu.installGDT(frames: [], entries: 0)
        vcpu.publishTimeInfo()
    }
}
